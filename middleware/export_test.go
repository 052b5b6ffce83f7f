package middleware

import "context"

// ForgetClaims drops the claims the request's state made on first use, so
// that a benchmark measures the first use every time.
func ForgetClaims(ctx context.Context) {
	st := stateFrom(ctx)
	st.mu.Lock()
	st.claims = nil
	st.mu.Unlock()
}
