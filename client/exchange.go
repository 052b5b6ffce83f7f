package client

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Token exchange (RFC 8693): the client trades a token it holds, such as
// the access token a user called it with, for a token for another audience,
// to call a downstream API on the user's behalf.

// Token type identifiers (RFC 8693 section 3).
const (
	TokenTypeAccessToken  = "urn:ietf:params:oauth:token-type:access_token"
	TokenTypeRefreshToken = "urn:ietf:params:oauth:token-type:refresh_token"
	TokenTypeIDToken      = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeJWT          = "urn:ietf:params:oauth:token-type:jwt"
)

// exchangeGrantType is the grant_type of RFC 8693 section 2.1.
const exchangeGrantType = "urn:ietf:params:oauth:grant-type:token-exchange"

// ExchangeRequest holds the parameters of a token exchange request (RFC
// 8693 section 2.1). SubjectToken is required.
type ExchangeRequest struct {
	// SubjectToken is the token to exchange: whom the new token acts for.
	SubjectToken string

	// SubjectTokenType says what SubjectToken is. If empty,
	// TokenTypeAccessToken; TokenTypeIDToken for an ID token.
	SubjectTokenType string

	// ActorToken, if set, is the token of the party acting for the subject
	// (delegation, RFC 8693 section 1.1), of ActorTokenType (if empty,
	// TokenTypeAccessToken).
	ActorToken     string
	ActorTokenType string

	// RequestedTokenType is the type of token wanted. If empty, none is
	// sent: the provider's choice, usually an access token.
	RequestedTokenType string

	// Audiences name the services the new token is for (audience), and
	// Resources their URIs (resource; absolute, without a fragment). If
	// both are empty, the provider's default.
	Audiences []string
	Resources []string

	// Scopes are the scopes asked for. If empty, none is sent.
	Scopes []string

	// Extra holds further parameters. It cannot set one the client sets
	// itself.
	Extra url.Values
}

// ExchangedToken is a token exchange response (RFC 8693 section 2.2.1).
// Its String, GoString and LogValue methods redact the tokens.
type ExchangedToken struct {
	// Token is the issued token (the response's access_token member, which
	// holds it whatever its type).
	Token string

	// IssuedTokenType is its type, such as TokenTypeAccessToken.
	IssuedTokenType string

	// TokenType is how to use it: "Bearer" for an access token, "N_A"
	// when it is not one.
	TokenType string

	Expiry       time.Time // zero when the provider did not say, by Config.Now
	Scope        string    // the granted scope, when the provider says
	RefreshToken string    // rarely issued; "" when none
}

// OAuth2 returns the token as an *oauth2.Token, for an oauth2.Transport.
func (t *ExchangedToken) OAuth2() *oauth2.Token {
	return &oauth2.Token{AccessToken: t.Token, TokenType: t.TokenType, RefreshToken: t.RefreshToken, Expiry: t.Expiry}
}

// String describes the token without revealing it.
func (t ExchangedToken) String() string {
	return fmt.Sprintf("client.ExchangedToken{IssuedTokenType:%s TokenType:%s Expiry:%s Scope:%q Token:%s RefreshToken:%s}",
		t.IssuedTokenType, t.TokenType, t.Expiry.Format(time.RFC3339), t.Scope, redacted(t.Token), redacted(t.RefreshToken))
}

// GoString is String, so that %#v redacts too.
func (t ExchangedToken) GoString() string { return t.String() }

// LogValue describes the token in structured logs without revealing it.
func (t ExchangedToken) LogValue() slog.Value { return slog.StringValue(t.String()) }

// ExchangeToken exchanges req.SubjectToken at the token endpoint (RFC 8693
// section 2.1), authenticating as Config.AuthMethod says. It needs no
// RedirectURL. The response must name the issued token's type, and, when
// req asked for one, that type; a "Bearer" token_type is normalized. It
// fails with ErrInvalidConfig for a malformed request, a *TokenError when
// the provider refuses (ErrInvalidTarget for an audience or resource it
// will not serve, ErrInvalidGrant for a subject token it does not accept),
// ErrProviderUnavailable or ErrProviderResponse.
func (rp *RP) ExchangeToken(ctx context.Context, req ExchangeRequest) (*ExchangedToken, error) {
	if req.SubjectToken == "" {
		return nil, fmt.Errorf("%w: ExchangeRequest.SubjectToken is empty", ErrInvalidConfig)
	}
	form := url.Values{
		"grant_type":         {exchangeGrantType},
		"subject_token":      {req.SubjectToken},
		"subject_token_type": {cmp.Or(req.SubjectTokenType, TokenTypeAccessToken)},
	}
	if req.ActorToken != "" {
		form.Set("actor_token", req.ActorToken)
		form.Set("actor_token_type", cmp.Or(req.ActorTokenType, TokenTypeAccessToken))
	} else if req.ActorTokenType != "" {
		return nil, fmt.Errorf("%w: ActorTokenType without an ActorToken", ErrInvalidConfig)
	}
	if req.RequestedTokenType != "" {
		form.Set("requested_token_type", req.RequestedTokenType)
	}
	if err := targetParams(form, req.Scopes, req.Audiences, req.Resources, req.Extra); err != nil {
		return nil, err
	}
	tok, err := rp.tokenRequest(ctx, form)
	if err != nil {
		return nil, err
	}
	return rp.exchangedToken(tok, req.RequestedTokenType)
}

// exchangedToken checks a token exchange response: issued_token_type
// present (RFC 8693 section 2.2.1) and, when one was requested, the one
// requested.
func (rp *RP) exchangedToken(tok *tokenResponse, requested string) (*ExchangedToken, error) {
	switch {
	case tok.IssuedTokenType == "":
		return nil, fmt.Errorf("%w: no issued_token_type in the token exchange response", ErrProviderResponse)
	case requested != "" && tok.IssuedTokenType != requested:
		return nil, fmt.Errorf("%w: issued_token_type %q, requested %q", ErrProviderResponse, tok.IssuedTokenType, requested)
	}
	t := &ExchangedToken{
		Token:           tok.AccessToken,
		IssuedTokenType: tok.IssuedTokenType,
		TokenType:       tok.TokenType,
		Scope:           tok.Scope,
		RefreshToken:    tok.RefreshToken,
	}
	if strings.EqualFold(t.TokenType, "Bearer") {
		t.TokenType = "Bearer"
	}
	if tok.ExpiresIn > 0 {
		t.Expiry = rp.cfg.Now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return t, nil
}
