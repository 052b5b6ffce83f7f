package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestUserInfo(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	tokens, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	info, err := rp.UserInfo(ctx, tokens.AccessToken, tokens.IDToken.Subject)
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	var claims struct{ Email string }
	if err := info.Claims(&claims); err != nil || claims.Email != "alice@example.com" || info.Subject != "alice" {
		t.Fatalf("claims = %+v, %v", claims, err)
	}
	if len(info.RawClaims()) == 0 {
		t.Fatal("RawClaims empty")
	}

	t.Run("other subject", func(t *testing.T) {
		op.SetHooks(oidctest.Hooks{UserInfo: set("sub", "mallory")})
		defer op.SetHooks(oidctest.Hooks{})
		if _, err := rp.UserInfo(ctx, tokens.AccessToken, "alice"); !errors.Is(err, client.ErrUserInfoSubject) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no subject", func(t *testing.T) {
		op.SetHooks(oidctest.Hooks{UserInfo: del("sub")})
		defer op.SetHooks(oidctest.Hooks{})
		if _, err := rp.UserInfo(ctx, tokens.AccessToken, "alice"); !errors.Is(err, client.ErrUserInfoSubject) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("rejected token", func(t *testing.T) {
		if _, err := rp.UserInfo(ctx, "not-a-token", "alice"); !errors.Is(err, client.ErrAccessTokenRejected) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("provider down", func(t *testing.T) {
		op.SetDown(true)
		defer op.SetDown(false)
		if _, err := rp.UserInfo(ctx, tokens.AccessToken, "alice"); !errors.Is(err, client.ErrProviderUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("no endpoint", func(t *testing.T) {
		op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { delete(d, "userinfo_endpoint") }})
		defer op.SetHooks(oidctest.Hooks{})
		rp.Provider().Refresh(ctx)
		defer rp.Provider().Refresh(ctx)
		if _, err := rp.UserInfo(ctx, tokens.AccessToken, "alice"); !errors.Is(err, client.ErrNoEndpoint) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSignedUserInfo serves userinfo as a JWT signed by the provider's key.
func TestSignedUserInfo(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	signed := map[string]string{}
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwt")
		w.Write([]byte(signed[r.URL.Path]))
	}))
	defer ui.Close()
	md := &discovery.Metadata{
		Issuer: op.URL, AuthorizationEndpoint: op.URL + "/authorize", TokenEndpoint: op.URL + "/token",
		JWKSURI: op.URL + "/jwks", UserinfoEndpoint: ui.URL + "/ok",
	}
	newRPFor := func(path string) *client.RP {
		m := *md
		m.UserinfoEndpoint = ui.URL + path
		p, err := discovery.NewStatic(&m, discovery.Config{})
		if err != nil {
			t.Fatal(err)
		}
		rp, err := client.New(testContext(t), client.Config{Provider: p, ClientID: oidctest.DefaultClient.ID, RedirectURL: "http://127.0.0.1/cb"})
		if err != nil {
			t.Fatal(err)
		}
		return rp
	}
	id := oidctest.DefaultClient.ID
	signed["/ok"] = op.SignJWT(map[string]any{"sub": "alice", "iss": op.URL, "aud": id, "email": "a@example.com"}, "JWT")
	signed["/other-aud"] = op.SignJWT(map[string]any{"sub": "alice", "aud": "other"}, "JWT")
	signed["/other-iss"] = op.SignJWT(map[string]any{"sub": "alice", "iss": "https://evil.example.com"}, "JWT")
	signed["/garbled"] = "not.a.jwt"
	tests := []struct {
		path string
		want error
	}{
		{"/ok", nil},
		{"/other-aud", client.ErrInvalidAudience},
		{"/other-iss", client.ErrInvalidIssuer},
		{"/garbled", client.ErrMalformedToken},
	}
	for _, tt := range tests {
		_, err := newRPFor(tt.path).UserInfo(testContext(t), "at", "alice")
		if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
			t.Errorf("%s: err = %v, want %v", tt.path, err, tt.want)
		}
	}
}
