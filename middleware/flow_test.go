package middleware_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// TestLoginLogout drives a whole login and logout with a cookie-jar client.
func TestLoginLogout(t *testing.T) {
	h := newHarness(t, options{auth: middleware.Config{UserInfo: true}})
	b := oidctest.NewBrowser()

	// A browser asking for a protected page is sent through the login and back.
	p, err := b.Get(ctx(t), h.srv.URL+"/me")
	if err != nil {
		t.Fatal(err)
	}
	if p.StatusCode != http.StatusOK || p.URL.Path != "/me" || len(p.Hops) != 5 {
		t.Fatalf("login via /me: %v", p)
	}
	if !strings.HasPrefix(p.Hops[1], h.srv.URL+"/auth/login?return_to=%2Fme") || !strings.HasPrefix(p.Hops[2], h.op.URL+"/authorize?") {
		t.Fatalf("hops: %v", p.Hops)
	}
	_, me := h.me(t, b)
	claims, _ := me["claims"].(map[string]any)
	if me["sub"] != "alice" || claims["email"] != "alice@example.com" || claims["iss"] != nil || claims["nonce"] != nil {
		t.Fatalf("/me = %v", me)
	}
	if s := h.op.Stats(); s.UserInfoRequests != 1 || s.CodeGrants != 1 {
		t.Fatalf("provider stats: %+v", s)
	}

	// Logout clears the session and goes through the provider back home.
	p, err = b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	// The provider sends the user back with the state, which is checked
	// and dropped from the address.
	if p.StatusCode != http.StatusOK || p.URL.String() != h.srv.URL+"/" || len(p.Hops) != 4 ||
		!strings.HasPrefix(p.Hops[1], h.op.URL+"/end_session?") || !strings.Contains(p.Hops[2], "/?state=") {
		t.Fatalf("logout: %v", p)
	}
	if s := h.op.Stats(); s.EndSessions != 1 {
		t.Fatalf("provider saw %d end_session requests", s.EndSessions)
	}
	if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized || p.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("/me after logout: %v", p)
	}
}

func TestReturnTo(t *testing.T) {
	h := newHarness(t, options{})
	b := oidctest.NewBrowser()
	if p := h.login(t, b, url.QueryEscape("/reports?year=2026#q")); p.URL.Path != "/reports" || p.URL.RawQuery != "year=2026" {
		t.Fatalf("landed on %v", p.URL)
	}
	if p := h.login(t, oidctest.NewBrowser(), ""); p.URL.Path != "/" || string(p.Body) != "home of alice" {
		t.Fatalf("landed on %v", p)
	}
}

// TestOpenRedirect refuses every form of return_to that leaves the site.
func TestOpenRedirect(t *testing.T) {
	h := newHarness(t, options{})
	for _, rt := range []string{
		"https://evil.example.com/",
		"//evil.example.com",
		"/\\evil.example.com",
		"\\\\evil.example.com",
		"/\t/evil.example.com",
		"/%2F/evil.example.com",
		"%2F%2Fevil.example.com",
		"/%5Cevil.example.com",
		"/%252F%252Fevil.example.com",
		"/%25252F%25252Fevil.example.com",
		"javascript:alert(1)",
		"http:evil.example.com",
		"evil.example.com",
		"",
		"/\r\nLocation: https://evil.example.com",
		"/a\x00b",
		"///evil.example.com",
		"/" + strings.Repeat("a", 3000),
	} {
		q := url.Values{"return_to": {rt}}.Encode()
		resp, err := oidctest.NewBrowser().Client.Get(h.srv.URL + "/auth/login?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || len(resp.Cookies()) != 0 {
			t.Errorf("return_to %q: status %d, Location %q, %d cookies", rt, resp.StatusCode, resp.Header.Get("Location"), len(resp.Cookies()))
		}
	}
	// Repeated return_to is refused too.
	resp, err := oidctest.NewBrowser().Client.Get(h.srv.URL + "/auth/login?return_to=/a&return_to=//evil")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("repeated return_to: %d", resp.StatusCode)
	}
}

func TestIsLocalPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/": true, "/a/b?c=d&e=%2F": true, "/a%20b": true, "/caf%C3%A9": true,
		"//a": false, "/\\a": false, "a": false, "": false, "/%2F/a": false, "/a\\b": false,
		"https://a/": false, "/\x7f": false,
	} {
		if got := middleware.IsLocalPath(p); got != want {
			t.Errorf("IsLocalPath(%q) = %v, want %v", p, got, want)
		}
	}
}

// TestTwoTabs starts two logins in one browser and completes them in the
// other order: each has its own flow cookie.
func TestTwoTabs(t *testing.T) {
	h := newHarness(t, options{})
	b := oidctest.NewBrowser()
	start := func(returnTo string) string {
		resp, err := b.Client.Get(h.srv.URL + "/auth/login?return_to=" + returnTo)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	first, second := start("/one"), start("/two")
	for _, tab := range []struct{ authURL, want string }{{second, "/two"}, {first, "/one"}} {
		p, err := b.Get(ctx(t), tab.authURL)
		if err != nil {
			t.Fatal(err)
		}
		if p.URL.Path != tab.want || p.StatusCode != http.StatusNotFound {
			t.Fatalf("tab returning to %s: %v", tab.want, p)
		}
	}
	if p, me := h.me(t, b); p.StatusCode != http.StatusOK || me["sub"] != "alice" {
		t.Fatalf("/me: %v", p)
	}
}

// TestCallbackFailures: every failed callback answers 4xx (502 when the
// provider fails), with a safe message, and creates no session.
func TestCallbackFailures(t *testing.T) {
	tests := []struct {
		name   string
		hooks  oidctest.Hooks
		down   bool
		tamper func(q url.Values)
		want   int
	}{
		{name: "state mismatch", tamper: func(q url.Values) { q.Set("state", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") }, want: 400},
		{name: "state missing", tamper: func(q url.Values) { q.Del("state") }, want: 400},
		{name: "access denied", hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }}, want: 403},
		{name: "login required", hooks: oidctest.Hooks{AuthorizeResponse: func(q url.Values) { q.Del("code"); q.Set("error", "login_required") }}, want: 400},
		{name: "iss of another issuer", tamper: func(q url.Values) { q.Set("iss", "https://evil.example.com") }, want: 400},
		{name: "forged code", tamper: func(q url.Values) { q.Set("code", "forged") }, want: 400},
		{name: "bad ID token nonce", hooks: oidctest.Hooks{IDToken: func(c map[string]any) { c["nonce"] = "x" }}, want: 400},
		{name: "bad ID token signature", hooks: oidctest.Hooks{IDTokenSigning: oidctest.CorruptSignature}, want: 400},
		{name: "token endpoint fails", hooks: oidctest.Hooks{TokenError: func(string) (int, string) { return 500, "server_error" }}, want: 502},
		{name: "userinfo of another user", hooks: oidctest.Hooks{UserInfo: func(c map[string]any) { c["sub"] = "mallory" }}, want: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, options{auth: middleware.Config{UserInfo: true}})
			h.op.SetHooks(tt.hooks)
			b := oidctest.NewBrowser()
			cb := h.callbackURL(t, b)
			q := cb.Query()
			if tt.tamper != nil {
				tt.tamper(q)
			}
			cb.RawQuery = q.Encode()
			h.op.SetDown(tt.down)
			p, err := b.Get(ctx(t), cb.String(), "Accept", "text/html")
			if err != nil {
				t.Fatal(err)
			}
			if p.StatusCode != tt.want || len(p.Hops) != 1 {
				t.Fatalf("callback: %v", p)
			}
			if !strings.Contains(string(p.Body), "<h1>") || strings.Contains(string(p.Body), "client:") {
				t.Fatalf("error page leaks internals or is empty: %s", p.Body)
			}
			if _, ok := b.Cookie(h.srv.URL, "oidcrp_session"); ok {
				t.Fatal("a session cookie was set")
			}
			if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
				t.Fatalf("/me after failed callback: %v", p)
			}
		})
	}
}

// TestReplayedCallback: a callback URL works once; replayed, with or
// without its flow cookie, it is refused.
func TestReplayedCallback(t *testing.T) {
	h := newHarness(t, options{})
	b := oidctest.NewBrowser()
	resp, _ := b.Client.Get(h.srv.URL + "/auth/login")
	resp.Body.Close()
	flowCookie := resp.Cookies()[0]
	resp, _ = b.Client.Get(resp.Header.Get("Location"))
	resp.Body.Close()
	callback := resp.Header.Get("Location")
	if p, err := b.Get(ctx(t), callback); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("first callback: %v %v", p, err)
	}
	// The browser no longer has the flow cookie.
	if p, _ := b.Get(ctx(t), callback); p.StatusCode != http.StatusBadRequest {
		t.Fatalf("replayed callback: %v", p)
	}
	// An attacker replaying the flow cookie too.
	other := oidctest.NewBrowser()
	other.SetCookie(h.srv.URL, flowCookie)
	if p, _ := other.Get(ctx(t), callback); p.StatusCode != http.StatusBadRequest || !strings.Contains(string(p.Body), "already used") {
		t.Fatalf("replayed callback with cookie: %v", p)
	}
}

// TestAbandonedLogins: starting many logins never keeps more than MaxFlows
// flow cookies, so request headers stay bounded.
func TestAbandonedLogins(t *testing.T) {
	h := newHarness(t, options{})
	b := oidctest.NewBrowser()
	for range 20 {
		resp, err := b.Client.Get(h.srv.URL + "/auth/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	u, _ := url.Parse(h.srv.URL)
	n := 0
	for _, c := range b.Jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "oidcrp_flow_") {
			n++
		}
	}
	if n != h.sessions.Config().MaxFlows {
		t.Fatalf("%d flow cookies, want %d", n, h.sessions.Config().MaxFlows)
	}
	// The newest login still completes.
	if p := h.login(t, b, ""); p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v", p)
	}
}

// countingReplay is a replay cache that counts the keys it records.
type countingReplay struct {
	cache *session.MemoryReplayCache
	n     atomic.Int64
}

func (c *countingReplay) Use(ctx context.Context, key string, expires time.Time) (bool, error) {
	c.n.Add(1)
	return c.cache.Use(ctx, key, expires)
}

// TestCallbackOtherIssuerSpendsNothing: a callback whose iss names another
// issuer is refused before the login attempt is taken: it records nothing
// in the replay cache (whose memory form holds a bounded number of keys),
// and the user's own callback still completes the login.
func TestCallbackOtherIssuerSpendsNothing(t *testing.T) {
	replay := &countingReplay{cache: &session.MemoryReplayCache{}}
	h := newHarness(t, options{session: session.Config{Replay: replay}})
	b := oidctest.NewBrowser()
	cb := h.callbackURL(t, b)
	forged := *cb
	q := cb.Query()
	q.Set("iss", "https://evil.example.com")
	forged.RawQuery = q.Encode()
	if p, err := b.Get(ctx(t), forged.String()); err != nil || p.StatusCode != http.StatusBadRequest {
		t.Fatalf("callback from another issuer: %v %v", p, err)
	}
	if n := replay.n.Load(); n != 0 {
		t.Fatalf("the forged callback recorded %d replay keys", n)
	}
	if p, err := b.Get(ctx(t), cb.String()); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("the user's own callback after the forged one: %v %v", p, err)
	}
}

// callbackURL starts a login in b and follows it to the provider, which
// answers with the redirect to the app's callback: its URL, not yet
// visited.
func (h *harness) callbackURL(t *testing.T, b *oidctest.Browser) *url.URL {
	t.Helper()
	resp, err := b.Client.Get(h.srv.URL + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	resp, err = b.Client.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return cb
}
