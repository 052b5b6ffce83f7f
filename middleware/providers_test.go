package middleware_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// multi is an app with several providers: "a" and "b", two OpenID
// Providers whose users have the same subjects, and "gh", an OAuth 2.0
// provider (no ID token, no discovery), all three test providers.
type multi struct {
	ops   map[string]*oidctest.Server
	rps   map[string]*client.RP
	auth  *middleware.Auth
	srv   *httptest.Server
	clock *testutil.Clock // the app's and the providers'
}

var bob = oidctest.User{Subject: "bob", Claims: map[string]any{"name": "Bob"}}

func newMulti(t *testing.T, store session.Store) *multi {
	t.Helper()
	return newMultiEvents(t, store, nil)
}

// newMultiEvents is newMulti with sink (if not nil) as the middleware's
// events.
func newMultiEvents(t *testing.T, store session.Store, sink events.Sink) *multi {
	t.Helper()
	m := &multi{ops: map[string]*oidctest.Server{}, rps: map[string]*client.RP{}, clock: testutil.NewClock(time.Now())}
	var mux http.Handler = http.NotFoundHandler()
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mux.ServeHTTP(w, r) }))
	t.Cleanup(m.srv.Close)
	var providers []middleware.Provider
	// Each signs with keys of its own (see oidctest.Config.SigningAlg).
	for _, name := range []string{"a", "b", "gh"} {
		alg := map[string]string{"a": "RS256", "b": "ES256", "gh": "EdDSA"}[name]
		c := oidctest.DefaultClient
		c.BackchannelLogoutURI = m.srv.URL + "/auth/backchannel-logout"
		op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{c}, Users: []oidctest.User{oidctest.DefaultUser, bob}, SigningAlg: alg, Now: m.clock.Now})
		t.Cleanup(op.Close)
		cfg := client.Config{Issuer: op.URL, ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: m.srv.URL + "/auth/callback", Now: m.clock.Now}
		if name == "gh" {
			// Like GitHub: OAuth 2.0 only; the user's API is userinfo.
			cfg.Issuer, cfg.Scopes = "", []string{"profile"}
			cfg.OAuth2 = &client.OAuth2Provider{Issuer: op.URL, AuthURL: op.URL + "/authorize", TokenURL: op.URL + "/token", Identity: userinfoIdentity(op.URL + "/userinfo")}
		}
		rp, err := client.New(ctx(t), cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { rp.Close() })
		m.ops[name], m.rps[name] = op, rp
		providers = append(providers, middleware.Provider{Name: name, Label: "Provider " + strings.ToUpper(name), RP: rp})
	}
	sessions, err := session.New(session.Config{Keys: [][]byte{make([]byte, 32)}, Store: store, Now: m.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	m.auth, err = middleware.New(middleware.Config{
		Providers: providers, Sessions: sessions, Logger: slog.New(slog.DiscardHandler), Events: sink,
		AuthRequest: func(r *http.Request) client.AuthRequest {
			return client.AuthRequest{LoginHint: r.URL.Query().Get("as")}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	page := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
	}
	mx := http.NewServeMux()
	mx.Handle("GET /{$}", page("home"))
	mx.Handle("GET /auth/login", m.auth.Login())
	mx.Handle("GET /auth/callback", m.auth.Callback())
	mx.Handle("POST /auth/backchannel-logout", m.auth.BackchannelLogout())
	mx.Handle("GET /auth/frontchannel-logout", m.auth.FrontchannelLogout())
	mx.Handle("/auth/logout", m.auth.Logout())
	mx.Handle("GET /me", m.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, _ := middleware.SessionFrom(r.Context())
		var claims map[string]any
		if err := middleware.Claims(r.Context(), &claims); err != nil {
			t.Errorf("Claims: %v", err)
		}
		json.NewEncoder(w).Encode(map[string]any{"sub": s.Subject, "iss": s.Issuer, "sid": s.SID, "scopes": s.Scopes,
			"provider": middleware.ProviderName(r.Context()), "name": claims["name"]})
	})))
	mx.Handle("GET /calendar", m.auth.RequireStepUp(middleware.StepUp{Scopes: []string{"calendar"}}, page("calendar")))
	mx.Handle("GET /contacts", m.auth.RequireStepUp(middleware.StepUp{Scopes: []string{"contacts"}}, page("contacts")))
	mx.Handle("GET /strong", m.auth.RequireStepUp(middleware.StepUp{ACRValues: []string{"mfa", "hwk"}}, page("strong")))
	mx.Handle("GET /recent", m.auth.RequireStepUp(middleware.StepUp{MaxAge: time.Minute}, page("recent")))
	mux = mx
	return m
}

// userinfoIdentity is an OAuth2Provider.Identity asking a userinfo
// endpoint, as GitHub's preset asks its user API.
func userinfoIdentity(endpoint string) func(context.Context, *http.Client, string) (*client.Identity, error) {
	return func(ctx context.Context, c *http.Client, token string) (*client.Identity, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("userinfo: %s", resp.Status)
		}
		var u struct {
			Sub  string `json:"sub"`
			Name string `json:"name"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
			return nil, err
		}
		claims, _ := json.Marshal(map[string]string{"name": u.Name})
		return &client.Identity{Subject: u.Sub, Claims: claims}, nil
	}
}

// get navigates b to path on the app.
func (m *multi) get(t *testing.T, b *oidctest.Browser, path string, header ...string) *oidctest.Page {
	t.Helper()
	p, err := b.Get(ctx(t), m.srv.URL+path, header...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// me returns b's /me, nil when it is not logged in.
func (m *multi) me(t *testing.T, b *oidctest.Browser) map[string]any {
	t.Helper()
	p := m.get(t, b, "/me", "Accept", "application/json")
	if p.StatusCode != http.StatusOK {
		return nil
	}
	var v map[string]any
	if err := json.Unmarshal(p.Body, &v); err != nil {
		t.Fatalf("/me: %v", err)
	}
	return v
}

// loggedIn returns a browser logged in with the provider called name.
func (m *multi) loggedIn(t *testing.T, name string) *oidctest.Browser {
	t.Helper()
	b := oidctest.NewBrowser()
	if p := m.get(t, b, "/auth/login?provider="+name); p.StatusCode != http.StatusOK {
		t.Fatalf("login with %s: %v", name, p)
	}
	if me := m.me(t, b); me == nil || me["provider"] != name {
		t.Fatalf("/me after login with %s: %v", name, me)
	}
	return b
}

func TestProvidersLogin(t *testing.T) {
	m := newMulti(t, nil)
	b := oidctest.NewBrowser()
	// Without a provider: a chooser page, keeping return_to.
	p := m.get(t, b, "/auth/login?return_to=/calendar")
	if p.StatusCode != http.StatusOK || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("chooser: %v", p)
	}
	for _, want := range []string{`href="/auth/login?provider=a&amp;return_to=%2Fcalendar"`, `href="/auth/login?provider=b&amp;return_to=%2Fcalendar"`, "Provider GH"} {
		if !strings.Contains(string(p.Body), want) {
			t.Errorf("chooser lacks %s: %s", want, p.Body)
		}
	}
	for _, q := range []string{"provider=c", "provider=", "provider=a&provider=b", "provider=%zz", "provider=A"} {
		if p := m.get(t, b, "/auth/login?"+q); p.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %v", q, p)
		}
	}
	for name, op := range m.ops {
		b := m.loggedIn(t, name)
		me := m.me(t, b)
		if me["sub"] != "alice" || me["iss"] != op.URL || me["name"] != "Alice Example" {
			t.Errorf("%s: /me %v", name, me)
		}
	}
}

func TestProvidersConfig(t *testing.T) {
	m := newMulti(t, nil)
	sessions, _ := session.New(session.Config{Keys: [][]byte{make([]byte, 32)}})
	p := func(name string, rp string) middleware.Provider {
		return middleware.Provider{Name: name, RP: m.rps[rp]}
	}
	for _, tt := range []struct {
		name string
		cfg  middleware.Config
	}{
		{"neither RP nor Providers", middleware.Config{}},
		{"both", middleware.Config{RP: m.rps["a"], Providers: []middleware.Provider{p("a", "a")}}},
		{"no RP", middleware.Config{Providers: []middleware.Provider{{Name: "a"}}}},
		{"bad name", middleware.Config{Providers: []middleware.Provider{p("A b", "a")}}},
		{"empty name", middleware.Config{Providers: []middleware.Provider{p("", "a")}}},
		{"one name twice", middleware.Config{Providers: []middleware.Provider{p("a", "a"), p("a", "b")}}},
		{"one issuer twice", middleware.Config{Providers: []middleware.Provider{p("a", "a"), p("b", "a")}}},
	} {
		tt.cfg.Sessions = sessions
		if _, err := middleware.New(tt.cfg); !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}

// authorize starts an authorization at the provider called name, as its
// RP would, and returns the provider's response.
func (m *multi) authorize(t *testing.T, name string) url.Values {
	t.Helper()
	u, _, err := m.rps[name].AuthCodeURL(client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return redirectQuery(t, http.DefaultClient, u)
}

// redirectQuery requests u without following the redirect it answers, and
// returns the query of its Location.
func redirectQuery(t *testing.T, c *http.Client, u string) url.Values {
	t.Helper()
	nc := *c
	nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := nc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("%s: %d %v", u, resp.StatusCode, err)
	}
	return loc.Query()
}

// TestProvidersMixUp: a login started with one provider takes no response
// of another (the mix-up attack, RFC 9700 section 4.4): the response is
// refused before its code is sent anywhere.
func TestProvidersMixUp(t *testing.T) {
	m := newMulti(t, nil)
	fromB := func(edit func(q url.Values)) url.Values {
		q := m.authorize(t, "b")
		if edit != nil {
			edit(q)
		}
		return q
	}
	for _, tt := range []struct {
		name string
		resp url.Values
	}{
		{"the other provider's response", fromB(nil)},
		{"the other provider's code without iss", fromB(func(q url.Values) { q.Del("iss") })},
		{"an issuer the app does not know", fromB(func(q url.Values) { q.Set("iss", "https://evil.example.com") })},
		{"the other provider's code as an OAuth 2.0 provider's", fromB(func(q url.Values) { q.Set("iss", m.ops["gh"].URL) })},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := oidctest.NewBrowser()
			// The user starts a login with provider a...
			state := redirectQuery(t, b.Client, m.srv.URL+"/auth/login?provider=a").Get("state")
			// ... and the callback gets b's response with a's state.
			tt.resp.Set("state", state)
			p := m.get(t, b, "/auth/callback?"+tt.resp.Encode())
			if p.StatusCode != http.StatusBadRequest {
				t.Fatalf("callback: %v", p)
			}
			if me := m.me(t, b); me != nil {
				t.Fatalf("session %v", me)
			}
			for name, op := range m.ops {
				if st := op.Stats(); st.CodeGrants != 0 || st.FailedGrants != 0 {
					t.Errorf("%s got a token request: %+v", name, st)
				}
			}
		})
	}
	// The login itself works.
	m.loggedIn(t, "a")
}

// TestProvidersLogoutIsolation: alice at provider a and alice at provider b
// are two users; logging one out never logs out the other, whatever keeps
// the sessions.
func TestProvidersLogoutIsolation(t *testing.T) {
	for _, store := range []struct {
		name  string
		store session.Store
	}{{"cookie", nil}, {"memory", &session.MemoryStore{}}} {
		t.Run(store.name, func(t *testing.T) {
			m := newMulti(t, store.store)
			atA, atB := m.loggedIn(t, "a"), m.loggedIn(t, "b")
			sidA := m.me(t, atA)["sid"].(string)

			// Front-channel from b naming a's sid: b's sessions of that
			// sid, of which there are none.
			q := url.Values{"iss": {m.ops["b"].URL}, "sid": {sidA}}
			if p := m.get(t, oidctest.NewBrowser(), "/auth/frontchannel-logout?"+q.Encode()); p.StatusCode != http.StatusOK {
				t.Fatalf("front-channel: %v", p)
			}
			// A logout token claiming a's issuer, signed by b.
			forged := m.ops["b"].SignJWT(map[string]any{"iss": m.ops["a"].URL, "aud": oidctest.DefaultClient.ID, "sub": "alice",
				"iat": time.Now().Unix(), "exp": time.Now().Add(time.Minute).Unix(), "jti": "j1",
				"events": map[string]any{oidctest.BackchannelLogoutEvent: map[string]any{}}}, "logout+jwt")
			resp, err := http.PostForm(m.srv.URL+"/auth/backchannel-logout", url.Values{"logout_token": {forged}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("forged logout token: %d", resp.StatusCode)
			}
			if m.me(t, atA) == nil || m.me(t, atB) == nil {
				t.Fatal("a session ended")
			}

			// Back-channel logout of alice at b.
			if sids := m.ops["b"].Logout("alice"); len(sids) != 1 {
				t.Fatalf("b ended %v", sids)
			}
			if errs := m.ops["b"].DeliveryErrors(); len(errs) > 0 {
				t.Fatal(errs)
			}
			if m.me(t, atB) != nil {
				t.Fatal("b's session outlived its logout")
			}
			if m.me(t, atA) == nil {
				t.Fatal("a's session of the same sub ended with b's logout")
			}
			// And at a.
			m.ops["a"].Logout("alice")
			if m.me(t, atA) != nil {
				t.Fatal("a's session outlived its logout")
			}
		})
	}
}

func TestStepUpScopes(t *testing.T) {
	m := newMulti(t, &session.MemoryStore{})
	b := m.loggedIn(t, "a")
	// An API request is told what it lacks.
	p := m.get(t, b, "/calendar", "Accept", "application/json")
	if p.StatusCode != http.StatusForbidden || p.Header.Get("WWW-Authenticate") != `Bearer error="insufficient_scope", scope="calendar"` {
		t.Fatalf("API request: %v %v", p, p.Header)
	}
	// A browser is sent to the provider for the scope, and back.
	if p := m.get(t, b, "/calendar"); p.StatusCode != http.StatusOK || string(p.Body) != "calendar" {
		t.Fatalf("step-up: %v", p)
	}
	if me := m.me(t, b); me["sub"] != "alice" || me["scopes"] != "calendar email openid profile" {
		t.Fatalf("/me after step-up: %v", me)
	}
	authorizations := m.ops["a"].Stats().Authorizations
	if p := m.get(t, b, "/calendar"); p.StatusCode != http.StatusOK || m.ops["a"].Stats().Authorizations != authorizations {
		t.Fatalf("granted scope asked again: %v", p)
	}
	// A step-up that comes back as another user is refused; the session
	// stays, with what it had.
	if p := m.get(t, b, "/contacts?as=bob"); p.StatusCode != http.StatusForbidden {
		t.Fatalf("step-up as bob: %v", p)
	}
	if me := m.me(t, b); me["sub"] != "alice" || me["scopes"] != "calendar email openid profile" {
		t.Fatalf("/me after bob's step-up: %v", me)
	}
	// The OAuth 2.0 provider's user steps up the same way.
	gh := m.loggedIn(t, "gh")
	if p := m.get(t, gh, "/calendar"); p.StatusCode != http.StatusOK {
		t.Fatalf("step-up at gh: %v", p)
	}
	if me := m.me(t, gh); me["scopes"] != "calendar profile" || me["provider"] != "gh" {
		t.Fatalf("/me after step-up at gh: %v", me)
	}
}

func TestStepUpAuthentication(t *testing.T) {
	m := newMulti(t, nil)
	b := m.loggedIn(t, "b")
	p := m.get(t, b, "/strong", "Accept", "application/json")
	if p.StatusCode != http.StatusForbidden || p.Header.Get("WWW-Authenticate") != `Bearer error="insufficient_user_authentication", acr_values="mfa hwk"` {
		t.Fatalf("API request: %v %v", p, p.Header)
	}
	// The test provider authenticates with the first acr asked for.
	if p := m.get(t, b, "/strong"); p.StatusCode != http.StatusOK || string(p.Body) != "strong" {
		t.Fatalf("step-up: %v", p)
	}
	// A provider that authenticates less strongly than asked: refused,
	// and the session stays as it was.
	b2 := m.loggedIn(t, "b")
	m.ops["b"].SetHooks(oidctest.Hooks{IDToken: func(c map[string]any) { c["acr"] = "pwd" }})
	if p := m.get(t, b2, "/strong"); p.StatusCode != http.StatusForbidden {
		t.Fatalf("step-up with acr pwd: %v", p)
	}
	m.ops["b"].SetHooks(oidctest.Hooks{})
	if me := m.me(t, b2); me == nil {
		t.Fatal("session lost")
	}
	if p := m.get(t, b2, "/strong", "Accept", "application/json"); p.StatusCode != http.StatusForbidden {
		t.Fatalf("after refused step-up: %v", p)
	}
	// max_age: a login older than a minute is renewed.
	if p := m.get(t, b2, "/recent"); p.StatusCode != http.StatusOK {
		t.Fatalf("recent login: %v", p)
	}
	before := m.ops["b"].Stats().Authorizations
	m.clock.Advance(2 * time.Minute)
	if p := m.get(t, b2, "/recent"); p.StatusCode != http.StatusOK || m.ops["b"].Stats().Authorizations != before+1 {
		t.Fatalf("old login: %v, %d authorizations", p, m.ops["b"].Stats().Authorizations-before)
	}
	if p := m.get(t, b2, "/recent", "Accept", "application/json"); p.StatusCode != http.StatusOK {
		t.Fatalf("renewed login: %v", p)
	}
}
