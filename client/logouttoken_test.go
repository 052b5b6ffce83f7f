package client_test

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestLogoutTokenViolations feeds a logout token breaking each check of
// Back-Channel Logout 1.0 section 2.6 and asserts its error.
func TestLogoutTokenViolations(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	id := oidctest.DefaultClient.ID
	token := func(sub, sid string, edit func(map[string]any)) string { return op.LogoutToken(id, sub, sid, edit) }
	now := time.Now()
	tests := []struct {
		name string
		raw  string
		want error
	}{
		{"valid with sub and sid", token("alice", "s1", nil), nil},
		{"valid with sid only", token("", "s1", nil), nil},
		{"valid with sub only", token("alice", "", nil), nil},
		{"valid without exp", token("alice", "s1", del("exp")), nil},
		{"no events", token("alice", "s1", del("events")), client.ErrLogoutEvent},
		{"other event", token("alice", "s1", set("events", map[string]any{"urn:other": map[string]any{}})), client.ErrLogoutEvent},
		{"event not an object", token("alice", "s1", set("events", map[string]any{client.BackchannelLogoutEvent: "yes"})), client.ErrLogoutEvent},
		{"events not an object", token("alice", "s1", set("events", []string{client.BackchannelLogoutEvent})), client.ErrMalformedToken},
		{"nonce", token("alice", "s1", set("nonce", "n")), client.ErrLogoutNonce},
		{"neither sid nor sub", token("", "", nil), client.ErrLogoutSubject},
		{"no jti", token("alice", "s1", del("jti")), client.ErrMalformedToken},
		{"other issuer", token("alice", "s1", set("iss", "https://evil.example.com")), client.ErrInvalidIssuer},
		{"other audience", token("alice", "s1", set("aud", "other")), client.ErrInvalidAudience},
		{"no iat", token("alice", "s1", del("iat")), client.ErrMalformedToken},
		{"iat in the future", token("alice", "s1", set("iat", now.Add(time.Hour).Unix())), client.ErrIssuedInFuture},
		{"not yet valid", token("alice", "s1", set("nbf", now.Add(time.Hour).Unix())), client.ErrNotYetValid},
		{"nbf within clock skew", token("alice", "s1", set("nbf", now.Add(20*time.Second).Unix())), nil},
		{"expired", token("alice", "s1", set("exp", now.Add(-time.Hour).Unix())), client.ErrExpired},
		{"old, without exp", token("alice", "s1", func(c map[string]any) { delete(c, "exp"); c["iat"] = now.Add(-time.Hour).Unix() }), client.ErrExpired},
		{"typed as an access token", op.SignJWT(map[string]any{"iss": op.URL, "aud": id, "iat": now.Unix(), "jti": "j", "sub": "alice",
			"events": map[string]any{client.BackchannelLogoutEvent: map[string]any{}}}, "at+jwt"), client.ErrInvalidTokenType},
		{"alg none", unsignedJWT(`{"iss":"` + op.URL + `","aud":"` + id + `","sub":"alice"}`), client.ErrUnsupportedAlgorithm},
		{"bad signature", corrupt(token("alice", "s1", nil)), client.ErrInvalidSignature},
		{"not a JWT", "logout", client.ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lt, err := rp.VerifyLogoutToken(testContext(t), tt.raw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil && (lt.JTI == "" || lt.Issuer != op.URL || lt.Expiry.IsZero() || (lt.Subject == "" && lt.SessionID == "")) {
				t.Fatalf("token = %+v", lt)
			}
			if err == nil {
				var c map[string]any
				if err := lt.Claims(&c); err != nil || c["events"] == nil {
					t.Fatalf("Claims: %v %v", c, err)
				}
			}
		})
	}
}

func unsignedJWT(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(payload)) + "."
}

func corrupt(jwt string) string {
	i := strings.LastIndexByte(jwt, '.') + 3
	c := byte('A')
	if jwt[i] == 'A' {
		c = 'B'
	}
	return jwt[:i] + string(c) + jwt[i+1:]
}

func TestRevoke(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{AlwaysIssueRefreshToken: true}, nil)
	tokens, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := rp.Revoke(testContext(t), tokens.RefreshToken, "refresh_token"); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	if _, err := rp.Refresh(testContext(t), tokens.RefreshToken, ""); !errors.Is(err, client.ErrInvalidGrant) {
		t.Fatalf("refresh with a revoked token: %v", err)
	}
	if got := op.Stats().Revocations; got != 1 {
		t.Fatalf("provider saw %d revocations", got)
	}
	op.SetDown(true)
	if err := rp.Revoke(testContext(t), "x", ""); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("provider down: %v", err)
	}
	op.SetDown(false)
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { delete(d, "revocation_endpoint") }})
	rp.Provider().Refresh(testContext(t))
	if err := rp.Revoke(testContext(t), "x", ""); !errors.Is(err, client.ErrNoEndpoint) {
		t.Fatalf("no endpoint: %v", err)
	}
}

func TestRevokeAuthMethods(t *testing.T) {
	for _, tt := range []struct {
		name   string
		c      oidctest.Client
		method client.AuthMethod
		secret string
		ok     bool
	}{
		{"public", oidctest.Client{ID: "pub"}, "", "", true},
		{"post", oidctest.DefaultClient, client.AuthClientSecretPost, oidctest.DefaultClient.Secret, true},
		{"wrong secret", oidctest.DefaultClient, client.AuthClientSecretBasic, "wrong", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, rp := newRP(t, oidctest.Config{Clients: []oidctest.Client{tt.c}}, func(c *client.Config) {
				c.ClientID, c.ClientSecret, c.AuthMethod = tt.c.ID, tt.secret, tt.method
			})
			err := rp.Revoke(testContext(t), "some-token", "")
			var te *client.TokenError
			if tt.ok && err != nil || !tt.ok && (!errors.As(err, &te) || te.Code != "invalid_client") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
