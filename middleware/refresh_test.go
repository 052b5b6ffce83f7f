package middleware_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// token fetches /token, whose handler reads the access token through
// TokenSource, and returns the status and token.
func (h *harness) token(t *testing.T, b *oidctest.Browser) (int, string) {
	t.Helper()
	p, err := b.Get(ctx(t), h.srv.URL+"/token", "Accept", "application/json")
	if err != nil {
		t.Fatal(err)
	}
	return p.StatusCode, string(p.Body)
}

func refreshing(o options) options {
	o.provider.AccessTokenTTL = time.Minute
	o.provider.RotateRefreshTokens = true
	o.scopes = []string{"openid", "offline_access"}
	return o
}

// TestRefreshOnRequest: past the leeway, Require refreshes before the
// handler runs, once, and the next request carries the new cookie.
func TestRefreshOnRequest(t *testing.T) {
	h := newHarness(t, refreshing(options{}))
	b, _ := h.loggedIn(t)
	_, first := h.token(t, b)
	h.clock.Advance(50 * time.Second) // within a quarter of the minute-long lifetime
	status, second := h.token(t, b)
	if status != http.StatusOK || second == first || h.op.Stats().RefreshGrants != 1 {
		t.Fatalf("after the leeway: %d, same token %v, stats %+v", status, second == first, h.op.Stats())
	}
	if _, third := h.token(t, b); third != second || h.op.Stats().RefreshGrants != 1 {
		t.Fatalf("the refreshed session was not saved: stats %+v", h.op.Stats())
	}
}

// TestTokenSourceRefreshes: with refresh on the request path turned off,
// TokenSource refreshes by itself when asked for a token.
func TestTokenSourceRefreshes(t *testing.T) {
	h := newHarness(t, refreshing(options{auth: middleware.Config{DisableRefresh: true}}))
	b, _ := h.loggedIn(t)
	_, first := h.token(t, b)
	h.clock.Advance(2 * time.Minute)
	if status, second := h.token(t, b); status != http.StatusOK || second == first || h.op.Stats().RefreshGrants != 1 {
		t.Fatalf("TokenSource after expiry: %d, stats %+v", status, h.op.Stats())
	}
}

func TestRefreshFailuresOnRequest(t *testing.T) {
	t.Run("invalid_grant ends the session", func(t *testing.T) {
		h := newHarness(t, refreshing(options{}))
		b, _ := h.loggedIn(t)
		h.op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "invalid_grant" }})
		h.clock.Advance(2 * time.Minute)
		if status, _ := h.token(t, b); status != http.StatusUnauthorized {
			t.Fatalf("/token: %d", status)
		}
		h.op.SetHooks(oidctest.Hooks{})
		if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/me: %v", p)
		}
	})
	t.Run("provider down: pages keep working, API calls fail until it is back", func(t *testing.T) {
		h := newHarness(t, refreshing(options{}))
		b, _ := h.loggedIn(t)
		_, before := h.token(t, b)
		h.op.SetDown(true)
		h.clock.Advance(50 * time.Second) // due, not expired: served with the old token
		if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
			t.Fatalf("/me within the leeway: %v", p)
		}
		if status, tok := h.token(t, b); status != http.StatusOK || tok != before {
			t.Fatalf("/token within the leeway: %d", status)
		}
		h.clock.Advance(time.Minute) // expired
		if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
			t.Fatalf("/me after expiry, provider down: %v; want 200, the session as it is", p)
		}
		if status, _ := h.token(t, b); status != http.StatusBadGateway {
			t.Fatalf("/token after expiry, provider down: %d, want 502", status)
		}
		h.op.SetDown(false)
		if status, tok := h.token(t, b); status != http.StatusOK || tok == before || h.op.Stats().RefreshGrants != 1 {
			t.Fatalf("/token after recovery: %d %+v", status, h.op.Stats())
		}
		if p, _ := h.me(t, b); p.StatusCode != http.StatusOK || h.op.Stats().RefreshGrants != 1 {
			t.Fatalf("/me after recovery: %v %+v", p, h.op.Stats())
		}
	})
	t.Run("no refresh token", func(t *testing.T) {
		h := newHarness(t, options{provider: oidctest.Config{AccessTokenTTL: time.Minute}})
		b, _ := h.loggedIn(t)
		h.clock.Advance(2 * time.Minute)
		if status, _ := h.token(t, b); status != http.StatusUnauthorized {
			t.Fatalf("/token: %d", status)
		}
		if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
			t.Fatalf("/me: the login session should live on: %v", p)
		}
	})
}

func TestTokenSourceWithoutSession(t *testing.T) {
	h := newHarness(t, options{})
	r, _ := http.NewRequest("GET", "/", nil)
	if _, err := h.auth.TokenSource(r).Token(); !errors.Is(err, middleware.ErrNotAuthenticated) {
		t.Fatalf("TokenSource: %v", err)
	}
	if _, err := h.auth.HTTPClient(r).Get(h.op.URL + "/userinfo"); !errors.Is(err, middleware.ErrNotAuthenticated) {
		t.Fatalf("HTTPClient: %v", err)
	}
}

// TestCustomHandlers: Config.ErrorHandler and Config.Unauthenticated answer
// in place of the defaults.
func TestCustomHandlers(t *testing.T) {
	var got error
	h := newHarness(t, options{auth: middleware.Config{
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			got = err
			w.WriteHeader(middleware.ErrorStatus(err))
		},
		Unauthenticated: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }),
	}})
	if p, _ := h.me(t, oidctest.NewBrowser()); p.StatusCode != http.StatusTeapot {
		t.Fatalf("/me: %v", p)
	}
	b := oidctest.NewBrowser()
	if p, _ := b.Get(ctx(t), h.srv.URL+"/auth/callback?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAA&code=x"); p.StatusCode != http.StatusBadRequest || got == nil {
		t.Fatalf("callback: %v, error handler got %v", p, got)
	}
}

// TestPostLogoutForgedState: a state that no logout of this browser sent is
// dropped all the same, and nothing else happens.
func TestPostLogoutForgedState(t *testing.T) {
	h := newHarness(t, options{})
	b, _ := h.loggedIn(t)
	p, err := b.Get(ctx(t), h.srv.URL+"/?state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&x=1")
	if err != nil || p.URL.String() != h.srv.URL+"/?x=1" || string(p.Body) != "home of alice" {
		t.Fatalf("%v %v", p, err)
	}
}

// TestReturnToEncodings: return_to is found under an escaped name too, and a
// badly escaped value is refused.
func TestReturnToEncodings(t *testing.T) {
	h := newHarness(t, options{})
	for q, want := range map[string]int{
		"return%5Fto=%2F%2Fevil.example.com": http.StatusBadRequest,
		"return_to=%zz":                      http.StatusBadRequest,
		"other=1&return%5Fto=%2Fok":          http.StatusFound,
		"x%zz=1":                             http.StatusFound,
	} {
		resp, err := oidctest.NewBrowser().Client.Get(h.srv.URL + "/auth/login?" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", q, resp.StatusCode, want)
		}
	}
}

// TestClaimsFromIDTokenAndUserinfo: Claims merges the ID token's claims
// with what userinfo added, and only that is stored in the session.
func TestClaimsFromIDTokenAndUserinfo(t *testing.T) {
	h := newHarness(t, options{auth: middleware.Config{UserInfo: true}})
	h.op.SetHooks(oidctest.Hooks{UserInfo: func(c map[string]any) { c["department"] = "R&D" }})
	b, _ := h.loggedIn(t)
	_, me := h.me(t, b)
	claims := me["claims"].(map[string]any)
	if claims["department"] != "R&D" || claims["name"] != "Alice Example" || claims["sub"] != "alice" {
		t.Fatalf("claims = %v", claims)
	}
	for _, c := range []string{"iss", "aud", "exp", "iat", "nonce", "at_hash", "sid"} {
		if _, ok := claims[c]; ok {
			t.Errorf("protocol claim %q among the user's claims", c)
		}
	}
}

// TestUserinfoProtocolClaims: a userinfo answer that carries protocol
// claims with values of its own (Ory Hydra's carries iat, iss, aud,
// auth_time ...) adds none of them to the user's claims.
func TestUserinfoProtocolClaims(t *testing.T) {
	h := newHarness(t, options{auth: middleware.Config{UserInfo: true}})
	protocol := map[string]any{
		"iss": "https://userinfo.example.com", "aud": []string{"someone"}, "exp": 4102444800, "iat": 1700000000,
		"nbf": 1700000000, "auth_time": 1700000000, "nonce": "n", "at_hash": "h", "c_hash": "c", "azp": "x",
		"jti": "j", "sid": "other-sid",
	}
	h.op.SetHooks(oidctest.Hooks{UserInfo: func(c map[string]any) {
		maps.Copy(c, protocol)
		c["department"] = "R&D"
	}})
	b, _ := h.loggedIn(t)
	_, me := h.me(t, b)
	claims := me["claims"].(map[string]any)
	if claims["department"] != "R&D" || claims["sub"] != "alice" {
		t.Fatalf("claims = %v", claims)
	}
	for c := range protocol {
		if v, ok := claims[c]; ok {
			t.Errorf("userinfo's protocol claim %s = %v among the user's claims", c, v)
		}
	}
}

// TestRefreshChain: a request carrying a refresh token redeemed long ago
// (within RefreshGrace) reuses the remembered result and, that result's
// token being due too, follows the chain with its refresh token: the
// provider never sees a token redeemed twice.
func TestRefreshChain(t *testing.T) {
	h := newHarness(t, refreshing(options{}))
	b, _ := h.loggedIn(t)
	stale := oidctest.NewBrowser() // the same session, cookie kept from before the first refresh
	v, _ := b.Cookie(h.srv.URL, "oidcrp_session")
	stale.SetCookie(h.srv.URL, &http.Cookie{Name: "oidcrp_session", Value: v, Path: "/"})

	h.clock.Advance(50 * time.Second)
	if p, _ := h.me(t, b); p.StatusCode != http.StatusOK || h.op.Stats().RefreshGrants != 1 {
		t.Fatalf("first refresh: %v %+v", p, h.op.Stats())
	}
	h.clock.Advance(50 * time.Second)
	if p, _ := h.me(t, stale); p.StatusCode != http.StatusOK {
		t.Fatalf("stale cookie: %v", p)
	}
	if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
		t.Fatalf("current cookie: %v", p)
	}
	if s := h.op.Stats(); s.RefreshGrants != 2 || s.RefreshTokenReuses != 0 || s.FailedGrants != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// firstResultCoordinator is a Coordinator gone bad (a shared store someone
// can write to): it remembers the first result of any refresh and hands it
// out for every key after.
type firstResultCoordinator struct {
	mu    sync.Mutex // guards first
	first []byte
}

func (c *firstResultCoordinator) Keep(context.Context, string, []byte, time.Duration) error {
	return nil
}

func (c *firstResultCoordinator) Do(ctx context.Context, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first != nil {
		return c.first, nil
	}
	v, err := fn(ctx)
	if err == nil {
		c.first = v
	}
	return v, err
}

// TestRefreshResultBoundToItsRefresh: a refresh result handed out for
// another refresh (another user's) is refused, and the session never takes
// its tokens.
func TestRefreshResultBoundToItsRefresh(t *testing.T) {
	users := []oidctest.User{oidctest.DefaultUser, {Subject: "bob", Claims: map[string]any{"email": "bob@example.com"}}}
	h := newHarness(t, refreshing(options{
		provider: oidctest.Config{Users: users},
		session:  session.Config{Coordinator: &firstResultCoordinator{}},
		auth: middleware.Config{
			AuthRequest: func(r *http.Request) client.AuthRequest {
				return client.AuthRequest{LoginHint: r.URL.Query().Get("hint")}
			},
		},
	}))
	bob, alice := oidctest.NewBrowser(), oidctest.NewBrowser()
	if p, err := bob.Get(ctx(t), h.srv.URL+"/auth/login?hint=bob&return_to=/me"); err != nil || !strings.Contains(string(p.Body), `"sub":"bob"`) {
		t.Fatalf("bob's login: %v %v", p, err)
	}
	h.login(t, alice, "")
	_, aliceToken := h.token(t, alice)
	h.clock.Advance(2 * time.Minute)
	status, bobToken := h.token(t, bob) // refreshes bob's tokens: the coordinator keeps the result
	if status != http.StatusOK {
		t.Fatalf("bob's refresh: %d %s", status, bobToken)
	}
	status, got := h.token(t, alice) // the coordinator hands alice bob's result
	t.Logf("alice's request after the coordinator handed her bob's result: %d", status)
	if got == bobToken || got == aliceToken && status == http.StatusOK {
		t.Fatalf("alice's request got %d %q: bob's refreshed token %v, her own stale one %v", status, got, got == bobToken, got == aliceToken)
	}
}

// TestRefreshAfterHeader: a handler writes its header, then calls an API
// with an expired token. The refresh rotates the refresh token, and the
// new cookie can no longer be set; the result is kept until the session's
// next request takes it up, so that, long after RefreshGrace, the user is
// still logged in and the provider never sees a refresh token twice.
func TestRefreshAfterHeader(t *testing.T) {
	h := newHarness(t, refreshing(options{
		session: session.Config{RefreshGrace: 10 * time.Second},
		auth:    middleware.Config{DisableRefresh: true}, // only the API call refreshes
	}))
	b, _ := h.loggedIn(t)
	h.clock.Advance(2 * time.Minute)
	p, err := b.Get(ctx(t), h.srv.URL+"/late")
	if err != nil || p.StatusCode != http.StatusOK || string(p.Body) != "userinfo: 200" || h.op.Stats().RefreshGrants != 1 {
		t.Fatalf("/late: %v %v, stats %+v", p, err, h.op.Stats())
	}
	if len(p.Header["Set-Cookie"]) != 0 {
		t.Fatalf("a cookie set after the header: %v", p.Header["Set-Cookie"])
	}
	h.clock.Advance(10 * time.Minute) // far past RefreshGrace
	status, _ := h.token(t, b)
	if s := h.op.Stats(); status != http.StatusOK || s.RefreshTokenReuses != 0 || s.FailedGrants != 0 {
		t.Fatalf("/token after RefreshGrace: %d, stats %+v; want 200 and no reuse", status, s)
	}
	if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
		t.Fatalf("/me: %v", p)
	}
}

// TestSlowRequestDoesNotUndoRefresh: a slow request started before another
// one refreshed the (rotating) tokens must not bring the replaced tokens
// back by recording the session's use: its answer, arriving last, carries
// no cookie, and the user stays logged in long after RefreshGrace.
func TestSlowRequestDoesNotUndoRefresh(t *testing.T) {
	h := newHarness(t, options{
		provider: oidctest.Config{AccessTokenTTL: 20 * time.Minute, RotateRefreshTokens: true},
		scopes:   []string{"openid", "offline_access"},
		session:  session.Config{RefreshGrace: 10 * time.Second},
	})
	b, _ := h.loggedIn(t)
	h.clock.Advance(8 * time.Minute) // the session's use is due to be recorded; the token is fresh
	slow := make(chan *oidctest.Page)
	go func() {
		p, err := b.Get(ctx(t), h.srv.URL+"/slow")
		if err != nil {
			t.Error(err)
		}
		slow <- p
	}()
	time.Sleep(50 * time.Millisecond) // the slow request is in its handler
	h.clock.Advance(12 * time.Minute) // the token is due: the next request refreshes it
	if status, _ := h.token(t, b); status != http.StatusOK || h.op.Stats().RefreshGrants != 1 {
		t.Fatalf("/token: %d %+v", status, h.op.Stats())
	}
	h.slow <- struct{}{}
	if p := <-slow; p == nil || p.StatusCode != http.StatusOK || len(p.Header["Set-Cookie"]) != 0 {
		t.Fatalf("the slow request's answer: %v; want 200 without a cookie", p)
	}
	h.clock.Advance(30 * time.Minute) // far past RefreshGrace, and the refreshed token's expiry
	status, _ := h.token(t, b)
	if s := h.op.Stats(); status != http.StatusOK || s.RefreshTokenReuses != 0 {
		t.Fatalf("/token after the slow answer: %d, stats %+v; want 200 and no reuse", status, s)
	}
}
