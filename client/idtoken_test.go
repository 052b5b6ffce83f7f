package client_test

import (
	"errors"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestIDTokenViolations feeds, through the test provider, an ID token that
// breaks each check of OpenID Connect Core 3.1.3.7 and asserts its error.
func TestIDTokenViolations(t *testing.T) {
	past := time.Now().Add(-time.Hour).Unix()
	future := time.Now().Add(time.Hour).Unix()
	tests := []struct {
		name    string
		hooks   oidctest.Hooks
		cfg     func(*client.Config)
		req     client.AuthRequest
		want    error
		wantToo error // a second error the chain must also match
	}{
		{name: "valid"},
		{
			name:  "signed with alg none",
			hooks: oidctest.Hooks{IDTokenSigning: oidctest.SignNone},
			want:  client.ErrUnsupportedAlgorithm,
		},
		{
			name:  "HS256 not advertised",
			hooks: oidctest.Hooks{IDTokenSigning: oidctest.SignHS256},
			want:  client.ErrUnsupportedAlgorithm,
		},
		{
			name: "HS256 advertised but not enabled",
			hooks: oidctest.Hooks{
				IDTokenSigning: oidctest.SignHS256,
				Discovery:      advertiseAlgs("RS256", "HS256"),
			},
			want: client.ErrUnsupportedAlgorithm,
		},
		{
			name:  "alg not advertised",
			hooks: oidctest.Hooks{Discovery: advertiseAlgs("ES256")},
			want:  client.ErrUnsupportedAlgorithm,
		},
		{
			name:    "key outside the key set, known kid",
			hooks:   oidctest.Hooks{IDTokenSigning: oidctest.SignWrongKey},
			want:    client.ErrInvalidSignature,
			wantToo: discovery.ErrSignature,
		},
		{
			name:    "unknown kid",
			hooks:   oidctest.Hooks{IDTokenSigning: oidctest.SignUnknownKey},
			want:    client.ErrInvalidSignature,
			wantToo: discovery.ErrUnknownKey,
		},
		{
			name:  "corrupt signature",
			hooks: oidctest.Hooks{IDTokenSigning: oidctest.CorruptSignature},
			want:  client.ErrInvalidSignature,
		},
		{
			name:  "other issuer",
			hooks: oidctest.Hooks{IDToken: set("iss", "https://evil.example.com")},
			want:  client.ErrInvalidIssuer,
		},
		{
			name:  "other audience",
			hooks: oidctest.Hooks{IDToken: set("aud", "someone-else")},
			want:  client.ErrInvalidAudience,
		},
		{
			name:  "untrusted extra audience",
			hooks: oidctest.Hooks{IDToken: set("aud", []string{oidctest.DefaultClient.ID, "other"}, "azp", oidctest.DefaultClient.ID)},
			want:  client.ErrInvalidAudience,
		},
		{
			name:  "trusted extra audience",
			hooks: oidctest.Hooks{IDToken: set("aud", []string{oidctest.DefaultClient.ID, "api"}, "azp", oidctest.DefaultClient.ID)},
			cfg:   func(c *client.Config) { c.TrustedAudiences = []string{"api"} },
		},
		{
			name:  "several audiences without azp",
			hooks: oidctest.Hooks{IDToken: set("aud", []string{oidctest.DefaultClient.ID, "api"})},
			cfg:   func(c *client.Config) { c.TrustedAudiences = []string{"api"} },
			want:  client.ErrInvalidAuthorizedParty,
		},
		{
			name:  "azp of another client",
			hooks: oidctest.Hooks{IDToken: set("azp", "someone-else")},
			want:  client.ErrInvalidAuthorizedParty,
		},
		{
			name:  "expired",
			hooks: oidctest.Hooks{IDToken: set("exp", past)},
			want:  client.ErrExpired,
		},
		{
			name:  "no exp",
			hooks: oidctest.Hooks{IDToken: del("exp")},
			want:  client.ErrExpired,
		},
		{
			name:  "expired within clock skew",
			hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["exp"] = time.Now().Add(-20 * time.Second).Unix() }},
		},
		{
			name:  "issued in the future",
			hooks: oidctest.Hooks{IDToken: set("iat", future)},
			want:  client.ErrIssuedInFuture,
		},
		{
			name:  "not yet valid",
			hooks: oidctest.Hooks{IDToken: set("nbf", future)},
			want:  client.ErrNotYetValid,
		},
		{
			name:  "not yet valid, within clock skew",
			hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["nbf"] = time.Now().Add(20 * time.Second).Unix() }},
		},
		{
			name:  "nbf not a number",
			hooks: oidctest.Hooks{IDToken: set("nbf", "soon")},
			want:  client.ErrMalformedToken,
		},
		{
			name:  "no iat",
			hooks: oidctest.Hooks{IDToken: del("iat")},
			want:  client.ErrMalformedToken,
		},
		{
			name:  "other nonce",
			hooks: oidctest.Hooks{IDToken: set("nonce", "not-the-nonce-we-sent")},
			want:  client.ErrInvalidNonce,
		},
		{
			name:  "no nonce",
			hooks: oidctest.Hooks{IDToken: del("nonce")},
			want:  client.ErrInvalidNonce,
		},
		{
			name:  "no sub",
			hooks: oidctest.Hooks{IDToken: del("sub")},
			want:  client.ErrMissingSubject,
		},
		{
			name:  "at_hash of another token",
			hooks: oidctest.Hooks{IDToken: set("at_hash", "bm90IHRoZSBoYXNoIGF0IGFsbA")},
			want:  client.ErrAccessTokenHash,
		},
		{
			name:  "no at_hash is fine",
			hooks: oidctest.Hooks{IDToken: del("at_hash")},
		},
		{
			name:  "max_age sent, no auth_time",
			hooks: oidctest.Hooks{IDToken: del("auth_time")},
			req:   client.AuthRequest{MaxAge: time.Minute},
			want:  client.ErrAuthTime,
		},
		{
			name:  "max_age sent, auth_time too old",
			hooks: oidctest.Hooks{IDToken: set("auth_time", past)},
			req:   client.AuthRequest{MaxAge: time.Minute},
			want:  client.ErrAuthTime,
		},
		{
			name:  "max_age not sent, old auth_time is fine",
			hooks: oidctest.Hooks{IDToken: set("auth_time", past)},
		},
		{
			name:  "auth_time not a number",
			hooks: oidctest.Hooks{IDToken: set("auth_time", "yesterday")},
			want:  client.ErrMalformedToken,
		},
		{
			name:  "aud not a string",
			hooks: oidctest.Hooks{IDToken: set("aud", 42)},
			want:  client.ErrMalformedToken,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, rp := newRP(t, oidctest.Config{}, tt.cfg)
			op.SetHooks(tt.hooks)
			if tt.hooks.Discovery != nil {
				if _, err := rp.Provider().Refresh(testContext(t)); err != nil {
					t.Fatal(err)
				}
			}
			tokens, err := login(t, rp, tt.req)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("login: %v", err)
				}
				if tokens.IDToken.Subject != oidctest.DefaultUser.Subject {
					t.Fatalf("sub = %q", tokens.IDToken.Subject)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.wantToo != nil && !errors.Is(err, tt.wantToo) {
				t.Fatalf("err = %v, want it to match %v too", err, tt.wantToo)
			}
			if tokens != nil {
				t.Fatalf("tokens returned with an error")
			}
		})
	}
}

func TestHMACSignaturesWhenEnabled(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.HMACSignatures = true })
	op.SetHooks(oidctest.Hooks{IDTokenSigning: oidctest.SignHS256, Discovery: advertiseAlgs("RS256", "HS256")})
	// The discovery document was fetched before the hook; fetch it again.
	if _, err := rp.Provider().Refresh(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, rp, client.AuthRequest{}); err != nil {
		t.Fatalf("login with HS256 ID token: %v", err)
	}
}

func TestSigningAlgorithms(t *testing.T) {
	for _, alg := range []string{"RS256", "RS512", "PS256", "ES256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			_, rp := newRP(t, oidctest.Config{SigningAlg: alg}, nil)
			tokens, err := login(t, rp, client.AuthRequest{})
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if tokens.IDToken.AccessTokenHash == "" {
				t.Fatal("at_hash not checked: absent")
			}
		})
	}
}

func TestKeyRotation(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	if _, err := login(t, rp, client.AuthRequest{}); err != nil {
		t.Fatal(err)
	}
	op.RotateKeys()
	if _, err := login(t, rp, client.AuthRequest{}); err != nil {
		t.Fatalf("login after key rotation: %v", err)
	}
}

func TestIDTokenClaims(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, nil)
	tokens, err := login(t, rp, client.AuthRequest{MaxAge: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	if err := tokens.IDToken.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	id := tokens.IDToken
	switch {
	case claims.Name != "Alice Example" || claims.Email != "alice@example.com":
		t.Errorf("claims = %+v", claims)
	case id.SessionID == "" || id.AuthTime.IsZero() || id.Nonce == "" || id.Issuer == "":
		t.Errorf("id token fields missing: %+v", id)
	case len(id.RawClaims()) == 0:
		t.Error("RawClaims empty")
	}
}

func advertiseAlgs(algs ...string) func(map[string]any) {
	return func(doc map[string]any) { doc["id_token_signing_alg_values_supported"] = algs }
}

// set returns a hook that sets claims, given as name, value pairs.
func set(kv ...any) func(map[string]any) {
	return func(c map[string]any) {
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
	}
}

// del returns a hook that deletes claims.
func del(names ...string) func(map[string]any) {
	return func(c map[string]any) {
		for _, n := range names {
			delete(c, n)
		}
	}
}

// TestTokenErrorsMatchUmbrella checks that every token-check error matches
// ErrInvalidToken, and that errors of another kind do not.
func TestTokenErrorsMatchUmbrella(t *testing.T) {
	for _, err := range []error{
		client.ErrMalformedToken, client.ErrUnsupportedAlgorithm, client.ErrInvalidSignature,
		client.ErrInvalidIssuer, client.ErrInvalidAudience, client.ErrInvalidAuthorizedParty,
		client.ErrExpired, client.ErrNotYetValid, client.ErrIssuedInFuture, client.ErrInvalidNonce,
		client.ErrMissingSubject, client.ErrAccessTokenHash, client.ErrAuthTime, client.ErrSubjectMismatch,
		client.ErrInvalidTokenType, client.ErrLogoutEvent, client.ErrLogoutNonce, client.ErrLogoutSubject,
	} {
		if !errors.Is(err, client.ErrInvalidToken) {
			t.Errorf("%v does not match ErrInvalidToken", err)
		}
		if errors.Is(client.ErrInvalidToken, err) {
			t.Errorf("ErrInvalidToken matches %v", err)
		}
	}
	for _, err := range []error{client.ErrProviderUnavailable, client.ErrInvalidGrant, client.ErrStateMismatch} {
		if errors.Is(err, client.ErrInvalidToken) {
			t.Errorf("%v matches ErrInvalidToken", err)
		}
	}
	if errors.Is(client.ErrExpired, client.ErrMalformedToken) {
		t.Error("sentinels match each other")
	}
}
