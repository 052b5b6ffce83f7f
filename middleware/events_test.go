package middleware_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
)

// recorded returns o with rec as the sink of the client, the session
// manager and the middleware, as an app gives one sink to all three.
func recorded(o options, rec *eventstest.Recorder) options {
	edit := o.client
	o.client = func(c *client.Config) {
		c.Events = rec
		if edit != nil {
			edit(c)
		}
	}
	o.session.Events, o.auth.Events = rec, rec
	return o
}

// secrets collects what no event may carry: every token the provider
// issued, every code, the client secret, and the app's cookies.
type secrets struct {
	mu     sync.Mutex
	values []string
}

func (s *secrets) add(vs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range vs {
		if v != "" {
			s.values = append(s.values, v)
		}
	}
}

func (s *secrets) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.values...)
}

// capture makes hooks record the codes and tokens the provider hands out,
// keeping the other hooks of h.
func (s *secrets) capture(h oidctest.Hooks) oidctest.Hooks {
	authorize, token := h.AuthorizeResponse, h.TokenResponse
	h.AuthorizeResponse = func(q url.Values) {
		if authorize != nil {
			authorize(q)
		}
		s.add(q.Get("code"))
	}
	h.TokenResponse = func(grant string, resp map[string]any) {
		if token != nil {
			token(grant, resp)
		}
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if v, ok := resp[k].(string); ok {
				s.add(v)
			}
		}
	}
	return h
}

// checkNoLeak fails the test if an event attribute carries a secret.
func checkNoLeak(t *testing.T, rec *eventstest.Recorder, h *harness, sec *secrets, browsers ...*oidctest.Browser) {
	t.Helper()
	values := append(sec.all(), h.op.Client().Secret)
	u, _ := url.Parse(h.srv.URL)
	for _, b := range browsers {
		for _, c := range b.Jar.Cookies(u) {
			values = append(values, c.Value)
		}
	}
	if leaks := rec.Leaks(values...); len(leaks) > 0 {
		t.Errorf("events carry secrets: %q", leaks)
	}
}

// TestLoginFailureEvents: each failed callback is one LoginFailed event
// with its reason (a replay is one CallbackReplayed instead), never a
// LoginSucceeded; no event carries a token, code, secret or cookie.
func TestLoginFailureEvents(t *testing.T) {
	tests := []struct {
		name   string
		hooks  oidctest.Hooks
		tamper func(q url.Values)
		want   events.Reason
	}{
		{name: "state mismatch", tamper: func(q url.Values) { q.Set("state", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") }, want: events.ReasonState},
		{name: "state missing", tamper: func(q url.Values) { q.Del("state") }, want: events.ReasonState},
		{name: "access denied", hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }}, want: events.ReasonAccessDenied},
		{name: "login required", hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("code"); q.Set("error", "login_required") }}, want: events.ReasonProviderError},
		{name: "iss of another issuer", tamper: func(q url.Values) { q.Set("iss", "https://evil.example.com") }, want: events.ReasonIssuer},
		{name: "ID token of another issuer", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["iss"] = "https://evil.example.com" }}, want: events.ReasonIssuer},
		{name: "forged code", tamper: func(q url.Values) { q.Set("code", "forged") }, want: events.ReasonInvalidGrant},
		{name: "bad ID token nonce", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["nonce"] = "x" }}, want: events.ReasonNonce},
		{name: "bad ID token signature", hooks: oidctest.Hooks{IDTokenSigning: oidctest.CorruptSignature}, want: events.ReasonSignature},
		{name: "ID token expired", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }}, want: events.ReasonExpired},
		{name: "token endpoint fails", hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 500, "server_error" }}, want: events.ReasonProviderUnavailable},
		{name: "userinfo of another user", hooks: oidctest.Hooks{UserInfo: func(c map[string]any) { c["sub"] = "mallory" }}, want: events.ReasonUserInfoSubject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, sec := new(eventstest.Recorder), new(secrets)
			h := newHarness(t, recorded(options{auth: middleware.Config{UserInfo: true}}, rec))
			h.op.SetHooks(sec.capture(tt.hooks))
			b := oidctest.NewBrowser()
			cb := h.callbackURL(t, b)
			q := cb.Query()
			if tt.tamper != nil {
				tt.tamper(q)
			}
			cb.RawQuery = q.Encode()
			if p, err := b.Get(ctx(t), cb.String()); err != nil || p.StatusCode < 400 {
				t.Fatalf("callback: %v %v", p, err)
			}
			if n := len(rec.Named(events.LoginStarted)); n != 1 {
				t.Errorf("%d LoginStarted", n)
			}
			failed := rec.Named(events.LoginFailed, events.LoginSucceeded, events.CallbackReplayed)
			if len(failed) != 1 || failed[0].Name != events.LoginFailed || failed[0].Reason != tt.want || failed[0].Issuer != h.op.URL || failed[0].Err == nil {
				t.Fatalf("login events: %+v", failed)
			}
			checkNoLeak(t, rec, h, sec, b)
		})
	}
}

// TestLoginEvents: a login is LoginStarted then LoginSucceeded with the
// user; its callback replayed, with or without the flow cookie, is one
// CallbackReplayed each, and no LoginFailed.
func TestLoginEvents(t *testing.T) {
	rec, sec := new(eventstest.Recorder), new(secrets)
	h := newHarness(t, recorded(options{}, rec))
	h.op.SetHooks(sec.capture(oidctest.Hooks{}))
	b := oidctest.NewBrowser()
	resp, _ := b.Client.Get(h.srv.URL + "/auth/login")
	resp.Body.Close()
	flowCookie := resp.Cookies()[0]
	sec.add(flowCookie.Value)
	resp, _ = b.Client.Get(resp.Header.Get("Location"))
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if p, err := b.Get(ctx(t), callback); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("callback: %v %v", p, err)
	}
	got := rec.Named(events.LoginStarted, events.LoginSucceeded, events.LoginFailed, events.CallbackReplayed)
	if len(got) != 2 || got[0].Name != events.LoginStarted || got[1].Name != events.LoginSucceeded || got[1].Subject != "alice" || got[1].Issuer != h.op.URL {
		t.Fatalf("login events: %+v", got)
	}
	other := oidctest.NewBrowser()
	other.SetCookie(h.srv.URL, flowCookie)
	if p, _ := other.Get(ctx(t), callback); p.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %v", p)
	}
	replays := rec.Named(events.CallbackReplayed)
	if len(replays) != 1 || len(rec.Named(events.LoginFailed)) != 0 {
		t.Fatalf("replay: %+v", rec.Named(events.CallbackReplayed, events.LoginFailed))
	}
	checkNoLeak(t, rec, h, sec, b, other)
}

// TestRefreshEvents: refreshes on the request path are one
// RefreshSucceeded; a refresh token the provider refuses is one
// RefreshFailed with ReasonInvalidGrant.
func TestRefreshEvents(t *testing.T) {
	rec, sec := new(eventstest.Recorder), new(secrets)
	h := newHarness(t, recorded(refreshing(options{}), rec))
	h.op.SetHooks(sec.capture(oidctest.Hooks{}))
	b, _ := h.loggedIn(t)
	h.clock.Advance(50 * time.Second)
	if status, _ := h.token(t, b); status != http.StatusOK {
		t.Fatalf("/token: %d", status)
	}
	if ok := rec.Named(events.RefreshSucceeded); len(ok) != 1 || ok[0].Subject != "alice" || len(rec.Named(events.RefreshFailed)) != 0 {
		t.Fatalf("refresh events: %+v", rec.Named(events.RefreshSucceeded, events.RefreshFailed))
	}
	h.op.SetHooks(sec.capture(oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "invalid_grant" }}))
	h.clock.Advance(2 * time.Minute)
	if status, _ := h.token(t, b); status != http.StatusUnauthorized {
		t.Fatalf("/token: %d", status)
	}
	failed := rec.Named(events.RefreshFailed)
	if len(failed) != 1 || failed[0].Reason != events.ReasonInvalidGrant || failed[0].Subject != "alice" {
		t.Fatalf("RefreshFailed: %+v", failed)
	}
	checkNoLeak(t, rec, h, sec, b)
}

// TestLogoutEvents: each kind of logout is one LogoutSucceeded of its
// kind; a back-channel logout token delivered twice is one LogoutFailed
// with ReasonReplay, one with a bad signature one with ReasonSignature.
func TestLogoutEvents(t *testing.T) {
	rec, sec := new(eventstest.Recorder), new(secrets)
	h := newHarness(t, recorded(options{}, rec))
	h.op.SetHooks(sec.capture(oidctest.Hooks{}))
	logouts := func() []events.Event { return rec.Named(events.LogoutSucceeded, events.LogoutFailed) }

	// RP-initiated.
	b, _ := h.loggedIn(t)
	if p, err := b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil); err != nil || p.StatusCode >= 400 {
		t.Fatalf("logout: %v %v", p, err)
	}
	// The browser, sent on to the provider's end_session_endpoint, ends
	// the provider's session, which delivers a back-channel logout too.
	if got := logouts(); len(got) != 2 || got[0].Name != events.LogoutSucceeded || got[0].Kind != "rp_initiated" || got[0].Subject != "alice" ||
		got[1].Name != events.LogoutSucceeded || got[1].Kind != "backchannel" {
		t.Fatalf("RP-initiated logout: %+v", got)
	}

	// Back-channel, then the same token again, then a forged one.
	rec.Reset()
	b2, sid := h.loggedIn(t)
	lt := h.op.LogoutToken(oidctest.DefaultClient.ID, "alice", sid, nil)
	sec.add(lt)
	for range 2 {
		h.postLogout(t, url.Values{"logout_token": {lt}})
	}
	h.postLogout(t, url.Values{"logout_token": {lt[:len(lt)-4] + "AAAA"}})
	got := logouts()
	if len(got) != 3 || got[0].Name != events.LogoutSucceeded || got[0].Kind != "backchannel" ||
		got[1].Name != events.LogoutFailed || got[1].Kind != "backchannel" || got[1].Reason != events.ReasonReplay ||
		got[2].Name != events.LogoutFailed || got[2].Reason != events.ReasonSignature {
		t.Fatalf("back-channel logouts: %+v", got)
	}

	// Front-channel.
	rec.Reset()
	b3, sid3 := h.loggedIn(t)
	resp, err := http.Get(h.srv.URL + "/auth/frontchannel-logout?" + url.Values{"iss": {h.op.URL}, "sid": {sid3}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := logouts(); len(got) != 1 || got[0].Name != events.LogoutSucceeded || got[0].Kind != "frontchannel" {
		t.Fatalf("front-channel logout: %+v", got)
	}
	// The revoked sessions are refused, once each.
	for _, br := range []*oidctest.Browser{b2, b3} {
		h.me(t, br)
	}
	if got := rec.Named(events.SessionRevoked); len(got) != 2 {
		t.Fatalf("SessionRevoked: %+v", got)
	}
	checkNoLeak(t, rec, h, sec, b, b2, b3)
}

// TestProvidersEvents: with several providers, each login's events name its
// provider's issuer; a mix-up (another provider's response) is one
// LoginFailed with ReasonIssuer, naming the provider the login started
// with.
func TestProvidersEvents(t *testing.T) {
	rec := new(eventstest.Recorder)
	m := newMultiEvents(t, nil, rec)
	for name, op := range m.ops {
		rec.Reset()
		m.loggedIn(t, name)
		got := rec.Named(events.LoginStarted, events.LoginSucceeded)
		if len(got) != 2 || got[0].Issuer != op.URL || got[1].Issuer != op.URL || got[1].Subject != "alice" {
			t.Errorf("%s: %+v", name, got)
		}
	}
	rec.Reset()
	b := oidctest.NewBrowser()
	resp := m.authorize(t, "b")
	resp.Set("state", redirectQuery(t, b.Client, m.srv.URL+"/auth/login?provider=a").Get("state"))
	m.get(t, b, "/auth/callback?"+resp.Encode())
	failed := rec.Named(events.LoginFailed, events.LoginSucceeded)
	if len(failed) != 1 || failed[0].Name != events.LoginFailed || failed[0].Reason != events.ReasonIssuer || failed[0].Issuer != m.ops["a"].URL {
		t.Fatalf("mix-up: %+v", failed)
	}
}
