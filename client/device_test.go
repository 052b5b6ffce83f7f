package client_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// deviceRP returns a provider whose device flow polls every 10 ms, and an
// RP without a redirect URL for its default client, both on clk.
func deviceRP(t *testing.T, now func() time.Time) (*oidctest.Server, *client.RP) {
	t.Helper()
	return newRP(t, oidctest.Config{DeviceInterval: 10 * time.Millisecond, Now: now}, func(c *client.Config) {
		c.RedirectURL, c.Now = "", now
	})
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

// TestDeviceAuthorization: the response is read whole, the interval as the
// provider says.
func TestDeviceAuthorization(t *testing.T) {
	clk := newFakeClock()
	_, rp := deviceRP(t, clk.Now)
	auth, err := rp.DeviceAuthorization(testContext(t), client.DeviceRequest{Scopes: []string{"openid", "profile"}})
	if err != nil {
		t.Fatal(err)
	}
	if auth.DeviceCode == "" || len(auth.UserCode) != 9 || !strings.HasSuffix(auth.VerificationURI, "/device") ||
		auth.VerificationURIComplete != auth.VerificationURI+"?user_code="+auth.UserCode ||
		!auth.Expiry.Equal(clk.Now().Add(10*time.Minute)) || auth.Interval != time.Second {
		t.Errorf("auth = %#v", auth)
	}
	if s := auth.String(); strings.Contains(s, auth.DeviceCode) {
		t.Errorf("String reveals the device code: %s", s)
	}
}

// TestDeviceTokenResponses: each polling answer of RFC 8628 section 3.5.
func TestDeviceTokenResponses(t *testing.T) {
	clk := newFakeClock()
	op, rp := deviceRP(t, clk.Now)
	start := func(t *testing.T) *client.DeviceAuth {
		t.Helper()
		auth, err := rp.DeviceAuthorization(testContext(t), client.DeviceRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return auth
	}
	poll := func(t *testing.T, auth *client.DeviceAuth) (*client.Tokens, error) {
		t.Helper()
		clk.Advance(time.Second) // past the provider's interval
		return rp.DeviceToken(testContext(t), auth)
	}
	var te *client.TokenError

	t.Run("authorization_pending, then tokens", func(t *testing.T) {
		auth := start(t)
		if _, err := poll(t, auth); !errors.Is(err, client.ErrAuthorizationPending) || !errors.As(err, &te) {
			t.Fatalf("pending: %v, want a *TokenError matching ErrAuthorizationPending", err)
		}
		if err := op.ApproveDevice(auth.UserCode); err != nil {
			t.Fatal(err)
		}
		tokens, err := poll(t, auth)
		if err != nil {
			t.Fatal(err)
		}
		if tokens.IDToken == nil || tokens.IDToken.Subject != oidctest.DefaultUser.Subject || tokens.AccessToken == "" {
			t.Errorf("tokens = %v, want a verified ID token of the default user", tokens)
		}
	})
	t.Run("slow_down adds 5 seconds", func(t *testing.T) {
		auth := start(t)
		before := auth.Interval
		poll(t, auth)
		if _, err := rp.DeviceToken(testContext(t), auth); !errors.Is(err, client.ErrSlowDown) { // no time passed
			t.Fatalf("too soon: %v, want ErrSlowDown", err)
		}
		if auth.Interval != before+5*time.Second {
			t.Errorf("Interval = %v, want %v", auth.Interval, before+5*time.Second)
		}
	})
	t.Run("access_denied", func(t *testing.T) {
		auth := start(t)
		op.DenyDevice(auth.UserCode)
		if _, err := poll(t, auth); !errors.Is(err, client.ErrAccessDenied) || !errors.As(err, &te) {
			t.Errorf("denied: %v, want ErrAccessDenied", err)
		}
	})
	t.Run("expired_token", func(t *testing.T) {
		auth := start(t)
		clk.Advance(11 * time.Minute)
		if _, err := poll(t, auth); !errors.Is(err, client.ErrDeviceCodeExpired) || !errors.As(err, &te) {
			t.Errorf("expired: %v, want ErrDeviceCodeExpired", err)
		}
	})
	t.Run("invalid_grant", func(t *testing.T) {
		auth := start(t)
		auth.DeviceCode = "forged"
		if _, err := poll(t, auth); !errors.Is(err, client.ErrInvalidGrant) {
			t.Errorf("unknown device code: %v, want ErrInvalidGrant", err)
		}
	})
	t.Run("ID token verified", func(t *testing.T) {
		auth := start(t)
		op.ApproveDevice(auth.UserCode)
		op.SetHooks(oidctest.Hooks{IDToken: func(c map[string]any) { c["aud"] = "someone-else" }})
		defer op.SetHooks(oidctest.Hooks{})
		if _, err := poll(t, auth); !errors.Is(err, client.ErrInvalidAudience) {
			t.Errorf("ID token for another client: %v, want ErrInvalidAudience", err)
		}
	})
}

// TestPollDevice: PollDevice waits for the user across pending and
// slow_down answers, and stops on denial, expiry and ctx.
func TestPollDevice(t *testing.T) {
	op, rp := deviceRP(t, time.Now) // real time: PollDevice waits on real timers
	start := func(t *testing.T) *client.DeviceAuth {
		t.Helper()
		auth, err := rp.DeviceAuthorization(testContext(t), client.DeviceRequest{})
		if err != nil {
			t.Fatal(err)
		}
		auth.Interval = 20 * time.Millisecond // the provider enforces 10 ms
		return auth
	}
	// polls counts the device grant's token requests, and can answer with
	// a chosen error once.
	hooks := func(polls *int, first string, then func()) oidctest.Hooks {
		return oidctest.Hooks{TokenError: func(gt string) (int, string) {
			if gt != oidctest.DeviceGrantType {
				return 0, ""
			}
			*polls++
			if *polls == 1 && first != "" {
				return http.StatusBadRequest, first
			}
			if *polls == 2 && then != nil {
				go then() // the hook runs under the provider's lock
			}
			return 0, ""
		}}
	}

	t.Run("pending until approved", func(t *testing.T) {
		auth := start(t)
		var polls int
		op.SetHooks(hooks(&polls, "", func() { op.ApproveDevice(auth.UserCode) }))
		defer op.SetHooks(oidctest.Hooks{})
		tokens, err := rp.PollDevice(testContext(t), auth)
		if err != nil || tokens.IDToken == nil {
			t.Fatalf("PollDevice: %v", err)
		}
		if polls < 3 {
			t.Errorf("polls = %d, want at least 3 (pending, pending, tokens)", polls)
		}
	})
	t.Run("slow_down waits 5 seconds more", func(t *testing.T) {
		auth := start(t)
		var polls int
		op.SetHooks(hooks(&polls, "slow_down", nil))
		defer op.SetHooks(oidctest.Hooks{})
		ctx, cancel := context.WithTimeout(testContext(t), 300*time.Millisecond)
		defer cancel()
		if _, err := rp.PollDevice(ctx, auth); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("PollDevice: %v, want the ctx's deadline", err)
		}
		if polls != 1 || auth.Interval != 5*time.Second+20*time.Millisecond {
			t.Errorf("polls = %d, Interval = %v; want 1 poll, then waiting 5.02s", polls, auth.Interval)
		}
	})
	t.Run("access_denied", func(t *testing.T) {
		auth := start(t)
		op.DenyDevice(auth.UserCode)
		if _, err := rp.PollDevice(testContext(t), auth); !errors.Is(err, client.ErrAccessDenied) {
			t.Errorf("PollDevice: %v, want ErrAccessDenied", err)
		}
	})
	t.Run("expired_token", func(t *testing.T) {
		auth := start(t)
		var polls int
		op.SetHooks(hooks(&polls, "expired_token", nil))
		defer op.SetHooks(oidctest.Hooks{})
		if _, err := rp.PollDevice(testContext(t), auth); !errors.Is(err, client.ErrDeviceCodeExpired) {
			t.Errorf("PollDevice: %v, want ErrDeviceCodeExpired", err)
		}
	})
	t.Run("expiry passes without asking", func(t *testing.T) {
		auth := start(t)
		var polls int
		op.SetHooks(hooks(&polls, "", nil))
		defer op.SetHooks(oidctest.Hooks{})
		auth.Expiry = time.Now()
		if _, err := rp.PollDevice(testContext(t), auth); !errors.Is(err, client.ErrDeviceCodeExpired) || polls != 0 {
			t.Errorf("PollDevice: %v after %d polls, want ErrDeviceCodeExpired and none", err, polls)
		}
	})
	t.Run("ctx cancelled", func(t *testing.T) {
		auth := start(t)
		ctx, cancel := context.WithCancel(testContext(t))
		time.AfterFunc(50*time.Millisecond, cancel)
		if _, err := rp.PollDevice(ctx, auth); !errors.Is(err, context.Canceled) {
			t.Errorf("PollDevice: %v, want context.Canceled", err)
		}
	})
	t.Run("provider down: backs off and goes on", func(t *testing.T) {
		auth := start(t)
		op.SetDown(true)
		time.AfterFunc(100*time.Millisecond, func() { op.SetDown(false); op.ApproveDevice(auth.UserCode) })
		tokens, err := rp.PollDevice(testContext(t), auth)
		if err != nil || tokens == nil {
			t.Fatalf("PollDevice: %v", err)
		}
		if auth.Interval < time.Second {
			t.Errorf("Interval = %v, want backed off to at least 1s", auth.Interval)
		}
	})
}

func TestDeviceNoEndpoint(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { delete(d, "device_authorization_endpoint") }})
	rp2, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: rp.Config().ClientID, ClientSecret: rp.Config().ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer rp2.Close()
	if _, err := rp2.DeviceAuthorization(testContext(t), client.DeviceRequest{}); !errors.Is(err, client.ErrNoEndpoint) {
		t.Errorf("DeviceAuthorization: %v, want ErrNoEndpoint", err)
	}
}
