package client_test

import (
	"errors"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestRefresh(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{AlwaysIssueRefreshToken: true, RotateRefreshTokens: true}, nil)
	first, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if first.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	second, err := rp.Refresh(testContext(t), first.RefreshToken, first.RawIDToken)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	switch {
	case second.AccessToken == first.AccessToken:
		t.Error("access token not renewed")
	case second.RefreshToken == first.RefreshToken || second.RefreshToken == "":
		t.Error("refresh token not rotated")
	case second.IDToken == nil || second.IDToken.Subject != first.IDToken.Subject:
		t.Errorf("refreshed ID token: %+v", second.IDToken)
	}
	// The rotated-out token is refused, and that is ErrInvalidGrant.
	if _, err := rp.Refresh(testContext(t), first.RefreshToken, first.RawIDToken); !errors.Is(err, client.ErrInvalidGrant) {
		t.Fatalf("reused refresh token: err = %v, want ErrInvalidGrant", err)
	}
	if got := op.Stats().RefreshTokenReuses; got != 1 {
		t.Errorf("provider saw %d reuses, want 1", got)
	}
}

func TestRefreshWithoutRotationKeepsToken(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{AlwaysIssueRefreshToken: true}, nil)
	first, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	second, err := rp.Refresh(testContext(t), first.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken != first.RefreshToken {
		t.Error("refresh token not kept when the provider does not rotate")
	}
}

// TestRefreshViolations checks the ID token issued on refresh against the
// original (OpenID Connect Core 12.2) and the error paths of the grant.
func TestRefreshViolations(t *testing.T) {
	tests := []struct {
		name  string
		hooks oidctest.Hooks
		down  bool
		want  error
	}{
		{name: "other subject", hooks: oidctest.Hooks{IDToken: set("sub", "mallory")}, want: client.ErrSubjectMismatch},
		{name: "other audience", hooks: oidctest.Hooks{IDToken: set("aud", "other")}, want: client.ErrInvalidAudience},
		{name: "other issuer", hooks: oidctest.Hooks{IDToken: set("iss", "https://evil.example.com")}, want: client.ErrInvalidIssuer},
		{name: "other auth_time", hooks: oidctest.Hooks{IDToken: set("auth_time", 1000)}, want: client.ErrAuthTime},
		{name: "nonce that is not the original", hooks: oidctest.Hooks{IDToken: set("nonce", "other")}, want: client.ErrInvalidNonce},
		{name: "expired", hooks: oidctest.Hooks{IDToken: set("exp", 1000)}, want: client.ErrExpired},
		{name: "bad signature", hooks: oidctest.Hooks{IDTokenSigning: oidctest.CorruptSignature}, want: client.ErrInvalidSignature},
		{name: "invalid_grant", hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "invalid_grant" }}, want: client.ErrInvalidGrant},
		{name: "provider down", down: true, want: client.ErrProviderUnavailable},
		{name: "no id token on refresh is fine", hooks: oidctest.Hooks{TokenResponse: func(g string, r map[string]any) { delete(r, "id_token") }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, rp := newRP(t, oidctest.Config{AlwaysIssueRefreshToken: true}, nil)
			first, err := login(t, rp, client.AuthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			op.SetHooks(tt.hooks)
			op.SetDown(tt.down)
			tokens, err := rp.Refresh(testContext(t), first.RefreshToken, first.RawIDToken)
			if tt.want == nil {
				if err != nil || tokens.IDToken != nil {
					t.Fatalf("Refresh: %v, %v", tokens, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("no refresh token", func(t *testing.T) {
		_, rp := newRP(t, oidctest.Config{}, nil)
		if _, err := rp.Refresh(testContext(t), "", ""); !errors.Is(err, client.ErrInvalidGrant) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("previous ID token garbled", func(t *testing.T) {
		_, rp := newRP(t, oidctest.Config{AlwaysIssueRefreshToken: true}, nil)
		first, err := login(t, rp, client.AuthRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, prev := range []string{"garbage", "a.!!!.c", "a.bm90IGpzb24.c"} {
			if _, err := rp.Refresh(testContext(t), first.RefreshToken, prev); !errors.Is(err, client.ErrMalformedToken) {
				t.Errorf("previous %q: err = %v", prev, err)
			}
		}
	})
}
