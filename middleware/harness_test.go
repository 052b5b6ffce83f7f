package middleware_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// harness is an app wired like examples/webapp, in front of a test provider.
type harness struct {
	op       *oidctest.Server
	rp       *client.RP
	sessions *session.Manager
	auth     *middleware.Auth
	srv      *httptest.Server
	clock    *testutil.Clock // the app's; the test provider reads the real one
	slow     chan struct{}   // GET /slow answers once it receives
}

type options struct {
	provider oidctest.Config
	session  session.Config
	auth     middleware.Config
	scopes   []string
	client   func(*client.Config) // edits the RP's config, if set

	// providerClock puts the provider on the harness's clock, for DPoP
	// proofs (their iat) and access tokens that expire when it advances.
	providerClock bool
}

func newHarness(t *testing.T, o options) *harness {
	t.Helper()
	h := &harness{clock: testutil.RealClock(), slow: make(chan struct{})}
	var mux http.Handler = http.NotFoundHandler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mux.ServeHTTP(w, r) }))
	t.Cleanup(h.srv.Close)
	if len(o.provider.Clients) == 0 {
		c := oidctest.DefaultClient
		c.BackchannelLogoutURI = h.srv.URL + "/auth/backchannel-logout"
		o.provider.Clients = []oidctest.Client{c}
	}
	if o.providerClock {
		o.provider.Now = h.clock.Now
	}
	h.op = oidctest.NewServer(o.provider)
	t.Cleanup(h.op.Close)
	c := h.op.Client()
	var err error
	rpCfg := client.Config{
		Issuer: h.op.URL, ClientID: c.ID, ClientSecret: c.Secret,
		RedirectURL: h.srv.URL + "/auth/callback", Scopes: o.scopes, Now: h.clock.Now,
	}
	if o.client != nil {
		o.client(&rpCfg)
	}
	h.rp, err = client.New(ctx(t), rpCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.rp.Close() })
	o.session.Keys = [][]byte{make([]byte, 32)}
	if o.session.Now == nil {
		o.session.Now = h.clock.Now
	}
	if h.sessions, err = session.New(o.session); err != nil {
		t.Fatal(err)
	}
	o.auth.RP, o.auth.Sessions = h.rp, h.sessions
	if o.auth.Logger == nil {
		o.auth.Logger = slog.New(slog.DiscardHandler)
	}
	if o.auth.PostLogoutRedirectURL == "" {
		o.auth.PostLogoutRedirectURL = h.srv.URL + "/"
	}
	if h.auth, err = middleware.New(o.auth); err != nil {
		t.Fatal(err)
	}
	m := http.NewServeMux()
	m.Handle("GET /{$}", h.auth.PostLogout(h.auth.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("home of " + middleware.Subject(r.Context())))
	}))))
	m.Handle("POST /auth/backchannel-logout", h.auth.BackchannelLogout())
	m.Handle("GET /auth/frontchannel-logout", h.auth.FrontchannelLogout())
	m.Handle("GET /auth/login", h.auth.Login())
	m.Handle("GET /auth/callback", h.auth.Callback())
	m.Handle("POST /auth/callback", h.auth.Callback())
	m.Handle("/auth/logout", h.auth.Logout())
	m.Handle("/me", h.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var claims map[string]any
		if err := middleware.Claims(r.Context(), &claims); err != nil {
			t.Errorf("Claims: %v", err)
		}
		s, _ := middleware.SessionFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"sub": middleware.Subject(r.Context()), "claims": claims, "sid": s.SID})
	})))
	m.Handle("GET /token", h.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := h.auth.TokenSource(r).Token()
		if err != nil {
			http.Error(w, err.Error(), middleware.ErrorStatus(err))
			return
		}
		w.Write([]byte(tok.AccessToken))
	})))
	m.Handle("GET /call", h.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Calls the URL in the query as the user, and relays the answer.
		resp, err := h.auth.HTTPClient(r).Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})))
	m.Handle("GET /slow", h.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-h.slow
		w.Write([]byte("slow"))
	})))
	m.Handle("GET /late", h.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Writes its answer's header first, then calls userinfo as the
		// user: a refresh then happens after the cookie could be set.
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		resp, err := h.auth.HTTPClient(r).Get(h.op.URL + "/userinfo")
		if err != nil {
			fmt.Fprintf(w, "error: %v", err)
			return
		}
		resp.Body.Close()
		fmt.Fprintf(w, "userinfo: %d", resp.StatusCode)
	})))
	mux = m
	return h
}

func ctx(t *testing.T) context.Context { return testutil.Context(t) }

// login logs b in through the app and returns the page it lands on.
func (h *harness) login(t *testing.T, b *oidctest.Browser, returnTo string) *oidctest.Page {
	t.Helper()
	u := h.srv.URL + "/auth/login"
	if returnTo != "" {
		u += "?return_to=" + returnTo
	}
	p, err := b.Get(ctx(t), u)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// me fetches /me as an API client.
func (h *harness) me(t *testing.T, b *oidctest.Browser) (*oidctest.Page, map[string]any) {
	t.Helper()
	p, err := b.Get(ctx(t), h.srv.URL+"/me", "Accept", "application/json")
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if p.StatusCode == http.StatusOK {
		if err := json.Unmarshal(p.Body, &v); err != nil {
			t.Fatalf("/me: %v: %s", err, p.Body)
		}
	}
	return p, v
}

func base64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
