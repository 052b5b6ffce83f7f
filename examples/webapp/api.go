package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/resource"
	"github.com/oidcrp/oidcrp/session"
)

// apiConfig is the configuration of the app's API (GET /api/me).
type apiConfig struct {
	audience           string        // OIDC_API_AUDIENCE; "": the client ID
	scopes             []string      // OIDC_API_SCOPES, all required
	introspectionCache time.Duration // OIDC_API_INTROSPECTION_CACHE; 0: resource's default
}

// apiConfigFromEnv reads the API's variables.
func apiConfigFromEnv(getenv func(string) string) (apiConfig, error) {
	c := apiConfig{audience: getenv("OIDC_API_AUDIENCE"), scopes: strings.Fields(getenv("OIDC_API_SCOPES"))}
	if v := getenv("OIDC_API_INTROSPECTION_CACHE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return apiConfig{}, fmt.Errorf("OIDC_API_INTROSPECTION_CACHE %q is not a positive duration such as 60s", v)
		}
		c.introspectionCache = d
	}
	return c, nil
}

// newAPI returns the handler of GET /api/me, guarded by access tokens for
// the API's audience: JWT access tokens checked with the keys of the
// provider that issued them (any of the app's OpenID providers), opaque
// ones introspected as the app's client at the first provider that allows
// it (a confidential client, with any OIDC_AUTH_METHOD; never at another
// provider on a guess), DPoP-bound ones with their proofs, whose htu must
// name the app's external origin, that of OIDC_REDIRECT_URL. The app's own
// pages may call it with the session cookie instead.
func (a *app) newAPI(ctx context.Context, cfg config, providers []middleware.Provider, replay session.ReplayCache, logger *slog.Logger, sink events.Sink) (http.Handler, error) {
	u, err := url.Parse(cfg.redirectURL)
	if err != nil {
		return nil, err
	}
	// The providers whose access tokens the API checks: the OpenID
	// providers (an OAuth 2.0-only one such as GitHub issues none this API
	// can check), or the first provider when there is none (then only the
	// session cookie passes).
	var checked []middleware.Provider
	for _, p := range providers {
		if p.RP.Config().OAuth2 == nil {
			checked = append(checked, p)
		}
	}
	if len(checked) == 0 {
		checked = providers[:1]
	}
	var (
		verifiers  []*resource.Verifier
		introspect = true // until one provider introspects
	)
	for _, p := range checked {
		rp := p.RP
		rcfg := resource.Config{
			Provider:               rp.Provider(),
			Audience:               cfg.api.audience,
			Origin:                 u.Scheme + "://" + u.Host,
			IntrospectionCacheTime: cfg.api.introspectionCache,
			Replay:                 replay, // Redis when configured: proofs are used once across instances
			Logger:                 logger,
			Events:                 sink,
		}
		if len(verifiers) == 0 {
			rcfg.Session = a.apiSession
		}
		if rcfg.Audience == "" {
			rcfg.Audience = rp.Config().ClientID
		}
		if introspect && rp.Config().AuthMethod != client.AuthNone && rp.Provider().Metadata().IntrospectionEndpoint != "" {
			rcfg.Introspector = rp // authenticates as the app, with its OIDC_AUTH_METHOD
			introspect = false
		}
		v, err := resource.New(ctx, rcfg)
		if err != nil {
			return nil, fmt.Errorf("API (%s): %w", p.Name, err)
		}
		verifiers = append(verifiers, v)
	}
	if len(verifiers) == 1 {
		return verifiers[0].Require(http.HandlerFunc(apiMe), cfg.api.scopes...), nil
	}
	issuers, err := resource.NewIssuers(verifiers...)
	if err != nil {
		return nil, fmt.Errorf("API: %w", err)
	}
	return issuers.Require(http.HandlerFunc(apiMe), cfg.api.scopes...), nil
}

// apiSession lets the app's own pages call the API with the session
// cookie: its subject, when the request has a session.
func (a *app) apiSession(r *http.Request) (string, bool, error) {
	s, err := a.auth.Authenticate(r)
	switch {
	case err == nil:
		return s.Subject, true, nil
	case middleware.ErrorStatus(err) >= 500:
		return "", false, err // the session store failed
	}
	return "", false, nil
}

// apiMe answers {"sub", "client_id", "scope"} of the request's access token
// (for a session: its subject, the rest empty).
func apiMe(w http.ResponseWriter, r *http.Request) {
	t, _ := resource.TokenFrom(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"sub": t.Subject, "client_id": t.ClientID, "scope": t.Scope})
}
