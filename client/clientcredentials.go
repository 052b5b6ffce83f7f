package client

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/internal/flight"
)

// ClientCredentialsRequest holds the parameters of a client credentials
// grant (RFC 6749 section 4.4): a token for the client itself, to call an
// API as a service. The zero value asks for the provider's default scope
// and audience.
type ClientCredentialsRequest struct {
	// Scopes are sent as scope. If empty, none is sent: the provider's
	// default for the client. Config.Scopes is not used ("openid" means
	// nothing without a user).
	Scopes []string

	// Audiences are sent as audience parameters, as Auth0, Okta and
	// Keycloak name the API the token is for. If empty, none.
	Audiences []string

	// Resources are sent as resource parameters (RFC 8707): absolute URIs
	// of the APIs the token is for, without a fragment. If empty, none.
	Resources []string

	// Extra holds further parameters. It cannot set one the client sets
	// itself.
	Extra url.Values

	// RefreshLeeway is how long before its expiry ClientCredentialsSource
	// replaces its token: the rule of session.Config.RefreshLeeway, never
	// more than a quarter of the token's lifetime. If zero, 30 seconds.
	RefreshLeeway time.Duration
}

// ClientCredentials asks the token endpoint for a token for the client
// itself (RFC 6749 section 4.4), authenticating as Config.AuthMethod says.
// It needs no RedirectURL. The result has no refresh or ID token. Errors
// are those of Refresh: a *TokenError (unauthorized_client,
// ErrInvalidTarget, ...), ErrProviderUnavailable, ErrProviderResponse; and
// ErrInvalidConfig for a malformed request.
func (rp *RP) ClientCredentials(ctx context.Context, req ClientCredentialsRequest) (*Tokens, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if err := targetParams(form, req.Scopes, req.Audiences, req.Resources, req.Extra); err != nil {
		return nil, err
	}
	tok, err := rp.tokenRequest(ctx, form)
	if err != nil {
		return nil, err
	}
	tokens, err := rp.newTokens(tok)
	if err != nil {
		return nil, err
	}
	// RFC 6749 section 4.4.3: no refresh token; an ID token would name no
	// user. Neither is kept.
	tokens.RefreshToken, tokens.RawIDToken = "", ""
	return tokens, nil
}

// ClientCredentialsSource is a cached oauth2.TokenSource of client
// credentials tokens: it asks the provider for a token when it has none or
// when its token is due (see ClientCredentialsRequest.RefreshLeeway), one
// request at a time however many goroutines ask, and returns the cached
// token otherwise. It is safe for concurrent use.
type ClientCredentialsSource struct {
	rp     *RP
	req    ClientCredentialsRequest
	flight flight.Group[*Tokens] // one token request at a time

	mu     sync.Mutex // guards tokens and issued
	tokens *Tokens    // the cached token; nil before the first or after Reset
	issued time.Time  // when tokens was received, by Config.Now
}

// ClientCredentialsSource returns a cached source of client credentials
// tokens for req. It checks req and sends nothing yet; it fails with
// ErrInvalidConfig.
func (rp *RP) ClientCredentialsSource(req ClientCredentialsRequest) (*ClientCredentialsSource, error) {
	switch {
	case req.RefreshLeeway < 0:
		return nil, fmt.Errorf("%w: negative RefreshLeeway", ErrInvalidConfig)
	case req.RefreshLeeway == 0:
		req.RefreshLeeway = 30 * time.Second
	}
	if err := targetParams(url.Values{}, req.Scopes, req.Audiences, req.Resources, req.Extra); err != nil {
		return nil, err
	}
	req.Scopes = append([]string(nil), req.Scopes...)
	req.Audiences = append([]string(nil), req.Audiences...)
	req.Resources = append([]string(nil), req.Resources...)
	extra := make(url.Values, len(req.Extra))
	for k, vs := range req.Extra {
		extra[k] = append([]string(nil), vs...)
	}
	req.Extra = extra
	return &ClientCredentialsSource{rp: rp, req: req}, nil
}

// Token returns a valid token, asking the provider only when the cached one
// is missing or due. It implements oauth2.TokenSource; the request it may
// send is bounded by the configured HTTP client's timeout. Use TokenContext
// to bound the wait.
func (s *ClientCredentialsSource) Token() (*oauth2.Token, error) {
	return s.TokenContext(context.Background())
}

// TokenContext is Token, with ctx bounding this caller's wait. A token
// request already under way for other callers goes on when ctx ends, so
// one caller giving up fails no other.
func (s *ClientCredentialsSource) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	if t := s.cached(); t != nil {
		return t.OAuth2(), nil
	}
	t, _, err := s.flight.Do(ctx, "", func(ctx context.Context) (*Tokens, error) {
		if t := s.cached(); t != nil { // renewed by the flight just before this one
			return t, nil
		}
		t, err := s.rp.ClientCredentials(ctx, s.req)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		s.tokens, s.issued = t, s.rp.cfg.Now()
		s.mu.Unlock()
		return t, nil
	})
	if err != nil {
		return nil, err
	}
	return t.OAuth2(), nil
}

// cached returns the cached token unless it is due.
func (s *ClientCredentialsSource) cached() *Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokens == nil || due(s.rp.cfg.Now(), s.issued, s.tokens.Expiry, s.req.RefreshLeeway) {
		return nil
	}
	return s.tokens
}

// Reset drops the cached token, so that the next Token asks for a new
// one: for an API that answered 401 to a token the source thought valid.
func (s *ClientCredentialsSource) Reset() {
	s.mu.Lock()
	s.tokens = nil
	s.mu.Unlock()
}
