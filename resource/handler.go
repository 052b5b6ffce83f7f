package resource

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/events"
)

// Require returns middleware that lets through only requests with a valid
// access token carrying every scope in scopes, and gives handlers the
// token (TokenFrom). Other requests are answered as RFC 6750 section 3 and
// RFC 9449 section 7.1 say, with a JSON body {"error", "error_description"}:
//
//   - no token: 401 with a bare challenge (WWW-Authenticate: Bearer, and
//     DPoP algs="..." when DPoP is on);
//   - a malformed request (two Authorization headers, a token in the query
//     string): 400 invalid_request;
//   - a token failing a check: 401 invalid_token, in the scheme the request
//     used; a DPoP proof failing one: 401 invalid_dpop_proof (or
//     use_dpop_nonce with a DPoP-Nonce header) in a DPoP challenge;
//   - a valid token without a required scope: 403 insufficient_scope with
//     the scopes required;
//   - a provider or replay cache that failed: 503, never access.
//
// Requests let through by Config.Session skip the scope check: they are the
// app's own pages, not a client holding a token.
func (v *Verifier) Require(next http.Handler, scopes ...string) http.Handler {
	return require(func(r *http.Request) (*Verifier, *Token, error) {
		t, err := v.Authenticate(r)
		return v, t, err
	}, v, next, scopes)
}

// require is Require for the Verifier authenticate chooses for each
// request: it answers and emits events as that Verifier's configuration
// says. A request authenticate refuses without choosing one (a nil
// Verifier: a token of no known issuer) is answered as fallback's
// configuration says, and its event names no issuer.
func require(authenticate func(*http.Request) (*Verifier, *Token, error), fallback *Verifier, next http.Handler, scopes []string) http.Handler {
	scopes = slices.Clone(scopes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, t, err := authenticate(r)
		if err == nil && !t.FromSession {
			err = checkScopes(t, scopes)
		}
		if err != nil {
			issuer := ""
			if v == nil {
				v = fallback
			} else {
				issuer = v.cfg.Issuer
			}
			v.refused(r, issuer, err)
			v.deny(w, r, err, scopes)
			return
		}
		if s := v.cfg.Events; s.Enabled(r.Context(), events.BearerAccepted) {
			kind := "bearer"
			switch {
			case t.FromSession:
				kind = "session"
			case t.JKT != "":
				kind = "dpop"
			}
			s.Emit(r.Context(), events.Event{Name: events.BearerAccepted, Issuer: v.cfg.Issuer, Kind: kind})
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), tokenKey{}, t)))
	})
}

// refused emits BearerRefused for r, which Require refuses with err, for
// issuer ("" when the token's is none of Issuers'). Its kind is the scheme of r's Authorization header: "bearer", "dpop", or ""
// without one (or an unreadable one).
func (v *Verifier) refused(r *http.Request, issuer string, err error) {
	s := v.cfg.Events
	if !s.Enabled(r.Context(), events.BearerRefused) {
		return
	}
	kind := ""
	if h := r.Header["Authorization"]; len(h) == 1 {
		scheme, _, _ := strings.Cut(h[0], " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			kind = "bearer"
		case strings.EqualFold(scheme, "DPoP"):
			kind = "dpop"
		}
	}
	s.Emit(r.Context(), events.Event{Name: events.BearerRefused, Issuer: issuer, Kind: kind,
		Reason: events.ReasonOf(err), Err: err})
}

// checkScopes returns a *ScopeError unless t carries every scope.
func checkScopes(t *Token, scopes []string) error {
	for _, s := range scopes {
		if !t.HasScope(s) {
			e := &ScopeError{Required: scopes}
			for _, s := range scopes {
				if !t.HasScope(s) {
					e.Missing = append(e.Missing, s)
				}
			}
			return e
		}
	}
	return nil
}

// ErrorStatus maps an error of Authenticate or Require to the HTTP status
// Require answers with: 401, 400, 403 or 503 (500 for any other error).
func ErrorStatus(err error) int {
	switch {
	case errors.Is(err, ErrNoToken), errors.Is(err, ErrInvalidToken):
		return http.StatusUnauthorized
	case errors.Is(err, ErrInvalidRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrInsufficientScope):
		return http.StatusForbidden
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// describable are the errors whose own text is the error_description sent:
// fixed strings, never the wrapped details, which may echo the request.
var describable = []error{
	ErrProofMissing, ErrProofMalformed, ErrProofType, ErrProofAlgorithm, ErrProofKey, ErrProofSignature,
	ErrProofMethod, ErrProofURL, ErrProofTime, ErrProofReplay, ErrProofTokenHash, ErrProofThumbprint, ErrProofNonce,
	ErrMalformedToken, ErrUnsupportedAlgorithm, ErrInvalidSignature, ErrInvalidIssuer, ErrInvalidAudience,
	ErrExpired, ErrNotYetValid, ErrIssuedInFuture, ErrMissingSubject, ErrInvalidTokenType,
	ErrInactive, ErrDPoPRequired, ErrNotBound, ErrInvalidRequest, ErrNoToken,
}

func description(err error) string {
	for _, d := range describable {
		if errors.Is(err, d) {
			msg := d.Error()
			if _, rest, ok := strings.Cut(msg, ": "); ok {
				msg = rest
			}
			return msg
		}
	}
	return "the access token could not be checked"
}

// deny answers a request Require does not let through.
func (v *Verifier) deny(w http.ResponseWriter, r *http.Request, err error, scopes []string) {
	h := w.Header()
	status := ErrorStatus(err)
	code, desc := "", description(err)
	dpop := v.cfg.Origin != ""
	usedDPoP := dpop && len(r.Header["Authorization"]) == 1 &&
		len(r.Header["Authorization"][0]) > 5 && strings.EqualFold(r.Header["Authorization"][0][:5], "DPoP ")
	bearer, dpopParams := true, dpop // which challenges to send
	switch status {
	case http.StatusUnauthorized:
		switch {
		case errors.Is(err, ErrNoToken):
			desc = "an access token is required"
		case errors.Is(err, ErrProofNonce):
			code, bearer = "use_dpop_nonce", false
			h.Set("DPoP-Nonce", v.nonce(v.cfg.Now()))
		case errors.Is(err, ErrInvalidProof):
			code, bearer = "invalid_dpop_proof", false
		default:
			code = "invalid_token"
			bearer = !usedDPoP
		}
	case http.StatusBadRequest:
		code = "invalid_request"
	case http.StatusForbidden:
		code = "insufficient_scope"
		bearer = !usedDPoP
		desc = "the access token lacks a required scope"
	default:
		level := slog.LevelError
		v.cfg.Logger.LogAttrs(r.Context(), level, "resource: access token not checked",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", status), slog.Any("error", err))
		writeJSONError(w, status, "temporarily_unavailable", "the access token cannot be checked now; try again later")
		return
	}
	params := func(scheme string) string {
		var b strings.Builder
		b.WriteString(scheme)
		sep := " "
		add := func(name, value string) {
			b.WriteString(sep)
			b.WriteString(name)
			b.WriteString(`="`)
			b.WriteString(value)
			b.WriteString(`"`)
			sep = ", "
		}
		if v.cfg.Realm != "" {
			add("realm", quoteSafe(v.cfg.Realm))
		}
		if code != "" && (scheme == "DPoP") == !bearer {
			add("error", code)
			add("error_description", desc)
			if code == "insufficient_scope" {
				add("scope", strings.Join(scopes, " "))
			}
		}
		if scheme == "DPoP" {
			add("algs", strings.Join(v.cfg.DPoPAlgorithms, " "))
		}
		return b.String()
	}
	h.Add("WWW-Authenticate", params("Bearer"))
	if dpopParams {
		h.Add("WWW-Authenticate", params("DPoP"))
	}
	if code == "" {
		code = "unauthorized"
	}
	writeJSONError(w, status, code, desc)
}

// quoteSafe drops the characters a quoted-string cannot carry unescaped.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func writeJSONError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}
