package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/events"
)

// Pushed authorization requests (RFC 9126): the client sends the
// authorization request's parameters to the provider directly,
// authenticated like a token request, and the browser carries only
// client_id and the request_uri the provider answered with. Nothing of the
// request (state, nonce, PKCE challenge, scopes, claims) travels through
// the browser, where it could be read or changed.

var (
	// ErrPAR: a pushed authorization request failed. Every error of the
	// push matches it: a *PARError for the provider's error response, or
	// ErrProviderUnavailable or ErrProviderResponse with it. The login
	// cannot go on: the client never falls back to an unpushed request.
	ErrPAR = errors.New("client: pushed authorization request failed")

	// ErrPARRequired: AuthCodeURL was called while authorization requests
	// are pushed (Config.PushedAuthorizationRequests, or the provider's
	// require_pushed_authorization_requests): pushing is a request to the
	// provider, which needs AuthCodeURLContext.
	ErrPARRequired = errors.New("client: authorization requests are pushed: use AuthCodeURLContext")
)

// PARError is an error response of the pushed authorization request
// endpoint (RFC 9126 section 2.3), such as invalid_request or
// invalid_client. It matches ErrPAR, and ErrProviderUnavailable when
// StatusCode is 5xx.
type PARError struct {
	Code        string // e.g. "invalid_request", "invalid_client"; may be empty
	Description string
	URI         string // error_uri, may be empty
	StatusCode  int
	Err         error // an *oauth2.RetrieveError with the response
}

func (e *PARError) Error() string {
	switch {
	case e.Code != "" && e.Description != "":
		return fmt.Sprintf("client: pushed authorization request: %s: %s", e.Code, e.Description)
	case e.Code != "":
		return "client: pushed authorization request: " + e.Code
	default:
		return fmt.Sprintf("client: pushed authorization request: status %d", e.StatusCode)
	}
}

func (e *PARError) Is(target error) bool {
	switch target {
	case ErrPAR:
		return true
	case ErrProviderUnavailable:
		return e.StatusCode >= 500
	}
	return false
}

func (e *PARError) Unwrap() error { return e.Err }

// EventReason is the reason events give for e, as for a *TokenError.
func (e *PARError) EventReason() events.Reason {
	return (&TokenError{Code: e.Code, StatusCode: e.StatusCode}).EventReason()
}

// pushes reports whether authorization requests are pushed.
func (rp *RP) pushes() bool {
	switch rp.cfg.PushedAuthorizationRequests {
	case PARAlways:
		return true
	case PARNever:
		return false
	}
	return rp.provider.Metadata().RequirePushedAuthorizationRequests
}

// maxRequestURI bounds the request_uri a provider answers with: it goes
// into the URL the browser is sent to.
const maxRequestURI = 2048

// push sends the authorization request authURL (as AuthCodeURL built it)
// to the pushed authorization request endpoint and returns the URL the
// browser goes to: the authorization endpoint with client_id and
// request_uri, nothing else.
func (rp *RP) push(ctx context.Context, authURL string) (_ string, err error) {
	md := rp.provider.Metadata()
	if md.PushedAuthorizationRequestEndpoint == "" {
		return "", fmt.Errorf("%w: %w: pushed_authorization_request", ErrPAR, ErrNoEndpoint)
	}
	defer rp.called(ctx, "par", "", time.Now(), &err)
	_, rawQuery, _ := strings.Cut(authURL, "?")
	form, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("%w: %w: the request's parameters: %v", ErrPAR, ErrInvalidConfig, err)
	}
	// The endpoint's own query (a provider's fixed parameters) stays on
	// the front-channel URL; only our parameters are pushed.
	if _, endpointQuery, ok := strings.Cut(md.AuthorizationEndpoint, "?"); ok {
		fixed, _ := url.ParseQuery(endpointQuery)
		for k := range fixed {
			form.Del(k)
		}
	}
	form.Set("client_id", rp.cfg.ClientID)
	_, body, err := rp.post(ctx, md.PushedAuthorizationRequestEndpoint, form)
	if err != nil {
		var te *TokenError
		if errors.As(err, &te) {
			pe := &PARError{Code: te.Code, Description: te.Description, URI: te.URI, StatusCode: te.StatusCode, Err: te.Err}
			if errors.Is(err, ErrProviderResponse) { // a 4xx without an error code
				return "", fmt.Errorf("%w: %w", ErrProviderResponse, pe)
			}
			return "", pe
		}
		return "", fmt.Errorf("%w: %w", ErrPAR, err)
	}
	var r struct {
		RequestURI string `json:"request_uri"`
		ExpiresIn  int64  `json:"expires_in"`
	}
	switch err := json.Unmarshal(body, &r); {
	case err != nil:
		return "", fmt.Errorf("%w: %w: the answer is not a JSON object with request_uri and expires_in: %v", ErrPAR, ErrProviderResponse, err)
	case r.RequestURI == "" || len(r.RequestURI) > maxRequestURI:
		return "", fmt.Errorf("%w: %w: request_uri missing or longer than %d bytes", ErrPAR, ErrProviderResponse, maxRequestURI)
	case r.ExpiresIn <= 0:
		return "", fmt.Errorf("%w: %w: expires_in missing or not positive", ErrPAR, ErrProviderResponse)
	}
	sep := "?"
	if strings.Contains(md.AuthorizationEndpoint, "?") {
		sep = "&"
	}
	return md.AuthorizationEndpoint + sep + "client_id=" + url.QueryEscape(rp.cfg.ClientID) +
		"&request_uri=" + url.QueryEscape(r.RequestURI), nil
}
