package main

import (
	"context"
	"net/http"
	"time"
)

// healthTimeout bounds a health check: the first one may fetch the
// provider's keys.
const healthTimeout = 5 * time.Second

// healthz answers GET /healthz: 200 {"status":"ok"} when every provider's
// metadata and keys are loaded and, with REDIS_URL, Redis answers; else 503
// {"status":"unavailable","reason":...}, the details in the log. The
// metadata is loaded at start-up; the keys on first use (the first check
// loads them). A failed key fetch is repeated to checks for 10 seconds
// (discovery.Config.KeyRefetchInterval) instead of being tried again, so
// that probes cannot hammer the provider. Once the keys are loaded, a
// provider outage does not fail the check: logins wait for the provider,
// but the sessions and tokens already issued keep working.
func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	for name, rp := range a.rps {
		if err := rp.Provider().KeySet().Ready(ctx); err != nil {
			a.logger.WarnContext(ctx, "healthz: a provider's keys are not loaded", "provider", name, "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "the keys of provider " + name + " are not loaded"})
			return
		}
	}
	if a.redis != nil {
		if err := a.redis.Ping(ctx).Err(); err != nil {
			a.logger.WarnContext(ctx, "healthz: Redis does not answer", "error", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "Redis does not answer"})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
