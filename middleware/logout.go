package middleware

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/randstr"
	"github.com/oidcrp/oidcrp/session"
)

// revokeTimeout bounds the revocation call at logout: logging out must not
// wait long on a slow provider.
const revokeTimeout = 5 * time.Second

// Logout returns the handler that logs the user out; mount it for GET and
// POST. Logging out changes state, so only a same-origin POST does it: the
// handler checks the request's Origin and Sec-Fetch-Site headers itself
// (http.CrossOriginProtection), so that another site cannot log the user out
// with a link or a form even when the app forgot that protection, and a GET
// shows a confirmation page whose button sends the POST (the page cannot be
// framed). The POST deletes the local session (a cookie session's logout is
// recorded, so that copies of its cookie stop working), revokes its refresh
// token at the provider's revocation endpoint (RFC 7009) when there is one,
// and sends the browser to the provider's end_session_endpoint with
// id_token_hint, post_logout_redirect_uri and a state (OpenID Connect
// RP-Initiated Logout 1.0) that PostLogout checks when the provider sends the
// user back. When the provider has no end_session_endpoint, or the session
// had no ID token, it redirects to Config.DefaultReturnTo. When the session
// store fails, it answers 503 and keeps the cookie: the session lives on,
// and the user can try again.
func (a *Auth) Logout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			a.confirmLogout(w, r)
			return
		case http.MethodPost:
		default:
			w.Header().Set("Allow", "GET, POST")
			writeError(w, r, http.StatusMethodNotAllowed, "invalid_request", "Use the logout button.")
			return
		}
		if err := sameOrigin.Check(r); err != nil {
			writeError(w, r, http.StatusForbidden, "cross_origin", "Logging out from another site is not allowed.")
			return
		}
		s, loadErr := a.sessions.Load(r)
		if err := a.sessions.Destroy(w, r); err != nil {
			a.emit(r, events.LogoutFailed, a.soleIssuer(), logoutRP, "", err)
			a.answer(w, r, err)
			return
		}
		if loadErr != nil {
			if errors.Is(loadErr, session.ErrStore) {
				a.cfg.Logger.WarnContext(r.Context(), "oidcrp: logged out without the provider: the session could not be loaded", "error", loadErr)
			}
			seeOther(w, a.cfg.DefaultReturnTo)
			return
		}
		a.emit(r, events.LogoutSucceeded, s.Issuer, logoutRP, s.Subject, nil)
		a.endAtProvider(w, r, s)
	})
}

// sameOrigin refuses browsers' cross-origin requests.
var sameOrigin = http.NewCrossOriginProtection()

// endAtProvider revokes s's refresh token and sends the browser to the
// provider's end_session_endpoint, or home.
func (a *Auth) endAtProvider(w http.ResponseWriter, r *http.Request, s *session.Session) {
	p, err := a.sessionProvider(s)
	if err != nil {
		seeOther(w, a.cfg.DefaultReturnTo) // a provider no longer configured
		return
	}
	if s.HasRefreshToken() && p.rp.Provider().Metadata().RevocationEndpoint != "" {
		ctx, cancel := context.WithTimeout(r.Context(), revokeTimeout)
		err := p.rp.Revoke(ctx, s.RefreshToken(), "refresh_token")
		cancel()
		if err != nil {
			// The session is gone here; the token dies with the
			// provider's session or its own expiry.
			a.cfg.Logger.WarnContext(r.Context(), "oidcrp: revoking the refresh token at logout failed", "error", err)
		}
	}
	idToken := s.IDToken()
	if idToken == "" {
		seeOther(w, a.cfg.DefaultReturnTo)
		return
	}
	var state string
	if a.cfg.PostLogoutRedirectURL != "" {
		state = randstr.Token()
		if err := a.sessions.SaveFlow(w, r, session.LogoutFlow, state, nil); err != nil {
			state = ""
		}
	}
	u, err := p.rp.EndSessionURL(idToken, a.cfg.PostLogoutRedirectURL, state)
	if err != nil {
		seeOther(w, a.cfg.DefaultReturnTo)
		return
	}
	seeOther(w, u)
}

var logoutPage = template.Must(template.New("logout").Parse(`<!doctype html>
<meta charset="utf-8">
<title>Log out</title>
<h1>Log out?</h1>
<form method="post" action="{{.}}"><button type="submit" autofocus>Log out</button></form>
<p><a href="/">Stay logged in</a></p>
`))

// confirmLogout answers a GET of the logout route: a page whose button
// posts to it, or, for a browser with no session, a redirect home.
func (a *Auth) confirmLogout(w http.ResponseWriter, r *http.Request) {
	if _, err := a.sessions.Load(r); err != nil {
		if errors.Is(err, session.ErrStore) {
			a.fail(w, r, err)
			return
		}
		seeOther(w, a.cfg.DefaultReturnTo)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "frame-ancestors 'none'")
	logoutPage.Execute(w, r.URL.Path)
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
		if _, err := a.sessions.TakeFlow(w, r, session.LogoutFlow, state); err != nil {
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
