package middleware

import (
	"net/http"
)

// Logout returns the handler that logs the user out (mount it for GET and
// POST): it deletes the local session, then sends the browser to the
// provider's end_session_endpoint with id_token_hint and
// post_logout_redirect_uri (OpenID Connect RP-Initiated Logout 1.0), or,
// when the provider has none or the session had no ID token, to
// Config.DefaultReturnTo.
func (a *Auth) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := a.sessions.Load(r) // an invalid session is deleted all the same
		if err := a.sessions.Destroy(w, r); err != nil {
			a.fail(w, r, err)
			return
		}
		if s != nil && s.IDToken != "" {
			if u, err := a.rp.EndSessionURL(s.IDToken, a.cfg.PostLogoutRedirectURL, ""); err == nil {
				seeOther(w, u)
				return
			}
		}
		seeOther(w, a.cfg.DefaultReturnTo)
	})
}

// seeOther answers 303, which turns a POST into a GET at the target.
func seeOther(w http.ResponseWriter, u string) {
	h := w.Header()
	h.Set("Location", u)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
}
