package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/internal/jwt"
)

// Refresh redeems refreshToken for new tokens (RFC 6749 section 6), under
// ctx. previousIDToken is the ID token of the login being refreshed; if the
// provider returns a new ID token, it is verified and must match the
// previous one as OpenID Connect Core 12.2 says: same iss, sub, aud and
// auth_time, and a nonce, if any, equal to the original's (errors
// ErrInvalidIssuer, ErrSubjectMismatch, ErrInvalidAudience, ErrAuthTime,
// ErrInvalidNonce). If the provider does not rotate the refresh token, the
// old one is kept in the result.
//
// A refresh token that is no longer valid fails with a *TokenError matching
// ErrInvalidGrant: the login is over. An unreachable or failing provider
// gives ErrProviderUnavailable: try again later.
func (rp *RP) Refresh(ctx context.Context, refreshToken, previousIDToken string) (*Tokens, error) {
	return rp.RefreshDPoP(ctx, nil, refreshToken, previousIDToken)
}

// RefreshDPoP is Refresh for tokens bound to key (RFC 9449 section 5): the
// request carries a proof signed with key, so that the new tokens are bound
// to the same key, and a token that comes back unbound from a provider
// that advertises DPoP fails with ErrDPoPNotBound. With a nil key it is
// Refresh.
func (rp *RP) RefreshDPoP(ctx context.Context, key *DPoPKey, refreshToken, previousIDToken string) (*Tokens, error) {
	if refreshToken == "" {
		return nil, fmt.Errorf("%w: no refresh token", ErrInvalidGrant)
	}
	tok, err := rp.tokenRequestDPoP(ctx, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	}, key)
	if err != nil {
		return nil, err
	}
	tokens, err := rp.newBoundTokens(tok, key)
	if err != nil {
		return nil, err
	}
	if key != nil && tokens.DPoPKey == nil {
		// The tokens being refreshed are bound: the provider does DPoP.
		return nil, fmt.Errorf("%w: token_type %q on refresh", ErrDPoPNotBound, tok.TokenType)
	}
	if tokens.RefreshToken == "" {
		tokens.RefreshToken = refreshToken // not rotated: the old one stays valid
	}
	if tokens.RawIDToken == "" {
		return tokens, nil
	}
	tokens.IDToken, err = rp.VerifyIDToken(ctx, tokens.RawIDToken, IDTokenChecks{AccessToken: tokens.AccessToken})
	if err != nil {
		return nil, err
	}
	if previousIDToken != "" {
		if err := sameLogin(previousIDToken, tokens.IDToken); err != nil {
			return nil, err
		}
	}
	return tokens, nil
}

// sameLogin checks an ID token issued on refresh against the one issued at
// login (OpenID Connect Core 12.2). The previous token was verified when it
// was issued, so its payload is only decoded here.
func sameLogin(previous string, next *IDToken) error {
	var prev jwt.Claims
	if err := decodePayload(previous, &prev); err != nil {
		return fmt.Errorf("previous ID token: %w", err)
	}
	switch {
	case prev.Issuer != next.Issuer:
		return fmt.Errorf("%w: %q after %q", ErrInvalidIssuer, next.Issuer, prev.Issuer)
	case prev.Subject != next.Subject:
		return fmt.Errorf("%w: %q after %q", ErrSubjectMismatch, next.Subject, prev.Subject)
	case !sameSet(prev.Audience, next.Audience):
		return fmt.Errorf("%w: audience changed on refresh", ErrInvalidAudience)
	case prev.AuthTime != nil && !next.AuthTime.IsZero() && !prev.AuthTime.Time().Equal(next.AuthTime):
		return fmt.Errorf("%w: auth_time changed on refresh", ErrAuthTime)
	case next.Nonce != "" && (prev.Nonce == nil || *prev.Nonce != next.Nonce):
		return fmt.Errorf("%w: nonce on refresh differs from the original", ErrInvalidNonce)
	}
	return nil
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, v := range a {
		if !slices.Contains(b, v) {
			return false
		}
	}
	return true
}

// decodePayload decodes the payload of a compact JWT without verifying it.
func decodePayload(raw string, v any) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("%w: not a compact JWS", ErrMalformedToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformedToken, err)
	}
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformedToken, err)
	}
	return nil
}
