package client

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The grants beyond the authorization code (RFC 6749 section 4.4, RFC 8628,
// RFC 8693) share this file's parameters and error codes. Each goes through
// tokenRequest, the one token-endpoint seam.

// Errors of the device authorization grant (RFC 8628 section 3.5) and token
// exchange (RFC 8693 section 2.2.2). A *TokenError with the code matches
// its sentinel: errors.Is(err, ErrAccessDenied).
var (
	// ErrAuthorizationPending: the user has not yet finished at the
	// verification URI; poll again after the interval.
	ErrAuthorizationPending = errors.New("client: device authorization pending")

	// ErrSlowDown: the device polled too often; DeviceToken has added 5
	// seconds to the interval.
	ErrSlowDown = errors.New("client: device polling too fast")

	// ErrAccessDenied: the user declined the device's request.
	ErrAccessDenied = errors.New("client: access denied")

	// ErrDeviceCodeExpired: the device code expired before the user
	// finished (expired_token); start again.
	ErrDeviceCodeExpired = errors.New("client: device code expired")

	// ErrInvalidTarget: the provider will not issue a token for the
	// audience or resource asked for (RFC 8693, RFC 8707).
	ErrInvalidTarget = errors.New("client: invalid target")
)

// grantErrorCodes are the RFC 6749 section 5.2 error codes a *TokenError
// matches as sentinels, besides invalid_grant.
var grantErrorCodes = map[error]string{
	ErrAuthorizationPending: "authorization_pending",
	ErrSlowDown:             "slow_down",
	ErrAccessDenied:         "access_denied",
	ErrDeviceCodeExpired:    "expired_token",
	ErrInvalidTarget:        "invalid_target",
}

// Bounds on what a caller puts into a grant's parameters, so that a request
// stays far below what servers accept.
const (
	maxParams     = 32       // scopes, audiences or resources of one request
	maxParamBytes = 16 << 10 // one parameter's value
)

// reservedGrantParams are the parameters the client sets itself, which
// Extra cannot set.
var reservedGrantParams = map[string]bool{
	"grant_type": true, "scope": true, "audience": true, "resource": true,
	"code": true, "redirect_uri": true, "code_verifier": true, "refresh_token": true, "device_code": true,
	"subject_token": true, "subject_token_type": true, "actor_token": true, "actor_token_type": true,
	"requested_token_type": true,
}

// targetParams adds scope, audience and resource (RFC 8707: absolute URIs
// without a fragment) to form, and extra, which may not set a parameter
// already in form. Scopes nil or empty sends no scope.
func targetParams(form url.Values, scopes, audiences, resources []string, extra url.Values) error {
	for _, list := range [][]string{scopes, audiences, resources} {
		if len(list) > maxParams {
			return fmt.Errorf("%w: more than %d scopes, audiences or resources", ErrInvalidConfig, maxParams)
		}
	}
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return fmt.Errorf("%w: scope %q", ErrInvalidConfig, s)
		}
	}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	for _, a := range audiences {
		if a == "" || len(a) > maxParamBytes {
			return fmt.Errorf("%w: empty or oversized audience", ErrInvalidConfig)
		}
		form.Add("audience", a)
	}
	for _, r := range resources {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(r, "#") || len(r) > maxParamBytes {
			return fmt.Errorf("%w: resource %q is not an absolute URI without a fragment (RFC 8707 section 2)", ErrInvalidConfig, r)
		}
		form.Add("resource", r)
	}
	for k, vs := range extra {
		if form.Has(k) || reservedGrantParams[k] || strings.HasPrefix(k, "client_") {
			return fmt.Errorf("%w: Extra cannot set %q", ErrInvalidConfig, k)
		}
		for _, v := range vs {
			if len(v) > maxParamBytes {
				return fmt.Errorf("%w: Extra %q oversized", ErrInvalidConfig, k)
			}
		}
		form[k] = append([]string(nil), vs...)
	}
	return nil
}

// due reports whether a token that was issued at issued and expires at
// expiry should be replaced at now: within leeway of its expiry, the leeway
// never more than a quarter of its lifetime, so that short-lived tokens are
// not renewed at every use. It is session.Manager.RefreshDue's rule. A token
// of unknown expiry is never due.
func due(now, issued, expiry time.Time, leeway time.Duration) bool {
	if expiry.IsZero() {
		return false
	}
	leeway = min(leeway, expiry.Sub(issued)/4)
	return !now.Before(expiry.Add(-leeway))
}
