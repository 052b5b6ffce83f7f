package client_test

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
	"github.com/oidcrp/oidcrp/oidctest"
)

// TestCallbackFailureReasons: each way a callback fails states the reason
// the login.failed event gives for it.
func TestCallbackFailureReasons(t *testing.T) {
	tests := []struct {
		name  string
		hooks oidctest.Hooks
		edit  func(q url.Values)
		want  events.Reason
	}{
		{name: "state mismatch", edit: func(q url.Values) { q.Set("state", "forged") }, want: events.ReasonState},
		{name: "iss of another issuer", edit: func(q url.Values) { q.Set("iss", "https://evil.example.com") }, want: events.ReasonIssuer},
		{name: "iss missing", edit: func(q url.Values) { q.Del("iss") }, want: events.ReasonIssuer},
		{name: "repeated parameter", edit: func(q url.Values) { q.Add("code", "second") }, want: events.ReasonMalformedResponse},
		{name: "access denied", hooks: oidctest.Hooks{AuthorizeResponse: denied}, want: events.ReasonAccessDenied},
		{name: "login required", hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("code"); q.Set("error", "login_required") }}, want: events.ReasonProviderError},
		{name: "forged code", edit: func(q url.Values) { q.Set("code", "forged") }, want: events.ReasonInvalidGrant},
		{name: "client refused", hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 401, "invalid_client" }}, want: events.ReasonInvalidClient},
		{name: "token endpoint fails", hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 500, "server_error" }}, want: events.ReasonProviderUnavailable},
		{name: "token endpoint garbles", hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "" }}, want: events.ReasonProviderResponse},
		{name: "bad signature", hooks: oidctest.Hooks{IDTokenSigning: oidctest.CorruptSignature}, want: events.ReasonSignature},
		{name: "unknown key", hooks: oidctest.Hooks{IDTokenSigning: oidctest.SignUnknownKey}, want: events.ReasonSignature},
		{name: "alg none", hooks: oidctest.Hooks{IDTokenSigning: oidctest.SignNone}, want: events.ReasonAlgorithm},
		{name: "issuer mismatch", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["iss"] = "https://evil.example.com" }}, want: events.ReasonIssuer},
		{name: "audience", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["aud"] = "someone-else" }}, want: events.ReasonAudience},
		{name: "nonce", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["nonce"] = "x" }}, want: events.ReasonNonce},
		{name: "expired", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }}, want: events.ReasonExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, rp := newRP(t, oidctest.Config{}, nil)
			op.SetHooks(tt.hooks)
			u, flow, err := rp.AuthCodeURL(client.AuthRequest{})
			if err != nil {
				t.Fatal(err)
			}
			q := authorize(t, u)
			if tt.edit != nil {
				tt.edit(q)
			}
			_, err = rp.Callback(testContext(t), flow, q)
			if err == nil {
				t.Fatal("Callback succeeded")
			}
			if got := events.ReasonOf(err); got != tt.want {
				t.Fatalf("ReasonOf(%v) = %q, want %q", err, got, tt.want)
			}
		})
	}
}

// TestEndpointEvents: each call to an endpoint of the provider is one
// event, with its latency and, for a failure, its reason; no event carries
// a token, the code or the client secret.
func TestEndpointEvents(t *testing.T) {
	rec := new(eventstest.Recorder)
	op, rp := newRP(t, oidctest.Config{RotateRefreshTokens: true}, func(c *client.Config) {
		c.Scopes = []string{"openid", "offline_access"}
		c.Events = rec
	})
	u, flow, err := rp.AuthCodeURL(client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	q := authorize(t, u)
	tokens, err := rp.Callback(testContext(t), flow, q)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rp.UserInfo(testContext(t), tokens.AccessToken, tokens.IDToken.Subject); err != nil {
		t.Fatal(err)
	}
	refreshed, err := rp.Refresh(testContext(t), tokens.RefreshToken, tokens.RawIDToken)
	if err != nil {
		t.Fatal(err)
	}
	// The first refresh token was rotated out: redeeming it again fails.
	if _, err := rp.Refresh(testContext(t), tokens.RefreshToken, tokens.RawIDToken); !errors.Is(err, client.ErrInvalidGrant) {
		t.Fatalf("reused refresh token: %v", err)
	}
	op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return 503, "temporarily_unavailable" }})
	if _, err := rp.Refresh(testContext(t), refreshed.RefreshToken, refreshed.RawIDToken); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("refresh while the provider fails: %v", err)
	}
	op.SetHooks(oidctest.Hooks{})
	if err := rp.Revoke(testContext(t), refreshed.RefreshToken, "refresh_token"); err != nil {
		t.Fatal(err)
	}

	type want struct {
		name     events.Name
		kind, gt string
		reason   events.Reason
	}
	wants := []want{
		{events.EndpointSucceeded, "token", "authorization_code", ""},
		{events.EndpointSucceeded, "userinfo", "", ""},
		{events.EndpointSucceeded, "token", "refresh_token", ""},
		{events.EndpointFailed, "token", "refresh_token", events.ReasonInvalidGrant},
		{events.EndpointFailed, "token", "refresh_token", events.ReasonProviderUnavailable},
		{events.EndpointSucceeded, "revocation", "", ""},
	}
	got := rec.Named(events.EndpointSucceeded, events.EndpointFailed)
	if len(got) != len(wants) {
		t.Fatalf("%d endpoint events, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants {
		e := got[i]
		if e.Name != w.name || e.Kind != w.kind || e.GrantType != w.gt || e.Reason != w.reason ||
			e.Issuer != op.URL || e.Duration <= 0 || (e.Err != nil) != (w.reason != "") {
			t.Errorf("event %d: %+v, want %+v", i, e, w)
		}
	}
	secrets := []string{op.Client().Secret, q.Get("code"), flow.Verifier,
		tokens.AccessToken, tokens.RefreshToken, tokens.RawIDToken,
		refreshed.AccessToken, refreshed.RefreshToken, refreshed.RawIDToken}
	if leaks := rec.Leaks(secrets...); len(leaks) > 0 {
		t.Errorf("events carry secrets: %q", leaks)
	}
}

// TestClockSkewEvents: ID and logout tokens failing a time check are one
// ClockSkew event each, saying which claim and by how much.
func TestClockSkewEvents(t *testing.T) {
	tests := []struct {
		name   string
		claims func(c map[string]any)
		want   events.Reason
		skew   time.Duration // about
	}{
		{"exp past", func(c map[string]any) { c["exp"] = time.Now().Add(-3 * time.Minute).Unix() }, events.ReasonExpired, 2 * time.Minute},
		{"nbf ahead", func(c map[string]any) { c["nbf"] = time.Now().Add(4 * time.Minute).Unix() }, events.ReasonNotYetValid, 3 * time.Minute},
		{"iat ahead", func(c map[string]any) { c["iat"] = time.Now().Add(2 * time.Minute).Unix() }, events.ReasonIssuedInFuture, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := new(eventstest.Recorder)
			op, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.Events = rec })
			op.SetHooks(oidctest.Hooks{IDToken: tt.claims})
			if _, err := login(t, rp, client.AuthRequest{}); err == nil {
				t.Fatal("login succeeded")
			}
			lt := op.LogoutToken(op.Client().ID, "alice", "sid-1", tt.claims)
			if _, err := rp.VerifyLogoutToken(testContext(t), lt); err == nil {
				t.Fatal("logout token accepted")
			}
			got := rec.Named(events.ClockSkew)
			wantKinds := []string{"id_token", "logout_token"}
			if len(got) != len(wantKinds) {
				t.Fatalf("ClockSkew events: %+v", got)
			}
			for i, e := range got {
				if e.Kind != wantKinds[i] || e.Reason != tt.want || e.Issuer != op.URL ||
					e.Skew < tt.skew-5*time.Second || e.Skew > tt.skew+5*time.Second {
					t.Errorf("event %d: %+v, want kind %s, reason %s, skew about %v", i, e, wantKinds[i], tt.want, tt.skew)
				}
			}
		})
	}
}
