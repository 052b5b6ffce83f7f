package oidctest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

func TestUserInfo(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	tok := login(t, op, oidctest.DefaultClient, withScope("openid email"))
	tests := []struct {
		name string
		ask  func(t *testing.T) reply
	}{
		{"GET with a Bearer header", func(t *testing.T) reply {
			return userinfo(t, op, tok.AccessToken)
		}},
		{"POST with a Bearer header", func(t *testing.T) reply {
			return post(t, op.URL+"/userinfo", url.Values{}, nil, "Authorization", "Bearer "+tok.AccessToken)
		}},
		{"POST with access_token in the form", func(t *testing.T) reply {
			return post(t, op.URL+"/userinfo", url.Values{"access_token": {tok.AccessToken}}, nil)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.ask(t)
			if r.Status != http.StatusOK {
				t.Fatalf("userinfo: %s", r)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			claims := r.JSON(t)
			want := map[string]any{"sub": "alice", "email": "alice@example.com", "email_verified": true}
			if len(claims) != len(want) {
				t.Errorf("claims %v, want %v", claims, want)
			}
			for k, v := range want {
				if claims[k] != v {
					t.Errorf("%s = %v, want %v", k, claims[k], v)
				}
			}
		})
	}
	if n := op.Stats().UserInfoRequests; n != len(tests) {
		t.Errorf("Stats().UserInfoRequests = %d, want %d", n, len(tests))
	}
}

func TestUserInfoRefusals(t *testing.T) {
	clk := newClock()
	op := newOP(t, oidctest.Config{Now: clk.Now, AccessTokenTTL: 5 * time.Minute})
	tests := []struct {
		name string
		// header returns the userinfo request's Authorization header.
		header func(t *testing.T) string
	}{
		{"unknown token", func(t *testing.T) string { return "Bearer not-a-token" }},
		{"no token", func(t *testing.T) string { return "" }},
		{"empty Bearer", func(t *testing.T) string { return "Bearer " }},
		{"Basic credentials", func(t *testing.T) string { return "Basic " + basicRaw("alice", "x") }},
		{"expired token", func(t *testing.T) string {
			tok := login(t, op, oidctest.DefaultClient, nil)
			clk.Advance(5*time.Minute + time.Second)
			return "Bearer " + tok.AccessToken
		}},
		{"ID token instead of access token", func(t *testing.T) string {
			return "Bearer " + login(t, op, oidctest.DefaultClient, nil).IDToken
		}},
		{"token signed by the provider but not issued", func(t *testing.T) string {
			return "Bearer " + op.SignJWT(map[string]any{"iss": op.URL, "sub": "alice"}, "at+jwt")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var header []string
			if h := tt.header(t); h != "" {
				header = []string{"Authorization", h}
			}
			r := get(t, op.URL+"/userinfo", header...)
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_token")
			if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") || !strings.Contains(h, `error="invalid_token"`) {
				t.Errorf("WWW-Authenticate = %q, want a Bearer invalid_token challenge (RFC 6750 section 3)", h)
			}
		})
	}

	// Just before expiry the token still works.
	tok := login(t, op, oidctest.DefaultClient, nil)
	clk.Advance(5 * time.Minute)
	if r := userinfo(t, op, tok.AccessToken); r.Status != http.StatusOK {
		t.Errorf("userinfo at the last second: %s", r)
	}
}

func TestUserInfoHook(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	tok := login(t, op, oidctest.DefaultClient, withScope("openid profile"))
	op.SetHooks(oidctest.Hooks{UserInfo: func(claims map[string]any) {
		claims["sub"] = "mallory" // a userinfo answer for another user
		delete(claims, "name")
	}})
	claims := userinfo(t, op, tok.AccessToken).JSON(t)
	if claims["sub"] != "mallory" || claims["name"] != nil || claims["given_name"] != "Alice" {
		t.Errorf("hooked userinfo %v", claims)
	}
	op.SetHooks(oidctest.Hooks{})
	if claims := userinfo(t, op, tok.AccessToken).JSON(t); claims["sub"] != "alice" || claims["name"] != "Alice Example" {
		t.Errorf("userinfo after Hooks{}: %v", claims)
	}
}
