package client

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/httpx"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// AuthResponse is the query of the redirect back from the provider (RFC 6749
// section 4.1.2, RFC 9207), as ParseAuthResponse reads it.
type AuthResponse struct {
	Code   string
	State  string
	Issuer string     // the iss parameter, "" when absent
	Error  *AuthError // set for an error response
}

// ParseAuthResponse reads the callback query. It rejects a query that
// repeats a parameter (RFC 6749 section 3.1) with ErrMalformedResponse. It
// does not check the values; Callback does.
func ParseAuthResponse(query url.Values) (*AuthResponse, error) {
	one := func(name string) (string, error) {
		v := query[name]
		switch len(v) {
		case 0:
			return "", nil
		case 1:
			return v[0], nil
		default:
			return "", fmt.Errorf("%w: %s repeated", ErrMalformedResponse, name)
		}
	}
	var r AuthResponse
	var errCode, errDesc, errURI string
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"code", &r.Code}, {"state", &r.State}, {"iss", &r.Issuer},
		{"error", &errCode}, {"error_description", &errDesc}, {"error_uri", &errURI},
	} {
		v, err := one(f.name)
		if err != nil {
			return nil, err
		}
		*f.dst = v
	}
	if errCode != "" {
		r.Error = &AuthError{Code: errCode, Description: errDesc, URI: errURI}
	}
	return &r, nil
}

// CheckAuthResponse reads the callback query (ParseAuthResponse) and makes
// the checks that need no Flow: no repeated parameter (ErrMalformedResponse)
// and the iss parameter, which must be the issuer when present or when the
// provider advertises it (RFC 9207: ErrResponseIssuer, ErrMissingIssuer).
// Callback makes them first; a caller may make them before it spends
// anything on the response, such as the one use of a login attempt.
func (rp *RP) CheckAuthResponse(query url.Values) (*AuthResponse, error) {
	resp, err := ParseAuthResponse(query)
	if err != nil {
		return nil, err
	}
	md := rp.provider.Metadata()
	switch {
	case resp.Issuer != "":
		if !rp.responseIssuer(resp.Issuer, md) {
			return nil, fmt.Errorf("%w: %q", ErrResponseIssuer, resp.Issuer)
		}
	case md.AuthorizationResponseISSParameterSupported:
		return nil, ErrMissingIssuer
	}
	return resp, nil
}

// Callback completes the login: it checks the authorization response in
// query against flow, exchanges the code (with the PKCE verifier) and
// verifies the ID token. In order:
//   - the iss parameter, when present or when the provider advertises it,
//     must be the issuer (RFC 9207): ErrResponseIssuer, ErrMissingIssuer;
//   - state must equal flow.State, compared in constant time: ErrStateMismatch;
//   - an error response yields an *AuthError;
//   - the code is exchanged: *TokenError, ErrProviderUnavailable, ErrProviderResponse;
//   - the response must be a Bearer token with an ID token: ErrProviderResponse;
//     with flow.DPoPKey (Config.DPoP), the code exchange carries a DPoP
//     proof, and the token must be a DPoP token when the provider
//     advertises DPoP: ErrDPoPNotBound;
//   - the ID token is verified with flow's nonce and max_age and the access
//     token's hash (see VerifyIDToken).
func (rp *RP) Callback(ctx context.Context, flow Flow, query url.Values) (*Tokens, error) {
	if rp.cfg.RedirectURL == "" {
		return nil, errNoRedirectURL
	}
	resp, err := rp.CheckAuthResponse(query)
	if err != nil {
		return nil, err
	}
	if flow.State == "" || subtle.ConstantTimeCompare([]byte(resp.State), []byte(flow.State)) != 1 {
		return nil, ErrStateMismatch
	}
	if resp.Error != nil {
		return nil, resp.Error
	}
	if resp.Code == "" {
		return nil, ErrMissingCode
	}
	tok, err := rp.tokenRequestDPoP(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {resp.Code},
		"redirect_uri":  {rp.cfg.RedirectURL},
		"code_verifier": {flow.Verifier},
	}, flow.DPoPKey)
	if err != nil {
		return nil, err
	}
	tokens, err := rp.newBoundTokens(tok, flow.DPoPKey)
	if err != nil {
		return nil, err
	}
	if rp.cfg.ResponseClaims != nil {
		if tokens.ResponseClaims, err = rp.cfg.ResponseClaims(query); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
		}
	}
	if o := rp.cfg.OAuth2; o != nil {
		// No ID token: the provider's API says who the user is.
		start := time.Now()
		tokens.Identity, err = o.Identity(ctx, rp.httpClient(), tokens.AccessToken)
		if err != nil {
			err = identityError(err)
		}
		rp.called(ctx, "identity", "", start, &err)
		if err != nil {
			return nil, err
		}
		if tokens.Identity == nil || tokens.Identity.Subject == "" {
			return nil, fmt.Errorf("%w: the provider's API named no user", ErrProviderResponse)
		}
		return tokens, nil
	}
	if tokens.RawIDToken == "" {
		return nil, fmt.Errorf("%w: no id_token in the token response", ErrProviderResponse)
	}
	tokens.IDToken, err = rp.VerifyIDToken(ctx, tokens.RawIDToken, IDTokenChecks{
		Nonce:       flow.Nonce,
		MaxAge:      flow.MaxAge,
		AccessToken: tokens.AccessToken,
	})
	if err != nil {
		return nil, err
	}
	return tokens, nil
}

// Tokens are what the token endpoint issued, with the ID token verified.
// Its String, GoString and LogValue methods redact the tokens.
type Tokens struct {
	AccessToken  string
	TokenType    string    // "Bearer", or "DPoP" (see DPoPKey)
	RefreshToken string    // "" when none was issued
	Expiry       time.Time // of the access token; zero when the provider did not say
	Scope        string    // the granted scope, when the provider says (RFC 6749 section 5.1)

	RawIDToken string   // the compact ID token, for id_token_hint at logout
	IDToken    *IDToken // verified; nil after a refresh that returned no ID token

	// DPoPKey is the key the tokens are bound to (RFC 9449) when
	// TokenType is "DPoP": refresh them and call APIs with it
	// (RefreshDPoP, UserInfoDPoP, DPoPRoundTrip). Nil for Bearer tokens.
	DPoPKey *DPoPKey

	// Identity is who the user is, from an OAuth 2.0 provider's API
	// (Config.OAuth2), at login: such providers issue no ID token.
	Identity *Identity

	// ResponseClaims are the claims Config.ResponseClaims read from the
	// authorization response, at login; nil without.
	ResponseClaims json.RawMessage
}

// newTokens checks a token response of a Bearer token and reads it. The
// access token's expiry is counted from expires_in by the client's clock
// (Config.Now), the clock every other check of the client uses.
func (rp *RP) newTokens(t *tokenResponse) (*Tokens, error) {
	return rp.newBoundTokens(t, nil)
}

// newBoundTokens is newTokens for a request that sent DPoP proofs signed
// with key, when key is not nil: the token must be of type DPoP when the
// provider advertises DPoP (else ErrDPoPNotBound), and a Bearer token from
// one that does not is taken unbound (Tokens.DPoPKey nil). A DPoP token
// without a key is refused: it cannot be used.
func (rp *RP) newBoundTokens(t *tokenResponse, key *DPoPKey) (*Tokens, error) {
	tokens := &Tokens{
		AccessToken:  t.AccessToken,
		TokenType:    "Bearer",
		RefreshToken: t.RefreshToken,
		Scope:        t.Scope,
		RawIDToken:   t.IDToken,
	}
	switch {
	case key != nil && strings.EqualFold(t.TokenType, "DPoP"):
		tokens.TokenType, tokens.DPoPKey = "DPoP", key
	case key != nil && strings.EqualFold(t.TokenType, "Bearer") && len(rp.provider.Metadata().DPoPSigningAlgValuesSupported) > 0:
		return nil, fmt.Errorf("%w: token_type %q", ErrDPoPNotBound, t.TokenType)
	case !strings.EqualFold(t.TokenType, "Bearer"):
		want := "Bearer"
		if key != nil {
			want = "DPoP"
		}
		return nil, fmt.Errorf("%w: token_type %q, want %s", ErrProviderResponse, t.TokenType, want)
	}
	if t.ExpiresIn > 0 {
		tokens.Expiry = rp.cfg.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
	}
	return tokens, nil
}

// OAuth2 returns the tokens as an *oauth2.Token, with the raw ID token as its
// "id_token" extra.
func (t *Tokens) OAuth2() *oauth2.Token {
	tok := &oauth2.Token{
		AccessToken:  t.AccessToken,
		TokenType:    t.TokenType,
		RefreshToken: t.RefreshToken,
		Expiry:       t.Expiry,
	}
	if t.RawIDToken != "" {
		tok = tok.WithExtra(map[string]any{"id_token": t.RawIDToken})
	}
	return tok
}

// String describes the tokens without revealing them.
func (t Tokens) String() string {
	sub := ""
	if t.IDToken != nil {
		sub = t.IDToken.Subject
	}
	return fmt.Sprintf("client.Tokens{TokenType:%s Expiry:%s Subject:%q AccessToken:%s RefreshToken:%s RawIDToken:%s}",
		t.TokenType, t.Expiry.Format(time.RFC3339), sub,
		redacted(t.AccessToken), redacted(t.RefreshToken), redacted(t.RawIDToken))
}

// GoString is String, so that %#v redacts too.
func (t Tokens) GoString() string { return t.String() }

// LogValue describes the tokens in structured logs without revealing them.
func (t Tokens) LogValue() slog.Value {
	return slog.StringValue(t.String())
}

// responseIssuer reports whether iss, the iss parameter of an authorization
// response, names this provider: its issuer, or for a multi-tenant one, the
// issuer of an allowed tenant.
func (rp *RP) responseIssuer(iss string, md *discovery.Metadata) bool {
	if mt := rp.cfg.MultiTenant; mt != nil {
		return mt.allows(iss, mt.tenantOf(iss))
	}
	return iss == md.Issuer || iss == rp.cfg.Issuer
}

// IsIssuer reports whether iss names this provider: its issuer or one of
// its IssuerAliases, or for a multi-tenant provider, the issuer of an
// allowed tenant. An app with several providers finds a token's or a
// session's provider with it.
func (rp *RP) IsIssuer(iss string) bool {
	return iss != "" && (rp.responseIssuer(iss, rp.provider.Metadata()) || slices.Contains(rp.cfg.IssuerAliases, iss))
}

// httpClient is the client the RP calls a provider's APIs with: the
// configured one (or one with a timeout), holding redirects to the same
// origin.
func (rp *RP) httpClient() *http.Client { return httpx.Policy{}.Client(rp.cfg.HTTPClient) }

// identityError classifies a failure of OAuth2Provider.Identity: the
// provider unreachable or failing is ErrProviderUnavailable; an
// access token the API refused, ErrAccessTokenRejected; anything else,
// ErrProviderResponse.
func identityError(err error) error {
	switch {
	case errors.Is(err, ErrProviderUnavailable), errors.Is(err, ErrProviderResponse), errors.Is(err, ErrAccessTokenRejected):
		return err
	default:
		return providerError(err)
	}
}
