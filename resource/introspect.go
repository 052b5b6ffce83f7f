package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
)

// introspected is the outcome of one introspection, shared by the requests
// that presented the same token meanwhile.
type introspected struct {
	token *Token
	until time.Time
}

// introspection is an introspection endpoint's answer (RFC 7662 section 2.2).
type introspection struct {
	Active    *bool  `json:"active"`
	TokenType string `json:"token_type"`
	atClaims
}

// introspect asks the provider's introspection endpoint about raw (RFC
// 7662): it must be active, not a refresh token (an answer with neither
// token_type nor aud is taken for one), and its iss, aud, exp, nbf and iat,
// when present, must pass the same checks as a JWT's. The answer
// is kept for at most IntrospectionCacheTime and never past exp. Concurrent
// requests with the same token share one call.
func (v *Verifier) introspect(ctx context.Context, raw string, key cacheKey, now time.Time) (*Token, time.Time, error) {
	res, _, err := v.flights.Do(ctx, string(key[:]), func(ctx context.Context) (introspected, error) {
		ctx, cancel := context.WithTimeout(ctx, httpx.DefaultTimeout)
		defer cancel()
		return v.introspectNow(ctx, raw, now)
	})
	return res.token, res.until, err
}

func (v *Verifier) introspectNow(ctx context.Context, raw string, now time.Time) (introspected, error) {
	body, err := v.askIntrospection(ctx, raw)
	if err != nil {
		return introspected{}, err
	}
	var in introspection
	if err := json.Unmarshal(body, &in); err != nil || in.Active == nil {
		return introspected{}, &IntrospectionError{Err: fmt.Errorf("not an introspection response (%v)", err)}
	}
	if !*in.Active {
		return introspected{}, ErrInactive
	}
	switch {
	case in.TokenType == "refresh_token":
		return introspected{}, fmt.Errorf("%w: token_type refresh_token", ErrInvalidTokenType)
	case in.TokenType == "" && len(in.Audience) == 0:
		// Nothing tells an access token from a refresh token: some
		// providers (oidc-provider among them) introspect refresh tokens
		// too, without token_type or aud. A client's own refresh token
		// must not pass for an access token to this API.
		return introspected{}, fmt.Errorf("%w: neither token_type nor aud says it is an access token for this API", ErrInvalidTokenType)
	}
	t, err := v.check(&in.atClaims, now, false)
	if err != nil {
		return introspected{}, err
	}
	t.Introspected = true
	t.claims = body
	until := now.Add(v.cfg.IntrospectionCacheTime)
	if exp := in.Expiry.Time().Add(expiryLeeway); in.Expiry != nil && exp.Before(until) {
		until = exp
	}
	return introspected{token: t, until: until}, nil
}

// askIntrospection sends raw to the introspection endpoint, through
// Config.Introspector or as ClientID with ClientSecret, and returns the
// answer's body. Every failure is an *IntrospectionError.
func (v *Verifier) askIntrospection(ctx context.Context, raw string) ([]byte, error) {
	if v.cfg.Introspector != nil {
		body, err := v.cfg.Introspector.Introspect(ctx, raw, "access_token")
		if err != nil {
			return nil, &IntrospectionError{Err: err}
		}
		return body, nil
	}
	endpoint := v.provider.Metadata().IntrospectionEndpoint
	if endpoint == "" {
		return nil, &IntrospectionError{Err: errors.New("the provider has no introspection_endpoint")}
	}
	form := url.Values{"token": {raw}, "token_type_hint": {"access_token"}}
	header := http.Header{"Accept": {"application/json"}, "Content-Type": {"application/x-www-form-urlencoded"}}
	authenticateClient(v.cfg.AuthMethod, v.cfg.ClientID, v.cfg.ClientSecret, header, form)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &IntrospectionError{Err: err}
	}
	req.Header = header
	_, body, err := httpx.Do(v.cfg.HTTPClient, req)
	if err != nil {
		ie := &IntrospectionError{Err: err}
		if se, ok := err.(*httpx.StatusError); ok {
			ie.StatusCode = se.StatusCode
		}
		return nil, ie
	}
	return body, nil
}

// authenticateClient adds the resource server's client authentication to
// an introspection request: client_secret_basic (an Authorization header,
// both parts form-encoded first, RFC 6749 section 2.3.1) or
// client_secret_post (the form), for services that have no client.RP; one
// that has one passes it as Config.Introspector, with every method of the
// client package.
func authenticateClient(method, id, secret string, h http.Header, form url.Values) {
	if method == "client_secret_post" {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
		return
	}
	r := http.Request{Header: h}
	r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
}
