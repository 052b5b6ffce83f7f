package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/httpx"
)

// This file is the one place that talks to the authorization server's
// endpoints that authenticate the client: the token endpoint (code exchange,
// refresh, client credentials, device and token exchange grants) and,
// through post, revocation and device authorization (and later PAR and
// introspection).
// Each request is built afresh, so that a retry (a DPoP nonce, later) carries
// a new client assertion and a new proof.

// tokenResponse is a successful token response (RFC 6749 section 5.1), its
// members checked for their JSON types.
type tokenResponse struct {
	AccessToken  string
	TokenType    string
	ExpiresIn    int64 // seconds; 0 when absent
	RefreshToken string
	Scope        string
	IDToken      string

	IssuedTokenType string // RFC 8693 section 2.2.1; "" when absent
}

// tokenRequest sends form to the token endpoint as the client and reads the
// answer. Errors are classified for the caller: a *TokenError for an RFC 6749
// section 5.2 error (matching ErrInvalidGrant or, for 5xx,
// ErrProviderUnavailable), ErrProviderUnavailable for network failures and
// timeouts, ErrProviderResponse for answers that are not the protocol's.
func (rp *RP) tokenRequest(ctx context.Context, form url.Values) (*tokenResponse, error) {
	return rp.tokenRequestDPoP(ctx, form, nil)
}

// called emits the outcome of a call to the provider's endpoint kind
// (EndpointSucceeded or EndpointFailed) that began at start; *err is the
// call's error, read when it returns. The device grant's polls that the
// user has not answered yet (authorization_pending, slow_down) are no
// outcome and emit nothing.
func (rp *RP) called(ctx context.Context, kind, grantType string, start time.Time, err *error) {
	name := events.EndpointSucceeded
	switch {
	case errors.Is(*err, ErrAuthorizationPending), errors.Is(*err, ErrSlowDown):
		return
	case *err != nil:
		name = events.EndpointFailed
	}
	if s := rp.cfg.Events; s.Enabled(ctx, name) {
		s.Emit(ctx, events.Event{Name: name, Issuer: rp.cfg.Issuer, Kind: kind, GrantType: grantType,
			Duration: time.Since(start), Reason: events.ReasonOf(*err), Err: *err})
	}
}

// post sends form to endpoint, authenticated as the client, and returns a
// 2xx answer with its body. Any other answer is classified as tokenRequest
// says.
func (rp *RP) post(ctx context.Context, endpoint string, form url.Values) (*http.Response, []byte, error) {
	return rp.postDPoP(ctx, endpoint, form, nil)
}

// postDPoP is post with a DPoP proof signed by key, when key is not nil
// (RFC 9449 section 5). A server that answers use_dpop_nonce with a
// DPoP-Nonce gets the request once more, with a new assertion and a new
// proof carrying the nonce (section 8).
func (rp *RP) postDPoP(ctx context.Context, endpoint string, form url.Values, key *DPoPKey) (*http.Response, []byte, error) {
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: endpoint: %v", ErrProviderResponse, err)
		}
		f := maps.Clone(form) // authenticate adds to it; the caller's stays as it was
		if err := rp.authenticate(req, f); err != nil {
			return nil, nil, err
		}
		if key != nil {
			proof, err := rp.proof(key, http.MethodPost, req.URL, "", rp.nonces.get(httpx.Origin(req.URL)))
			if err != nil {
				return nil, nil, err
			}
			req.Header.Set("DPoP", proof)
		}
		setForm(req, f)
		req.Header.Set("Accept", "application/json")
		resp, body, err := httpx.Send(rp.cfg.HTTPClient, req)
		if err != nil {
			return nil, nil, providerError(err)
		}
		fresh := key != nil && rp.rememberNonce(req.URL, resp.Header)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			err := errorResponse(resp, body)
			var te *TokenError
			if fresh && attempt == 0 && errors.As(err, &te) && te.Code == "use_dpop_nonce" {
				continue
			}
			return nil, nil, err
		}
		return resp, body, nil
	}
}

// setForm makes form req's body, re-readable for redirects.
func setForm(req *http.Request, form url.Values) {
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
}

// errorBody is an error response (RFC 6749 section 5.2).
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri"`
}

// errorResponse classifies a non-2xx answer: a *TokenError, which matches
// ErrProviderUnavailable for 5xx; for a 4xx without an RFC 6749 error code, a
// garbled answer, ErrProviderResponse wrapping the *TokenError.
func errorResponse(resp *http.Response, body []byte) error {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		eb = errorBody{} // not JSON, or an error member that is not a string
	}
	te := newTokenError(resp, body, eb)
	if te.Code == "" && te.StatusCode < 500 {
		return fmt.Errorf("%w: %w", ErrProviderResponse, te)
	}
	return te
}

func newTokenError(resp *http.Response, body []byte, eb errorBody) *TokenError {
	return &TokenError{
		Code:        eb.Error,
		Description: eb.Description,
		URI:         eb.URI,
		StatusCode:  resp.StatusCode,
		// What golang.org/x/oauth2 returned before this package sent its
		// own requests: errors.As with an *oauth2.RetrieveError still works.
		Err: &oauth2.RetrieveError{
			Response:         resp,
			Body:             body,
			ErrorCode:        eb.Error,
			ErrorDescription: eb.Description,
			ErrorURI:         eb.URI,
		},
	}
}

// parseTokenResponse reads a 2xx answer of the token endpoint. It must be a
// JSON object whose members have the types RFC 6749 section 5.1 and OpenID
// Connect Core 3.1.3.3 give them; null counts as absent. A 2xx answer with an
// error member is an error (some servers answer errors with 200).
func parseTokenResponse(resp *http.Response, body []byte) (*tokenResponse, error) {
	var r struct {
		AccessToken  string `json:"access_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"` // not "3600", not 3600.5
		RefreshToken string `json:"refresh_token"`
		Scope        string `json:"scope"`
		IDToken      string `json:"id_token"`

		IssuedTokenType string `json:"issued_token_type"`
		errorBody
	}
	if err := json.Unmarshal(body, &r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, fmt.Errorf("%w: token response member %s is not a %s", ErrProviderResponse, te.Field, te.Type)
		}
		return nil, fmt.Errorf("%w: token response is not a JSON object", ErrProviderResponse)
	}
	if r.Error != "" {
		return nil, newTokenError(resp, body, r.errorBody)
	}
	switch {
	case r.ExpiresIn < 0 || r.ExpiresIn > math.MaxInt32:
		return nil, fmt.Errorf("%w: token response member expires_in is not a number of seconds", ErrProviderResponse)
	case r.AccessToken == "":
		return nil, fmt.Errorf("%w: no access_token in the token response", ErrProviderResponse)
	case r.TokenType == "":
		return nil, fmt.Errorf("%w: no token_type in the token response", ErrProviderResponse)
	}
	return &tokenResponse{
		AccessToken: r.AccessToken, TokenType: r.TokenType, ExpiresIn: r.ExpiresIn,
		RefreshToken: r.RefreshToken, Scope: r.Scope, IDToken: r.IDToken,
		IssuedTokenType: r.IssuedTokenType,
	}, nil
}
