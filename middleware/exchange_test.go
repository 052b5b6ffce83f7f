package middleware_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"golang.org/x/oauth2"
)

// downstream is API B: it answers with the claims of the bearer token it
// got (unverified: the test reads what was sent).
func downstream(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			http.Error(w, "no JWT", http.StatusUnauthorized)
			return
		}
		payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
		w.Header().Set("Content-Type", "application/json")
		w.Write(payload)
	}))
	t.Cleanup(api.Close)
	return api, &calls
}

// exchangeApp serves GET /as-user, which calls api as the user through x,
// with h's middleware; it shares h's cookies (same host, another port).
func exchangeApp(t *testing.T, h *harness, x *middleware.Exchange, api string) *httptest.Server {
	app := httptest.NewServer(h.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		resp, err := h.auth.HTTPClient(r, x).Get(api) // the one line
		if err != nil {
			status := middleware.ErrorStatus(err)
			if !errors.Is(err, middleware.ErrExchange) {
				status = 599
			}
			http.Error(w, fmt.Sprintf("%v", err), status)
			return
		}
		defer resp.Body.Close()
		var claims map[string]any
		json.NewDecoder(resp.Body).Decode(&claims)
		json.NewEncoder(w).Encode(claims)
	})))
	t.Cleanup(app.Close)
	return app
}

func getClaims(t *testing.T, b *oidctest.Browser, u string) (int, map[string]any) {
	t.Helper()
	p, err := b.Get(ctx(t), u, "Accept", "application/json")
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	json.Unmarshal(p.Body, &claims)
	return p.StatusCode, claims
}

// TestHTTPClientExchange: a handler calls a downstream API with the
// session's access token exchanged for one of the API's audience, once
// per access token however many requests ask, and again after a refresh.
func TestHTTPClientExchange(t *testing.T) {
	h := newHarness(t, refreshing(options{}))
	b, _ := h.loggedIn(t)
	api, _ := downstream(t)
	x, err := middleware.NewExchange(middleware.ExchangeConfig{RP: h.rp, Audiences: []string{"api-b"}, Scopes: []string{"openid"}, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	app := exchangeApp(t, h, x, api.URL)

	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			status, claims := getClaims(t, b, app.URL)
			if status != http.StatusOK || claims["aud"] != "api-b" || claims["sub"] != oidctest.DefaultUser.Subject {
				t.Errorf("downstream saw %d %v, want a token of alice for api-b", status, claims)
			}
		})
	}
	wg.Wait()
	if n := h.op.Stats().TokenExchanges; n != 1 {
		t.Errorf("exchanges = %d, want 1 for one access token", n)
	}
	h.clock.Advance(2 * time.Minute) // the session's token is refreshed: a new subject token
	if status, claims := getClaims(t, b, app.URL); status != http.StatusOK || claims["aud"] != "api-b" {
		t.Fatalf("after refresh: %d %v", status, claims)
	}
	if n := h.op.Stats().TokenExchanges; n != 2 || h.op.Stats().RefreshGrants != 1 {
		t.Errorf("exchanges = %d, refreshes = %d; want 2 and 1", n, h.op.Stats().RefreshGrants)
	}
}

// TestHTTPClientExchangeActor: with ExchangeConfig.Actor, the exchange
// carries the service's client credentials token as the actor, and the
// downstream token names both the user (sub) and the service (act); an
// actor source that fails fails the call, with no downstream request.
func TestHTTPClientExchangeActor(t *testing.T) {
	h := newHarness(t, options{})
	b, _ := h.loggedIn(t)
	api, calls := downstream(t)
	src, err := h.rp.ClientCredentialsSource(client.ClientCredentialsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := middleware.NewExchange(middleware.ExchangeConfig{RP: h.rp, Audiences: []string{"api-b"}, Actor: src.TokenContext})
	if err != nil {
		t.Fatal(err)
	}
	status, claims := getClaims(t, b, exchangeApp(t, h, x, api.URL).URL)
	act, _ := claims["act"].(map[string]any)
	if status != http.StatusOK || claims["sub"] != oidctest.DefaultUser.Subject || act == nil || act["sub"] != h.rp.Config().ClientID {
		t.Fatalf("downstream saw %d %v, want alice's token with act naming %s", status, claims, h.rp.Config().ClientID)
	}

	failing, _ := middleware.NewExchange(middleware.ExchangeConfig{RP: h.rp, Audiences: []string{"api-b"},
		Actor: func(context.Context) (*oauth2.Token, error) { return nil, client.ErrProviderUnavailable }})
	before := calls.Load()
	if status, _ := getClaims(t, b, exchangeApp(t, h, failing, api.URL).URL); status != http.StatusBadGateway {
		t.Errorf("failing actor source: %d, want 502", status)
	}
	if calls.Load() != before {
		t.Error("the downstream API was called without an exchanged token")
	}
	_, err = failing.Token(ctx(t), "x")
	if !errors.Is(err, middleware.ErrExchange) || !errors.Is(err, client.ErrProviderUnavailable) {
		t.Errorf("Token: %v, want ErrExchange and the actor source's error", err)
	}
}

func TestHTTPClientExchangeRefused(t *testing.T) {
	h := newHarness(t, options{})
	b, _ := h.loggedIn(t)
	api, calls := downstream(t)
	x, _ := middleware.NewExchange(middleware.ExchangeConfig{RP: h.rp, Resources: []string{"https://unknown.example/"}})
	app := exchangeApp(t, h, x, api.URL)
	h.op.SetHooks(oidctest.Hooks{TokenError: func(gt string) (int, string) {
		if gt == oidctest.TokenExchangeGrantType {
			return http.StatusBadRequest, "invalid_target"
		}
		return 0, ""
	}})
	if status, _ := getClaims(t, b, app.URL); status != http.StatusBadGateway {
		t.Errorf("refused exchange: %d, want 502", status)
	}
	if calls.Load() != 0 {
		t.Error("the downstream API was called without a token")
	}
	err := fmt.Errorf("wrapped: %w", func() error { _, err := x.Token(ctx(t), "x"); return err }())
	if !errors.Is(err, middleware.ErrExchange) || !errors.Is(err, client.ErrInvalidTarget) {
		t.Errorf("Token: %v, want ErrExchange and client.ErrInvalidTarget", err)
	}
}

// TestExchangeBounded: at most MaxEntries exchanged tokens are kept.
func TestExchangeBounded(t *testing.T) {
	h := newHarness(t, options{})
	x, _ := middleware.NewExchange(middleware.ExchangeConfig{RP: h.rp, Audiences: []string{"api-b"}, MaxEntries: 2})
	var subjects []string
	for range 4 {
		tok, err := h.rp.ClientCredentials(ctx(t), client.ClientCredentialsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		subjects = append(subjects, tok.AccessToken)
	}
	for _, s := range subjects {
		if _, err := x.Token(ctx(t), s); err != nil {
			t.Fatal(err)
		}
	}
	before := h.op.Stats().TokenExchanges
	again := 0
	for _, s := range subjects {
		x.Token(ctx(t), s)
	}
	again = h.op.Stats().TokenExchanges - before
	if again < 2 {
		t.Errorf("re-exchanged %d of 4 subjects, want at least 2: only 2 fit", again)
	}
	if _, err := middleware.NewExchange(middleware.ExchangeConfig{}); !errors.Is(err, middleware.ErrInvalidConfig) {
		t.Errorf("no RP: %v", err)
	}
}
