package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/session"
)

// ErrLogoutReplay: a back-channel logout token whose jti was seen before,
// delivered again (400).
var ErrLogoutReplay = events.NewError(events.ReasonReplay, "middleware: logout token replayed (jti seen before)")

// maxLogoutRequest bounds the body of a back-channel logout request.
const maxLogoutRequest = 64 << 10

// BackchannelLogout returns the handler for the provider's back-channel
// logout requests (OpenID Connect Back-Channel Logout 1.0): a POST with a
// logout_token. The token is verified fully (client.VerifyLogoutToken), its
// jti must not have been seen before (Config.Sessions' replay cache), and
// then every session of the provider session it names (sid), or of the
// user (sub), is revoked: deleted from a store, and refused by Require from
// the next request on, cookie sessions included. It answers 200 on success
// and 400 with a JSON error otherwise, both with Cache-Control: no-store.
func (a *Auth) BackchannelLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "use POST")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxLogoutRequest)
		if err := r.ParseForm(); err != nil {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "the body is not a form")
			return
		}
		if len(r.PostForm["logout_token"]) != 1 {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "exactly one logout_token is required")
			return
		}
		if err := a.backchannelLogout(r, r.PostForm.Get("logout_token")); err != nil {
			a.emit(r, events.LogoutFailed, a.soleIssuer(), logoutBackchannel, "", err)
			writeJSONError(w, http.StatusBadRequest, "invalid_request", logoutErrorMessage(err))
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func (a *Auth) backchannelLogout(r *http.Request, raw string) error {
	ctx := r.Context()
	p, err := a.logoutTokenProvider(raw)
	if err != nil {
		return err
	}
	lt, err := p.rp.VerifyLogoutToken(ctx, raw)
	if err != nil {
		return err
	}
	// The logout covers the sessions created before the provider issued
	// the token (give or take the clock skew), however often it is
	// delivered: a redelivery records the same revocation again.
	skew := p.rp.Config().ClockSkew
	if err := a.sessions.Revoke(ctx, session.Revocation{Issuer: lt.Issuer, SID: lt.SessionID, Subject: lt.Subject, At: lt.IssuedAt.Add(skew)}); err != nil {
		return err
	}
	// The jti is marked used only once the logout is recorded, so that a
	// failure above lets the provider's redelivery through.
	fresh, err := a.sessions.Config().Replay.Use(ctx, "logout:"+lt.Issuer+"\x00"+lt.JTI, lt.Expiry.Add(skew))
	if err != nil {
		return fmt.Errorf("%w: replay cache: %w", session.ErrStore, err)
	}
	if !fresh {
		return ErrLogoutReplay
	}
	a.emit(r, events.LogoutSucceeded, p.issuer, logoutBackchannel, lt.Subject, nil)
	return nil
}

// logoutTokenProvider returns the provider whose key must have signed a
// logout token: the one named by its (as yet unverified) iss, which that
// provider's verification then checks. With one provider, that one.
func (a *Auth) logoutTokenProvider(raw string) (*provider, error) {
	if len(a.providers) == 1 {
		return a.providers[0], nil
	}
	t, err := jws.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", client.ErrInvalidToken, err)
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(t.Payload, &claims); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", client.ErrInvalidToken, err)
	}
	p, ok := a.issuing(claims.Iss)
	if !ok {
		return nil, fmt.Errorf("%w: logout token of an issuer the app does not use", client.ErrInvalidToken)
	}
	return p, nil
}

// logoutErrorMessage says what was wrong with a logout request, without
// internals.
func logoutErrorMessage(err error) string {
	switch {
	case errors.Is(err, ErrLogoutReplay):
		return "logout token already used"
	case errors.Is(err, client.ErrInvalidToken):
		return "invalid logout token"
	default:
		return "logout failed"
	}
}

// FrontchannelLogout returns the handler the provider loads in an iframe
// when the user logs out there (OpenID Connect Front-Channel Logout 1.0):
// GET with iss and sid. The iss must be one of the providers'; the sessions
// of sid at that provider are revoked; and the browser's own session, if its
// cookie came along and is of that provider session (or the request names
// none), is deleted. The answer is never cached (Cache-Control: no-cache, no-store;
// Pragma: no-cache), as the specification asks.
func (a *Auth) FrontchannelLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-cache, no-store")
		h.Set("Pragma", "no-cache")
		p, sid, err := a.frontchannelRequest(r.URL.Query())
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "invalid_request", "The logout request is malformed.")
			return
		}
		if sid != "" {
			// Anyone can send this request: recorded only if this app
			// issued a session of sid.
			rev := session.Revocation{Issuer: p.issuer, SID: sid, Unverified: true}
			if err := a.sessions.Revoke(r.Context(), rev); err != nil {
				a.emit(r, events.LogoutFailed, p.issuer, logoutFrontchannel, "", err)
				a.answer(w, r, err)
				return
			}
		}
		// The browser's own session, when its cookie reached this frame.
		subject := ""
		if s, err := a.sessions.Load(r); err == nil && (sid == "" || s.SID == sid && p.rp.IsIssuer(s.Issuer)) {
			a.sessions.Destroy(w, r)
			subject = s.Subject
		}
		if sid != "" || subject != "" {
			a.emit(r, events.LogoutSucceeded, p.issuer, logoutFrontchannel, subject, nil)
		}
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>Logged out</title>"))
	})
}

// frontchannelRequest checks a front-channel logout request's query and
// returns the provider its iss names, with the sid (see
// client.RP.FrontchannelLogout); sid is "" for a request that names none.
func (a *Auth) frontchannelRequest(q url.Values) (*provider, string, error) {
	p := a.providers[0]
	if iss := q["iss"]; len(a.providers) > 1 && len(iss) == 1 && iss[0] != "" {
		var ok bool
		if p, ok = a.issuing(iss[0]); !ok {
			return nil, "", fmt.Errorf("%w: iss names an issuer the app does not use", client.ErrLogoutRequest)
		}
	}
	sid, err := p.rp.FrontchannelLogout(q)
	return p, sid, err
}

func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
