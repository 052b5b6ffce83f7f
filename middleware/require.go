package middleware

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/session"
)

// requestState is what Require and Optional put in the request's context:
// the session, and what a refresh during the request needs to save it.
type requestState struct {
	a *Auth
	w http.ResponseWriter
	r *http.Request // as the middleware got it: its cookies name the session

	mu   sync.Mutex // guards sess; a refresh replaces it, never mutates it
	sess *session.Session
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

func (st *requestState) session() *session.Session {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.sess
}

// SessionFrom returns the session Require or Optional found for the
// request. Treat it as read-only: it may be shared.
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

// Claims decodes the user's claims into v: those of the session's ID token
// (without the claims about the token itself, such as iss, aud, exp and
// nonce), overlaid with the userinfo claims kept at login when
// Config.UserInfo is set.
func Claims(ctx context.Context, v any) error {
	s, ok := SessionFrom(ctx)
	if !ok {
		return ErrNotAuthenticated
	}
	claims := map[string]json.RawMessage{}
	if s.IDToken != "" {
		parts := strings.SplitN(s.IDToken, ".", 3)
		if len(parts) != 3 {
			return fmt.Errorf("%w: ID token", client.ErrMalformedToken)
		}
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			return fmt.Errorf("%w: ID token: %v", client.ErrMalformedToken, err)
		}
		if err := json.Unmarshal(payload, &claims); err != nil {
			return fmt.Errorf("%w: ID token: %v", client.ErrMalformedToken, err)
		}
		for _, c := range protocolClaims {
			delete(claims, c)
		}
	}
	if len(s.Claims) > 0 {
		if err := json.Unmarshal(s.Claims, &claims); err != nil {
			return fmt.Errorf("middleware: session claims: %w", err)
		}
	}
	b, err := json.Marshal(claims)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Authenticate is the pure check behind Require: it returns the request's
// session if it is valid (sealed by us, within its timeouts), without
// writing anything or refreshing tokens. It fails with session.ErrNoSession,
// session.ErrInvalid or session.ErrExpired for a user who must log in, and
// with an error matching session.ErrStore when the session store failed.
func (a *Auth) Authenticate(r *http.Request) (*session.Session, error) {
	return a.sessions.Load(r)
}

// Require returns middleware that lets through only requests with a valid
// session, which handlers then read with SessionFrom, Subject, Claims,
// TokenSource and HTTPClient. Unless Config.DisableRefresh, it refreshes an
// access token about to expire first, so handlers see a valid one. Other
// requests get Config.Unauthenticated: by default, browsers navigating with
// GET are redirected to the login with return_to, API requests (Accept:
// application/json, XMLHttpRequest, or methods other than GET and HEAD) get
// 401. When the session store or the provider fails, the request fails
// (503 or 502): no access is granted.
func (a *Auth) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.begin(w, r)
		if err != nil {
			a.turnAway(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), stateKey{}, st)))
	})
}

// Optional returns middleware that lets every request through, with its
// session when it has a valid one, so that handlers can greet a logged-in
// user and offer others a login link. Only a failing store or provider
// fails the request.
func (a *Auth) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st, err := a.begin(w, r)
		switch {
		case err == nil:
			r = r.WithContext(context.WithValue(r.Context(), stateKey{}, st))
		case a.serverFault(err):
			a.fail(w, r, err)
			return
		default:
			a.forget(w, r, err)
		}
		next.ServeHTTP(w, r)
	})
}

// begin authenticates r, refreshes its tokens when due, and records use.
func (a *Auth) begin(w http.ResponseWriter, r *http.Request) (*requestState, error) {
	s, err := a.Authenticate(r)
	if err != nil {
		return nil, err
	}
	st := &requestState{a: a, w: w, r: r, sess: s}
	if !a.cfg.DisableRefresh && s.RefreshToken != "" && a.refreshDue(s) {
		err := st.refresh(r.Context())
		switch {
		case err == nil:
			return st, nil // the refresh saved the session, recording its use
		case errors.Is(err, ErrLoginEnded) || !a.now().Before(s.Expiry):
			return nil, err
		}
		// The provider failed, but the token is still valid for a moment:
		// serve the request with it; the next one tries again.
	}
	a.sessions.Touch(w, r, s) // best effort: a failed touch costs idle time only
	return st, nil
}

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
