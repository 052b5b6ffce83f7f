package middleware

import "context"

// ForgetClaims drops the claims the request's state found on first use,
// so that a benchmark measures the first use in a request every time; with
// cold, the Auth's cache of them too, so that it measures a session's
// first request.
func ForgetClaims(ctx context.Context, cold bool) {
	st := stateFrom(ctx)
	st.mu.Lock()
	st.claims = nil
	st.mu.Unlock()
	if cold {
		st.a.claims.mu.Lock()
		clear(st.a.claims.entries)
		st.a.claims.mu.Unlock()
	}
}
