package middleware

import (
	"context"
	"net/http"
	"time"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// logoutMark starts the data of the flow cookie that carries a logout's
// state, telling it apart from a login's (a marshaled client.Flow starts
// with its version byte, 1).
const logoutMark = 'L'

// revokeTimeout bounds the revocation call at logout: logging out must not
// wait long on a slow provider.
const revokeTimeout = 5 * time.Second

// Logout returns the handler that logs the user out (mount it for GET and
// POST). It deletes the local session, revokes its refresh token at the
// provider's revocation endpoint (RFC 7009) when there is one, and sends the
// browser to the provider's end_session_endpoint with id_token_hint,
// post_logout_redirect_uri and a state (OpenID Connect RP-Initiated Logout
// 1.0) that PostLogout checks when the provider sends the user back. When
// the provider has no end_session_endpoint, or the session had no ID token,
// it redirects to Config.DefaultReturnTo.
func (a *Auth) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := a.sessions.Load(r) // an invalid session is deleted all the same
		if err := a.sessions.Destroy(w, r); err != nil {
			a.fail(w, r, err)
			return
		}
		if s == nil {
			seeOther(w, a.cfg.DefaultReturnTo)
			return
		}
		if s.RefreshToken != "" && a.rp.Provider().Metadata().RevocationEndpoint != "" {
			ctx, cancel := context.WithTimeout(r.Context(), revokeTimeout)
			err := a.rp.Revoke(ctx, s.RefreshToken, "refresh_token")
			cancel()
			if err != nil {
				// The session is gone here; the token dies with the
				// provider's session or its own expiry.
				a.cfg.Logger.WarnContext(r.Context(), "oidcrp: revoking the refresh token at logout failed", "error", err)
			}
		}
		if s.IDToken == "" {
			seeOther(w, a.cfg.DefaultReturnTo)
			return
		}
		var state string
		if a.cfg.PostLogoutRedirectURL != "" {
			state = randstr.Token()
			if err := a.sessions.SaveFlow(w, r, state, []byte{logoutMark}); err != nil {
				state = ""
			}
		}
		u, err := a.rp.EndSessionURL(s.IDToken, a.cfg.PostLogoutRedirectURL, state)
		if err != nil {
			seeOther(w, a.cfg.DefaultReturnTo)
			return
		}
		seeOther(w, u)
	})
}

// PostLogout returns middleware for the page at Config.PostLogoutRedirectURL:
// when the provider sends the user back there with the state Logout sent,
// it checks it against the one-time cookie Logout left (RP-Initiated Logout
// 1.0 section 3), deletes that cookie, and redirects to the same page
// without the state, so that the address bar stays clean. Requests without
// a state go straight to next; a state that does not check out is logged
// and dropped the same way.
func (a *Auth) PostLogout(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		state := q.Get("state")
		if state == "" || r.Method != http.MethodGet || q.Has("code") || q.Has("error") {
			next.ServeHTTP(w, r)
			return
		}
		data, err := a.sessions.TakeFlow(w, r, state)
		if err != nil || len(data) != 1 || data[0] != logoutMark {
			a.cfg.Logger.WarnContext(r.Context(), "oidcrp: post-logout state does not match a logout of this browser", "error", err)
		}
		q.Del("state")
		clean := r.URL.Path
		if len(q) > 0 {
			clean += "?" + q.Encode()
		}
		if !IsLocalPath(clean) {
			clean = a.cfg.DefaultReturnTo
		}
		seeOther(w, clean)
	})
}

// seeOther answers 303, which turns a POST into a GET at the target.
func seeOther(w http.ResponseWriter, u string) {
	h := w.Header()
	h.Set("Location", u)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}
