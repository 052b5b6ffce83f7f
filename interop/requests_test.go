package interop_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Issue 13's authorization requests and token binding against
// oidc-provider: pushed authorization requests (RFC 9126), the form_post
// response mode, and DPoP (RFC 9449) with nonces.

// requestClients are the clients of the matrix, with the stack options
// that run an app as each.
var requestClients = []struct {
	name, clientID string
	stack          func(*stackConfig)
}{
	{"confidential", confidentialID, func(c *stackConfig) { c.Confidential = true }},
	{"public", publicID, func(c *stackConfig) { c.Public = true }},
	{"private_key_jwt", privateKeyJWTID, func(c *stackConfig) { c.PrivateKeyJWT = true }},
	{"client_secret_jwt", clientSecretJWTID, func(c *stackConfig) { c.ClientSecretJWT = true }},
}

// requestFeatures are the features of the matrix, each alone, and all
// three together.
var requestFeatures = []struct {
	name  string
	stack func(*stackConfig)
}{
	// The provider requires pushed requests of the client (its
	// registration says so, not its discovery document): OIDC_PAR=true.
	{"PAR", func(c *stackConfig) { c.PAR, c.RequirePARClient = "true", true }},
	{"form_post", func(c *stackConfig) { c.FormPost = true }},
	{"DPoP", func(c *stackConfig) { c.DPoP = true }},
	{"all", func(c *stackConfig) { c.PAR, c.RequirePARClient, c.FormPost, c.DPoP = "true", true, true, true }},
}

// TestHTTPRequestMatrix: for each client and feature, login, refresh past
// the access token's expiry twice and /userinfo each time; the provider saw
// what the feature asks for: every authorization request pushed, DPoP
// tokens from every grant.
func TestHTTPRequestMatrix(t *testing.T) {
	t.Parallel()
	for _, f := range requestFeatures {
		for _, c := range requestClients {
			if f.name != "all" && c.clientID != confidentialID && f.name != "DPoP" {
				// PAR and form_post do not depend on how the client
				// authenticates beyond what "all" covers; DPoP does
				// (public clients' refresh tokens are bound).
				continue
			}
			t.Run(f.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
				defer cancel()
				const ttl = 5 // seconds
				cfg := stackConfig{AccessTokenTTL: ttl, Scopes: "openid profile email offline_access"}
				c.stack(&cfg)
				f.stack(&cfg)
				s := startStack(t, cfg)
				app := s.app(c.clientID)
				login := uniqueLogin("ada")
				b, _, _ := s.login(ctx, t, app, login)
				loggedIn := time.Now()
				var m me
				if status := getJSON(ctx, t, b, app, "/me", &m); status != http.StatusOK || m.Sub != login {
					t.Fatalf("GET /me: %d %+v", status, m)
				}
				wantUser(t, "/me", login, m.Claims)
				refreshPastExpiry(ctx, t, s, b, app, c.clientID, login, loggedIn, ttl)
				wantRequests(t, s.Provider, c.clientID, cfg)
			})
		}
	}
}

// wantRequests checks what the provider saw of clientID's requests: a
// pushed request per authorization with PAR, DPoP tokens from every grant
// with DPoP (Bearer ones without), the client's authentication method, and
// no error but the nonce challenges DPoP asks for.
func wantRequests(t *testing.T, p *provider, clientID string, cfg stackConfig) {
	t.Helper()
	grants := p.Events(func(ev providerEvent) bool { return ev.Event == "grant.success" && ev.ClientID == clientID })
	codes := p.Events(grant("authorization_code", clientID))
	if len(grants) < 3 || len(codes) != 1 {
		t.Errorf("grants %+v: want a code grant and two refreshes", grants)
	}
	wantType := "Bearer"
	if cfg.DPoP {
		wantType = "DPoP"
	}
	for _, g := range grants {
		if g.TokenType != wantType {
			t.Errorf("%s grant issued a %s token, want %s", g.GrantType, g.TokenType, wantType)
		}
		if method := assertionMethods[clientID]; method != "" && g.AuthMethod != method {
			t.Errorf("%s grant authenticated with %s, want %s", g.GrantType, g.AuthMethod, method)
		}
	}
	pushed := p.Events(func(ev providerEvent) bool {
		return ev.Event == "pushed_authorization_request.success" && ev.ClientID == clientID
	})
	if want := map[bool]int{true: 1}[cfg.PAR == "true" || cfg.RequirePAR]; len(pushed) != want {
		t.Errorf("pushed authorization requests: %d, want %d", len(pushed), want)
	}
	var challenges int
	for _, ev := range p.Events(func(ev providerEvent) bool { return strings.HasSuffix(ev.Event, ".error") }) {
		if ev.Error == "use_dpop_nonce" && cfg.DPoP {
			challenges++
			continue
		}
		t.Errorf("provider's error: %+v", ev)
	}
	if cfg.DPoP && challenges == 0 {
		t.Errorf("no DPoP nonce challenge: the provider did not require nonces")
	}
}

// TestHTTPPARWhenRequired: with OIDC_PAR unset, the app pushes its
// requests when the provider's metadata requires it.
func TestHTTPPARWhenRequired(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cfg := stackConfig{Confidential: true, RequirePAR: true}
	s := startStack(t, cfg)
	login := uniqueLogin("par")
	s.login(ctx, t, s.Confidential, login)
	if pushed := s.Provider.Events(func(ev providerEvent) bool { return ev.Event == "pushed_authorization_request.success" }); len(pushed) != 1 {
		t.Errorf("pushed authorization requests: %+v, want 1", pushed)
	}
	if errs := s.Provider.Events(func(ev providerEvent) bool { return strings.HasSuffix(ev.Event, ".error") }); len(errs) != 0 {
		t.Errorf("provider's errors: %+v", errs)
	}
}

// TestBrowserFormPostCrossSite logs in with Chromium as the confidential
// client with form_post, PAR and DPoP, the provider on http://localhost and
// the app on http://127.0.0.1: two sites, so that the provider's POST of
// the authorization response to the app is cross-site, and comes without
// the app's SameSite=Lax flow cookie. The app's callback answers it with a
// page that posts it again from the app's own site, with the cookie, and
// the login completes; /userinfo then answers with a DPoP-bound token.
func TestBrowserFormPostCrossSite(t *testing.T) {
	t.Parallel()
	chromium := needChromium(t)
	s := startStack(t, stackConfig{Confidential: true, FormPost: true, PAR: "true", DPoP: true, ProviderOnLocalhost: true})
	app := s.Confidential
	if u, _ := url.Parse(s.Provider.Issuer); u.Hostname() != "localhost" || !strings.HasPrefix(app.URL, "http://127.0.0.1:") {
		t.Fatalf("provider at %s, app at %s: want two sites", s.Provider.Issuer, app.URL)
	}
	tab := &page{t: t, ctx: startChromium(t, chromium)}
	login := uniqueLogin("zoe")
	// The callback POSTs the browser sends: the provider's, cross-site,
	// then the app's re-post.
	var (
		mu    sync.Mutex // guards posts
		posts []string   // the URL of the page that sent each
	)
	if err := chromedp.Listen(tab.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && e.Request.Method == "POST" && e.Request.URL == app.URL+"/auth/callback" {
			mu.Lock()
			posts = append(posts, e.DocumentURL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	tab.openLogin(app)
	tab.signIn(login, "consent, and the form_post back to the app", chromedp.WaitVisible(chromedp.ID("user")))

	tab.wantHome(app, login)
	if status := run(tab, "fetch /userinfo", fetchStatus("/userinfo")); status != 200 {
		tab.fail("logged in", fmt.Errorf("fetch /userinfo: %d, want 200", status))
	}
	mu.Lock()
	t.Logf("callback POSTs: %q", posts)
	if len(posts) != 2 {
		t.Errorf("%d callback POSTs (%q), want 2: the provider's cross-site one, then the app's re-post with the flow cookie", len(posts), posts)
	}
	mu.Unlock()
	if grants := s.Provider.Events(grant("authorization_code", confidentialID)); len(grants) != 1 || grants[0].TokenType != "DPoP" {
		t.Errorf("code grants %+v: want one, of a DPoP token", grants)
	}
	if pushed := s.Provider.Events(func(ev providerEvent) bool { return ev.Event == "pushed_authorization_request.success" }); len(pushed) != 1 {
		t.Errorf("pushed authorization requests: %+v, want 1", pushed)
	}
}
