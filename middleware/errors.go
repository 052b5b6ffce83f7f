package middleware

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"strings"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/session"
)

var errBadReturnTo = events.NewError(events.ReasonInvalidRequest, "middleware: return_to is not a local path")

// ErrorStatus maps an error of a login, logout or refresh to the HTTP
// status the default error handler answers with: 401 when the user must log
// in (again), 502 when the provider
// failed (unreachable, 5xx, an answer against the protocol, a refused
// pushed authorization request, a token left unbound when DPoP was asked
// for), 503 when the
// session store failed, 403 when the user declined at the provider or a
// step-up failed (ErrStepUpUser, ErrStepUpACR, ErrStepUpRequired), 400 for
// everything the request itself got wrong (forged, replayed or expired
// callbacks, tokens failing a check), 500 otherwise.
func ErrorStatus(err error) int {
	var authErr *client.AuthError
	switch {
	case errors.Is(err, ErrLoginEnded), errors.Is(err, ErrTokenExpired), errors.Is(err, ErrNoAccessToken),
		errors.Is(err, ErrNotAuthenticated), errors.Is(err, session.ErrNoSession),
		errors.Is(err, session.ErrInvalid), errors.Is(err, session.ErrExpired), errors.Is(err, session.ErrMalformed),
		errors.Is(err, session.ErrRevoked):
		return http.StatusUnauthorized
	case errors.Is(err, client.ErrProviderUnavailable), errors.Is(err, client.ErrProviderResponse),
		errors.Is(err, ErrExchange), errors.Is(err, client.ErrPAR):
		return http.StatusBadGateway
	case errors.Is(err, session.ErrStore):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrStepUpUser), errors.Is(err, ErrStepUpACR), errors.Is(err, ErrStepUpRequired):
		return http.StatusForbidden
	case errors.As(err, &authErr):
		if authErr.Code == "access_denied" {
			return http.StatusForbidden
		}
		return http.StatusBadRequest
	case errors.Is(err, session.ErrNoFlow), errors.Is(err, session.ErrFlowUsed),
		errors.Is(err, errBadReturnTo), errors.Is(err, errBadCallbackForm), errors.Is(err, ErrUnknownProvider),
		isProtocolError(err):
		return http.StatusBadRequest
	default:
		return http.StatusInternalServerError
	}
}

// isProtocolError reports whether err is a check of the client package that
// the callback's input failed: the authorization response, a token, the
// userinfo answer, the flow state, or the token endpoint's 4xx refusal.
func isProtocolError(err error) bool {
	var te *client.TokenError
	return errors.Is(err, client.ErrInvalidResponse) || errors.Is(err, client.ErrInvalidToken) ||
		errors.Is(err, client.ErrInvalidGrant) || errors.Is(err, client.ErrUserInfoSubject) ||
		errors.Is(err, client.ErrMalformedFlow) || errors.Is(err, ErrLogoutReplay) ||
		(errors.As(err, &te) && te.StatusCode >= 400 && te.StatusCode < 500)
}

// publicMessage is what the user may read about err: never the error's
// text, which may name internals.
func publicMessage(err error) string {
	var authErr *client.AuthError
	switch {
	case errors.As(err, &authErr) && authErr.Code == "access_denied":
		return "Sign-in was cancelled or denied at the identity provider."
	case errors.As(err, &authErr):
		return "The identity provider could not sign you in (" + authErr.Code + ")."
	case errors.Is(err, session.ErrFlowUsed):
		return "This sign-in response was already used. Please sign in again."
	case errors.Is(err, session.ErrNoFlow):
		return "This sign-in attempt has expired or was started in another browser. Please sign in again."
	case errors.Is(err, errBadReturnTo):
		return "The return address must be a page of this site."
	case errors.Is(err, ErrUnknownProvider):
		return "There is no such sign-in provider."
	case errors.Is(err, ErrStepUpUser):
		return "You signed in as another user: you are still signed in as before."
	case errors.Is(err, ErrStepUpACR):
		return "The identity provider did not sign you in as strongly as this page needs."
	case errors.Is(err, client.ErrPAR) && !errors.Is(err, client.ErrProviderUnavailable):
		return "The identity provider refused the sign-in request. Please try again later."
	}
	switch ErrorStatus(err) {
	case http.StatusBadGateway:
		return "The identity provider is unavailable or answered unexpectedly. Please try again later."
	case http.StatusServiceUnavailable:
		return "Sessions are unavailable right now. Please try again later."
	case http.StatusBadRequest:
		return "The sign-in response was invalid. Please sign in again."
	default:
		return "Something went wrong."
	}
}

// fail answers a request whose login, logout or refresh failed, and logs
// the error (unless an ErrorHandler answers).
func (a *Auth) fail(w http.ResponseWriter, r *http.Request, err error) {
	if a.cfg.ErrorHandler == nil {
		status := ErrorStatus(err)
		level := slog.LevelWarn
		if status >= http.StatusInternalServerError {
			level = slog.LevelError
		}
		a.cfg.Logger.LogAttrs(r.Context(), level, "oidcrp: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
	}
	a.answer(w, r, err)
}

// answer answers a request whose login, logout or refresh failed: with
// Config.ErrorHandler, or a short page with ErrorStatus's status.
func (a *Auth) answer(w http.ResponseWriter, r *http.Request, err error) {
	if a.cfg.ErrorHandler != nil {
		a.cfg.ErrorHandler(w, r, err)
		return
	}
	writeError(w, r, ErrorStatus(err), "login_failed", publicMessage(err))
}

// writeError answers with status and msg, as JSON to API clients and as a
// small HTML page to browsers. Nothing is cached.
func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if wantsJSON(r) {
		h.Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": msg})
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html>\n<meta charset=utf-8>\n<title>%d %s</title>\n<h1>%s</h1>\n<p>%s</p>\n<p><a href=\"/\">Home</a></p>\n",
		status, http.StatusText(status), http.StatusText(status), html.EscapeString(msg))
}

// wantsJSON reports whether r comes from a script or an API client rather
// than a browser navigating: it accepts JSON and not HTML, or was sent by
// XMLHttpRequest.
func wantsJSON(r *http.Request) bool {
	if r.Header.Get("X-Requested-With") == "XMLHttpRequest" {
		return true
	}
	accept := r.Header.Get("Accept")
	return strings.Contains(accept, "application/json") && !strings.Contains(accept, "text/html")
}
