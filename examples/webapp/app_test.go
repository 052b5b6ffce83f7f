package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/oidctest"
)

func testContext(t *testing.T) context.Context { return testutil.Context(t) }

// env is a getenv over a map.
func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// startApp serves the app configured by vars (plus LISTEN_ADDR) on a free
// port and returns its base URL.
func startApp(t *testing.T, vars map[string]string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vars["LISTEN_ADDR"] = l.Addr().String()
	cfg, err := configFromEnv(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(testContext(t), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); a.Close() })
	return "http://" + l.Addr().String()
}

func providerVars(op *oidctest.Server, scopes string) map[string]string {
	c := op.Client()
	return map[string]string{
		"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": c.ID, "OIDC_CLIENT_SECRET": c.Secret, "OIDC_SCOPES": scopes,
	}
}

// get fetches path as an API client and decodes a JSON answer into v.
func get(t *testing.T, b *oidctest.Browser, url string, v any) int {
	t.Helper()
	p, err := b.Get(testContext(t), url, "Accept", "application/json")
	if err != nil {
		t.Fatal(err)
	}
	if v != nil && p.StatusCode == http.StatusOK {
		if err := json.Unmarshal(p.Body, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, p.Body)
		}
	}
	return p.StatusCode
}

// TestLoginMeLogout drives the whole login through the example's handlers
// with a cookie-jar client: login, callback, /me, logout, /me again.
func TestLoginMeLogout(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app := startApp(t, providerVars(op, ""))
	b := oidctest.NewBrowser()

	if status := get(t, b, app+"/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("/me before login: %d", status)
	}
	p, err := b.Get(testContext(t), app+"/me") // a browser: sent to log in, and back
	if err != nil {
		t.Fatal(err)
	}
	if p.StatusCode != http.StatusOK || p.URL.Path != "/me" || !strings.Contains(p.Hops[1], "/auth/login?return_to=%2Fme") {
		t.Fatalf("login: %v", p)
	}
	var me struct {
		Sub    string         `json:"sub"`
		Claims map[string]any `json:"claims"`
	}
	if status := get(t, b, app+"/me", &me); status != http.StatusOK || me.Sub != "alice" || me.Claims["email"] != "alice@example.com" {
		t.Fatalf("/me: %d %+v", status, me)
	}
	if p, _ := b.Get(testContext(t), app+"/"); !strings.Contains(string(p.Body), "Alice Example") {
		t.Fatalf("home: %s", p.Body)
	}
	p, err = b.PostForm(testContext(t), app+"/auth/logout", nil)
	if err != nil || p.URL.String() != app+"/" || !strings.Contains(string(p.Body), "not logged in") {
		t.Fatalf("logout: %v %v", p, err)
	}
	if status := get(t, b, app+"/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("/me after logout: %d", status)
	}
}

// TestNoEnvironment: with no configuration but LISTEN_ADDR, run starts the
// embedded provider and serves a working login.
func TestNoEnvironment(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithCancel(testContext(t))
	done := make(chan error, 1)
	go func() { done <- run(ctx, env(map[string]string{"LISTEN_ADDR": addr}), slog.New(slog.DiscardHandler)) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	b := oidctest.NewBrowser()
	var p *oidctest.Page
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(20 * time.Millisecond) {
		if p, err = b.Get(ctx, "http://"+addr+"/auth/login?return_to=/me"); err == nil {
			break
		}
	}
	if err != nil || p.StatusCode != http.StatusOK || !strings.Contains(string(p.Body), `"sub":"demo"`) {
		t.Fatalf("login with the embedded provider: %v %v", p, err)
	}
}

// TestStartupErrors: bad configuration and unusable providers stop the app
// with one line.
func TestStartupErrors(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	liar := oidctest.NewServer(oidctest.Config{})
	defer liar.Close()
	liar.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["issuer"] = "https://elsewhere.example.com" }})
	down := oidctest.NewServer(oidctest.Config{})
	down.Close()
	basicOnly := oidctest.NewServer(oidctest.Config{})
	defer basicOnly.Close()
	basicOnly.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) {
		d["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic"}
	}})
	keys := writeKeys(t)
	noPAR := hooked(t, func(d map[string]any) { delete(d, "pushed_authorization_request_endpoint") })
	parOnly := hooked(t, func(d map[string]any) { d["require_pushed_authorization_requests"] = true })
	queryOnly := hooked(t, func(d map[string]any) { d["response_modes_supported"] = []string{"query"} })
	rsaDPoP := hooked(t, func(d map[string]any) { d["dpop_signing_alg_values_supported"] = []string{"RS256"} })
	tests := map[string]map[string]string{
		"unknown auth method":             {"OIDC_AUTH_METHOD": "tls_client_auth"},
		"auth method in capitals":         {"OIDC_AUTH_METHOD": "PRIVATE_KEY_JWT", "OIDC_PRIVATE_KEY_FILE": keys["ec"]},
		"private_key_jwt without a key":   {"OIDC_AUTH_METHOD": "private_key_jwt"},
		"private_key_jwt with a secret":   {"OIDC_AUTH_METHOD": "private_key_jwt", "OIDC_PRIVATE_KEY_FILE": keys["ec"], "OIDC_CLIENT_SECRET": "s"},
		"client_secret_jwt without one":   {"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": "c", "OIDC_AUTH_METHOD": "client_secret_jwt"},
		"client_secret_jwt, short secret": {"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": "c", "OIDC_AUTH_METHOD": "client_secret_jwt", "OIDC_CLIENT_SECRET": "short"},
		"none with a secret":              {"OIDC_AUTH_METHOD": "none", "OIDC_CLIENT_SECRET": "s"},
		"key file missing":                {"OIDC_PRIVATE_KEY_FILE": keys["missing"]},
		"key file unreadable":             {"OIDC_PRIVATE_KEY_FILE": t.TempDir()},
		"key file not PEM":                {"OIDC_PRIVATE_KEY_FILE": keys["garbage"]},
		"key file a public key":           {"OIDC_PRIVATE_KEY_FILE": keys["public"]},
		"key file encrypted":              {"OIDC_PRIVATE_KEY_FILE": keys["encrypted"]},
		"key file RSA of 1024 bits":       {"OIDC_PRIVATE_KEY_FILE": keys["rsa1024"]},
		"key ID without a key":            {"OIDC_PRIVATE_KEY_ID": "k1"},
		"provider without the method": {"OIDC_ISSUER": basicOnly.URL, "OIDC_CLIENT_ID": "c",
			"OIDC_AUTH_METHOD": "private_key_jwt", "OIDC_PRIVATE_KEY_FILE": keys["ec"]},
		"issuer mismatch":                  {"OIDC_ISSUER": liar.URL, "OIDC_CLIENT_ID": "c"},
		"unreachable provider":             {"OIDC_ISSUER": down.URL, "OIDC_CLIENT_ID": "c"},
		"no client ID":                     {"OIDC_ISSUER": op.URL},
		"malformed keys":                   {"SESSION_KEYS": "not base64!"},
		"short key":                        {"SESSION_KEYS": "c2hvcnQ="},
		"bad listen address":               {"LISTEN_ADDR": "nowhere"},
		"bad redirect URL":                 {"OIDC_REDIRECT_URL": "/relative"},
		"http issuer":                      {"OIDC_ISSUER": "http://op.example.com", "OIDC_CLIENT_ID": "c"},
		"OIDC_PAR not a boolean":           {"OIDC_PAR": "yes"},
		"OIDC_PAR in capitals":             {"OIDC_PAR": "TRUE"},
		"OIDC_RESPONSE_MODE unknown":       {"OIDC_RESPONSE_MODE": "fragment"},
		"OIDC_DPOP not a boolean":          {"OIDC_DPOP": "1"},
		"OIDC_PAR true without endpoint":   {"OIDC_ISSUER": noPAR.URL, "OIDC_CLIENT_ID": "c", "OIDC_PAR": "true"},
		"OIDC_PAR false, provider insists": {"OIDC_ISSUER": parOnly.URL, "OIDC_CLIENT_ID": "c", "OIDC_PAR": "false"},
		"form_post not supported":          {"OIDC_ISSUER": queryOnly.URL, "OIDC_CLIENT_ID": "c", "OIDC_RESPONSE_MODE": "form_post"},
		"OIDC_DPOP, provider's algorithms": {"OIDC_ISSUER": rsaDPoP.URL, "OIDC_CLIENT_ID": "c", "OIDC_DPOP": "true"},
	}
	for name, vars := range tests {
		t.Run(name, func(t *testing.T) {
			if vars["LISTEN_ADDR"] == "" {
				vars["LISTEN_ADDR"] = "127.0.0.1:0"
			}
			err := run(testContext(t), env(vars), slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("run succeeded")
			}
			if msg := err.Error(); strings.Contains(msg, "\n") || msg == "" {
				t.Fatalf("not one line: %q", msg)
			}
			t.Log(err)
		})
	}
}

// TestUserinfoRefreshUnderConcurrency: access tokens live 2 s and refresh
// tokens rotate. After each expiry, 100 concurrent requests of one session
// cause exactly one refresh grant, and all succeed.
func TestUserinfoRefreshUnderConcurrency(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{AccessTokenTTL: 2 * time.Second, RotateRefreshTokens: true})
	defer op.Close()
	app := startApp(t, providerVars(op, "openid profile email offline_access"))
	b := oidctest.NewBrowser()
	if p, err := b.Get(testContext(t), app+"/auth/login"); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", p, err)
	}
	var info map[string]any
	if status := get(t, b, app+"/userinfo", &info); status != http.StatusOK || info["sub"] != "alice" {
		t.Fatalf("/userinfo: %d %v", status, info)
	}
	if s := op.Stats(); s.RefreshGrants != 0 {
		t.Fatalf("refreshed before expiry: %+v", s)
	}
	for round := 1; round <= 2; round++ {
		time.Sleep(2100 * time.Millisecond) // past the access token's expiry
		const n = 100
		statuses := concurrentGets(t, b, app+"/userinfo", n)
		failures := 0
		for _, s := range statuses {
			if s != http.StatusOK {
				failures++
			}
		}
		s := op.Stats()
		t.Logf("round %d: %d requests, %d failures, provider saw %d refresh grants, %d reuses", round, n, failures, s.RefreshGrants, s.RefreshTokenReuses)
		if failures != 0 || s.RefreshGrants != round || s.RefreshTokenReuses != 0 || s.FailedGrants != 0 {
			t.Fatalf("round %d: statuses %v, stats %+v", round, statuses, s)
		}
	}
}

// TestUserinfoRefreshNonRotating: a provider that does not rotate refresh
// tokens, with access tokens of 2 s. Each expiry costs one refresh grant,
// and no request is served the previous refresh's token, expired by then:
// two expiries, two grants, every call 200.
func TestUserinfoRefreshNonRotating(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{AccessTokenTTL: 2 * time.Second})
	defer op.Close()
	app := startApp(t, providerVars(op, "openid profile email offline_access"))
	b := oidctest.NewBrowser()
	if p, err := b.Get(testContext(t), app+"/auth/login"); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", p, err)
	}
	for round := 1; round <= 2; round++ {
		time.Sleep(2100 * time.Millisecond) // past the access token's expiry
		statuses := concurrentGets(t, b, app+"/userinfo", 20)
		s := op.Stats()
		t.Logf("round %d: statuses %v, provider saw %d refresh grants", round, statuses, s.RefreshGrants)
		for _, status := range statuses {
			if status != http.StatusOK || s.RefreshGrants != round {
				t.Fatalf("round %d: statuses %v, stats %+v; want all 200 and %d grants", round, statuses, s, round)
			}
		}
	}
}

// TestRefreshFailures: invalid_grant ends the session; a provider that is
// down fails what needs the access token (/userinfo) with 502 but not pages
// that need only the login (/me), and keeps the session, which recovers
// with one refresh once the provider is back.
func TestRefreshFailures(t *testing.T) {
	t.Run("invalid_grant", func(t *testing.T) {
		op := oidctest.NewServer(oidctest.Config{AccessTokenTTL: time.Second})
		defer op.Close()
		app := startApp(t, providerVars(op, "openid offline_access"))
		b := oidctest.NewBrowser()
		b.Get(testContext(t), app+"/auth/login")
		op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "invalid_grant" }})
		time.Sleep(1100 * time.Millisecond)
		if status := get(t, b, app+"/userinfo", nil); status != http.StatusUnauthorized {
			t.Fatalf("/userinfo after invalid_grant: %d", status)
		}
		op.SetHooks(oidctest.Hooks{})
		if status := get(t, b, app+"/me", nil); status != http.StatusUnauthorized {
			t.Fatalf("/me after invalid_grant: %d (the session should be gone)", status)
		}
	})
	t.Run("provider down", func(t *testing.T) {
		op := oidctest.NewServer(oidctest.Config{AccessTokenTTL: time.Second})
		defer op.Close()
		app := startApp(t, providerVars(op, "openid offline_access"))
		b := oidctest.NewBrowser()
		b.Get(testContext(t), app+"/auth/login")
		op.SetDown(true)
		time.Sleep(1100 * time.Millisecond)
		if status := get(t, b, app+"/userinfo", nil); status != http.StatusBadGateway {
			t.Fatalf("/userinfo with the provider down: %d", status)
		}
		// Pages that need only the login keep working, the session kept.
		if status := get(t, b, app+"/me", nil); status != http.StatusOK {
			t.Fatalf("/me with the provider down and the access token expired: %d, want 200", status)
		}
		op.SetDown(false)
		var me map[string]any
		if status := get(t, b, app+"/userinfo", &me); status != http.StatusOK || me["sub"] != "alice" {
			t.Fatalf("/userinfo after the provider came back: %d", status)
		}
		if s := op.Stats(); s.RefreshGrants != 1 {
			t.Fatalf("stats: %+v", s)
		}
	})
	t.Run("no refresh token", func(t *testing.T) {
		op := oidctest.NewServer(oidctest.Config{AccessTokenTTL: time.Second})
		defer op.Close()
		app := startApp(t, providerVars(op, "openid"))
		b := oidctest.NewBrowser()
		b.Get(testContext(t), app+"/auth/login")
		time.Sleep(1100 * time.Millisecond)
		if status := get(t, b, app+"/userinfo", nil); status != http.StatusUnauthorized {
			t.Fatalf("/userinfo with an expired token and no refresh token: %d", status)
		}
		if status := get(t, b, app+"/me", nil); status != http.StatusOK {
			t.Fatalf("/me: %d (the login session should live on)", status)
		}
	})
}

// TestCrossOriginLogoutRefused: a logout form posted from another site by a
// browser is refused; the app's own form works.
func TestCrossOriginLogoutRefused(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app := startApp(t, providerVars(op, ""))
	b := oidctest.NewBrowser()
	if p, err := b.Get(testContext(t), app+"/auth/login"); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", p, err)
	}
	p, err := b.PostForm(testContext(t), app+"/auth/logout", nil, "Sec-Fetch-Site", "cross-site")
	if err != nil || p.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site logout: %v %v", p, err)
	}
	if status := get(t, b, app+"/me", nil); status != http.StatusOK {
		t.Fatalf("/me after a refused logout: %d", status)
	}
	p, err = b.PostForm(testContext(t), app+"/auth/logout", nil, "Sec-Fetch-Site", "same-origin")
	if err != nil || p.URL.String() != app+"/" {
		t.Fatalf("same-origin logout: %v %v", p, err)
	}
	if status := get(t, b, app+"/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("/me after logout: %d", status)
	}
}

// TestSecureCookiesBehindProxy: with an https OIDC_REDIRECT_URL, the app is
// served over TLS by a proxy in front of it, and its cookies are Secure
// with the __Host- prefix although it sees plain HTTP.
func TestSecureCookiesBehindProxy(t *testing.T) {
	app := startApp(t, map[string]string{"OIDC_REDIRECT_URL": "https://app.example.com/auth/callback"})
	resp, err := noRedirect.Get(app + "/auth/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Header["Set-Cookie"]
	if resp.StatusCode != http.StatusFound || len(cookies) != 1 || !strings.HasPrefix(cookies[0], "__Host-") || !strings.Contains(cookies[0], "; Secure") {
		t.Fatalf("login: %d %q; want one Secure __Host- cookie", resp.StatusCode, cookies)
	}
}

var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

// concurrentGets fetches url n times at once as an API client of browser b,
// and returns the statuses.
func concurrentGets(t *testing.T, b *oidctest.Browser, url string, n int) []int {
	t.Helper()
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			p, err := b.Get(testContext(t), url, "Accept", "application/json")
			if err != nil {
				t.Error(err)
				return
			}
			statuses[i] = p.StatusCode
		})
	}
	wg.Wait()
	return statuses
}

// hooked starts a provider whose discovery document edit changes.
func hooked(t *testing.T, edit func(map[string]any)) *oidctest.Server {
	op := oidctest.NewServer(oidctest.Config{})
	t.Cleanup(op.Close)
	op.SetHooks(oidctest.Hooks{Discovery: edit})
	return op
}

// TestPARFormPostDPoP: OIDC_PAR, OIDC_RESPONSE_MODE=form_post and
// OIDC_DPOP together, against the embedded provider (which then asks for
// DPoP nonces): login, /me and /userinfo work; the front channel carried
// only client_id and request_uri; the callback's POST came from the
// provider's origin and passed the cross-origin protection, while a
// cross-origin POST elsewhere is still refused.
func TestPARFormPostDPoP(t *testing.T) {
	app := startApp(t, map[string]string{"OIDC_PAR": "true", "OIDC_RESPONSE_MODE": "form_post", "OIDC_DPOP": "true",
		"OIDC_SCOPES": "openid profile email offline_access"})
	b := oidctest.NewBrowser()
	p, err := b.Get(testContext(t), app+"/auth/login?return_to=/me")
	if err != nil || p.StatusCode != http.StatusOK || !strings.Contains(string(p.Body), `"sub":"demo"`) {
		t.Fatalf("login: %v %v", p, err)
	}
	var sawPushed, sawPost bool
	for _, hop := range p.Hops {
		sawPushed = sawPushed || strings.Contains(hop, "/authorize?client_id=") && strings.Contains(hop, "&request_uri=")
		sawPost = sawPost || hop == app+"/auth/callback"
	}
	if !sawPushed || !sawPost {
		t.Fatalf("hops %v: want a pushed request and a POSTed callback", p.Hops)
	}
	var info map[string]any
	if status := get(t, b, app+"/userinfo", &info); status != http.StatusOK || info["sub"] != "demo" {
		t.Fatalf("/userinfo: %d %v", status, info)
	}
	p, err = b.PostForm(testContext(t), app+"/auth/logout", nil, "Origin", "http://evil.example")
	if err != nil || p.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin logout POST: %v %v", p, err)
	}
}
