package client_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestExchangeToken: the user's access token, or ID token, for a token of
// another audience, with the scopes and token type asked for.
func TestExchangeToken(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.Scopes = []string{"openid", "profile", "read"} })
	user, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		req      client.ExchangeRequest
		wantType string
		wantAud  any
		scope    string
	}{
		{"access token for an audience", client.ExchangeRequest{SubjectToken: user.AccessToken, Audiences: []string{"api-b"}, Scopes: []string{"read"}},
			client.TokenTypeAccessToken, "api-b", "read"},
		{"access token for a resource", client.ExchangeRequest{SubjectToken: user.AccessToken, Resources: []string{"https://b.example/api"}},
			client.TokenTypeAccessToken, "https://b.example/api", "openid profile read"},
		{"ID token, JWT asked for", client.ExchangeRequest{SubjectToken: user.RawIDToken, SubjectTokenType: client.TokenTypeIDToken,
			RequestedTokenType: client.TokenTypeJWT, Audiences: []string{"api-c"}}, client.TokenTypeJWT, "api-c", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := rp.ExchangeToken(testContext(t), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			claims := accessTokenClaims(t, tok.Token)
			if tok.IssuedTokenType != tt.wantType || tok.TokenType != "Bearer" || tok.Scope != tt.scope || tok.Expiry.IsZero() ||
				claims["aud"] != tt.wantAud || claims["sub"] != user.IDToken.Subject {
				t.Errorf("token %v, claims %v", tok, claims)
			}
			if strings.Contains(fmt.Sprint(tok), tok.Token) || strings.Contains(fmt.Sprintf("%#v", tok), tok.Token) {
				t.Error("the token is printed")
			}
		})
	}
	if n := op.Stats().TokenExchanges; n != len(tests) {
		t.Errorf("TokenExchanges = %d, want %d", n, len(tests))
	}
}

func TestExchangeTokenErrors(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	user, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var te *client.TokenError
	if _, err := rp.ExchangeToken(testContext(t), client.ExchangeRequest{}); !errors.Is(err, client.ErrInvalidConfig) {
		t.Errorf("no subject token: %v, want ErrInvalidConfig", err)
	}
	if _, err := rp.ExchangeToken(testContext(t), client.ExchangeRequest{SubjectToken: "x", ActorTokenType: client.TokenTypeJWT}); !errors.Is(err, client.ErrInvalidConfig) {
		t.Errorf("actor type without token: %v, want ErrInvalidConfig", err)
	}
	if _, err := rp.ExchangeToken(testContext(t), client.ExchangeRequest{SubjectToken: "forged"}); !errors.Is(err, client.ErrInvalidGrant) || !errors.As(err, &te) {
		t.Errorf("forged subject token: %v, want ErrInvalidGrant", err)
	}
	op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return http.StatusBadRequest, "invalid_target" }})
	if _, err := rp.ExchangeToken(testContext(t), client.ExchangeRequest{SubjectToken: user.AccessToken, Audiences: []string{"nobody"}}); !errors.Is(err, client.ErrInvalidTarget) {
		t.Errorf("refused audience: %v, want ErrInvalidTarget", err)
	}
	op.SetHooks(oidctest.Hooks{TokenResponse: func(gt string, resp map[string]any) { delete(resp, "issued_token_type") }})
	if _, err := rp.ExchangeToken(testContext(t), client.ExchangeRequest{SubjectToken: user.AccessToken}); !errors.Is(err, client.ErrProviderResponse) {
		t.Errorf("no issued_token_type: %v, want ErrProviderResponse", err)
	}
	op.SetHooks(oidctest.Hooks{TokenResponse: func(gt string, resp map[string]any) { resp["issued_token_type"] = client.TokenTypeIDToken }})
	if _, err := rp.ExchangeToken(testContext(t), client.ExchangeRequest{SubjectToken: user.AccessToken, RequestedTokenType: client.TokenTypeAccessToken}); !errors.Is(err, client.ErrProviderResponse) {
		t.Errorf("another type than requested: %v, want ErrProviderResponse", err)
	}
	op.SetHooks(oidctest.Hooks{})
	rp.Revoke(testContext(t), user.AccessToken, "access_token")
	if _, err := rp.ExchangeToken(testContext(t), client.ExchangeRequest{SubjectToken: user.AccessToken}); !errors.Is(err, client.ErrInvalidGrant) {
		t.Errorf("revoked subject token: %v, want ErrInvalidGrant", err)
	}
}
