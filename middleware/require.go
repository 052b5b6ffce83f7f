package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

// SessionFrom returns the session Require or Optional found for the
// request (the innermost, when several Auths are nested). Treat it as
// read-only: it may be shared.
func SessionFrom(ctx context.Context) (*session.Session, bool) {
	if st := stateFrom(ctx); st != nil {
		return st.session(), true
	}
	return nil, false
}

// Subject returns the logged-in user's subject, or "".
func Subject(ctx context.Context) string {
	if s, ok := SessionFrom(ctx); ok {
		return s.Subject
	}
	return ""
}

// ErrNotAuthenticated is returned by the accessors for a request that did
// not pass Require or Optional with a session.
var ErrNotAuthenticated = errors.New("middleware: no authenticated session")

// Claims decodes the user's claims into v, as json.Unmarshal does: those of
// the session's ID token (without the claims about the token itself, such
// as iss, aud, exp and nonce), overlaid with the userinfo claims kept at
// login when Config.UserInfo is set (see client.UserClaims). They are put
// together once per request, on first use; each call decodes them once.
func Claims(ctx context.Context, v any) error {
	st := stateFrom(ctx)
	if st == nil {
		return ErrNotAuthenticated
	}
	claims, err := st.claimsJSON()
	if err != nil {
		return err
	}
	return json.Unmarshal(claims, v)
}

// Authenticate is the pure check behind Require: it returns the request's
// session if it is valid (sealed by us, within its timeouts), without
// writing anything or refreshing tokens. It fails with session.ErrNoSession,
// session.ErrInvalid or session.ErrExpired for a user who must log in, and
// with an error matching session.ErrStore when the session store failed.
func (a *Auth) Authenticate(r *http.Request) (*session.Session, error) {
	s, _, err := a.authenticate(r)
	return s, err
}

// authenticate returns r's session and the provider it was logged in with.
func (a *Auth) authenticate(r *http.Request) (*session.Session, *provider, error) {
	s, err := a.sessions.Load(r)
	if err != nil {
		return nil, nil, err
	}
	p, err := a.sessionProvider(s)
	if err != nil {
		return nil, nil, err
	}
	return s, p, nil
}

// Require returns middleware that lets through only requests with a valid
// session, which handlers then read with SessionFrom, Subject, Claims,
// TokenSource and HTTPClient. Other requests get Config.Unauthenticated: by
// default, browsers navigating with GET are redirected to the login with
// return_to, API requests (Accept: application/json, XMLHttpRequest, or
// methods other than GET and HEAD) get 401. When the session store fails,
// the request fails with 503: no access is granted.
//
// Unless Config.DisableRefresh, an access token due for refresh is refreshed
// first, so that handlers see a valid one. If the provider refused the
// refresh token (invalid_grant), the login is over: the session is deleted
// and the request turned away. If the refresh failed otherwise (the provider
// is down, slow or answered garbage), the request goes through with the
// session as it is: its access token may be stale (see Session.Expiry), and
// what needs a valid one, TokenSource and HTTPClient, fails with the
// refresh's error (ErrorStatus: 502) while pages that only need the login
// keep working; Require waits for the provider 5 seconds at most, and after
// a failure does not try again for a few seconds. The session is never
// deleted for an outage: once the provider answers, the next call that
// needs the token refreshes it, once.
//
// Changes to the session (a refresh, a recorded use) are written back on
// the way out, before the handler's first write: a refresh made after the
// header was written is kept server-side until the next request of the
// session takes it up, so that no rotated refresh token is lost.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.begin(w, r)
		if err != nil {
			a.turnAway(w, r, err)
			return
		}
		next.ServeHTTP(&st.w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
		st.commit()
	})
}

// Optional returns middleware that lets every request through, with its
// session when it has a valid one, so that handlers can greet a logged-in
// user and offer others a login link. It refreshes like Require; only a
// failing store fails the request.
func (a *Auth) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.begin(w, r)
		switch {
		case err == nil:
			next.ServeHTTP(&st.w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
			st.commit()
			return
		case a.serverFault(err):
			a.fail(w, r, err)
			return
		default:
			a.forget(w, r, err)
		}
		next.ServeHTTP(w, r)
	})
}

// begin authenticates r and refreshes its tokens when due.
func (a *Auth) begin(w http.ResponseWriter, r *http.Request) (*requestState, error) {
	s, p, err := a.authenticate(r)
	if err != nil {
		return nil, err
	}
	st := a.newState(w, r, s, p)
	if !a.cfg.DisableRefresh && s.HasRefreshToken() && a.sessions.RefreshDue(s) && a.sessions.RecentRefreshFailure(s) == nil {
		// The page may do without a fresh token: wait for the provider a
		// few seconds at most (the refresh goes on for those who need it).
		ctx, cancel := context.WithTimeout(r.Context(), refreshWait)
		st.mu.Lock()
		err := st.refreshLocked(ctx)
		st.refreshErr = nil // TokenSource and HTTPClient try again
		st.mu.Unlock()
		cancel()
		if errors.Is(err, ErrLoginEnded) || errors.Is(err, session.ErrStore) {
			return nil, err
		}
		// Any other failure leaves the session as it is (see Require).
	}
	return st, nil
}

// refreshWait bounds how long Require waits for a refresh before serving
// the page with the session as it is.
const refreshWait = 5 * time.Second

// serverFault reports whether err is a failure of ours or the provider's
// rather than of the user's session: no access, and no redirect to login
// (which would fail the same way).
func (a *Auth) serverFault(err error) bool {
	status := ErrorStatus(err)
	return status >= 500
}

// forget deletes a session cookie that is invalid or expired, so the browser
// stops sending it.
func (a *Auth) forget(w http.ResponseWriter, r *http.Request, err error) {
	if !errors.Is(err, session.ErrNoSession) {
		a.sessions.Destroy(w, r)
	}
}

// turnAway answers a request Require does not let through.
func (a *Auth) turnAway(w http.ResponseWriter, r *http.Request, err error) {
	if a.serverFault(err) {
		a.fail(w, r, err)
		return
	}
	a.forget(w, r, err)
	if a.cfg.Unauthenticated != nil {
		a.cfg.Unauthenticated.ServeHTTP(w, r)
		return
	}
	login := a.cfg.LoginPath + "?return_to=" + url.QueryEscape(r.URL.RequestURI())
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !wantsJSON(r) {
		redirect(w, login)
		return
	}
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Cookie realm=%q, form-action=%q`, a.sessions.Config().CookieName, a.cfg.LoginPath))
	writeError(w, r, http.StatusUnauthorized, "unauthenticated", "Please sign in.")
}
