// Command macrobench serves the example web app's guarded route two ways,
// for scripts/macrobench to load them with wrk: GET /me through
// middleware.Require, as examples/webapp serves it, and GET /plain/me, the
// same handler's work (the user's claims decoded and written as JSON)
// without the guard. It sets the app up as examples/webapp does with no
// configuration (the embedded provider, userinfo kept, a random session
// key), logs in once through the provider with a cookie jar, and prints:
//
//	URL=http://127.0.0.1:PORT
//	COOKIE=<the Cookie header a logged-in browser sends>
//	READY
//
// then serves until its standard input closes or it is signalled, with a
// CPU profile of that time written to $MACROBENCH_CPUPROFILE if set. It is
// a measuring tool, not an example: see examples/webapp for the app.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/randstr"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "macrobench:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if f := os.Getenv("MACROBENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Printf("URL=%s\nCOOKIE=%s\nREADY\n", s.url, s.cookie)
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-ctx.Done():
	case <-done:
	}
	return nil
}

// server is the app, serving, with a logged-in user's Cookie header.
type server struct {
	url, cookie string
	handler     http.Handler
	close       func()
}

// start sets the app up, serves it on a loopback port and logs in once.
func start(ctx context.Context) (_ *server, err error) {
	var closers []func()
	s := &server{close: func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { l.Close() })
	app := "http://" + l.Addr().String()
	s.url = app

	// The embedded provider, as examples/webapp starts it without OIDC_ISSUER.
	c := oidctest.Client{ID: "webapp", Secret: randstr.Token(), RedirectURIs: []string{app + "/auth/callback"}}
	op := oidctest.NewServer(oidctest.Config{
		Clients: []oidctest.Client{c},
		Users: []oidctest.User{{Subject: "demo", Claims: map[string]any{
			"name": "Demo User", "given_name": "Demo", "family_name": "User",
			"preferred_username": "demo", "email": "demo@example.com", "email_verified": true,
		}}},
	})
	closers = append(closers, op.Close)
	rp, err := client.New(ctx, client.Config{Issuer: op.URL, ClientID: c.ID, ClientSecret: c.Secret,
		RedirectURL: app + "/auth/callback", Scopes: []string{"openid", "profile", "email"}})
	if err != nil {
		return nil, err
	}
	closers = append(closers, func() { rp.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	sessions, err := session.New(session.Config{Keys: [][]byte{key}})
	if err != nil {
		return nil, err
	}
	auth, err := middleware.New(middleware.Config{RP: rp, Sessions: sessions, UserInfo: true})
	if err != nil {
		return nil, err
	}

	// plain is what /me writes, without the guard: the claims a logged-in
	// request read (filled in after the login below), decoded and encoded
	// as me does.
	var plain struct {
		sub    string
		claims json.RawMessage
	}
	mux := http.NewServeMux()
	mux.Handle("GET /auth/login", auth.Login())
	mux.Handle("GET /auth/callback", auth.Callback())
	mux.Handle("GET /me", auth.Require(http.HandlerFunc(me)))
	mux.HandleFunc("GET /plain/me", func(w http.ResponseWriter, r *http.Request) {
		var claims map[string]any
		if err := json.Unmarshal(plain.claims, &claims); err != nil {
			http.Error(w, "no session", http.StatusUnauthorized)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"sub": plain.sub, "claims": claims})
	})
	srv := &http.Server{Handler: mux, MaxHeaderBytes: 64 << 10}
	go srv.Serve(l)
	closers = append(closers, func() { srv.Close() })
	s.handler = mux

	// Log in once, as a browser does, and keep the session cookie.
	b := oidctest.NewBrowser()
	page, err := b.Get(ctx, app+"/me")
	if err != nil {
		return nil, err
	}
	if page.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("login: %v", page)
	}
	var body struct {
		Sub    string          `json:"sub"`
		Claims json.RawMessage `json:"claims"`
	}
	if err := json.Unmarshal(page.Body, &body); err != nil {
		return nil, fmt.Errorf("/me: %w", err)
	}
	plain.sub, plain.claims = body.Sub, body.Claims
	u, _ := url.Parse(app + "/me")
	var cookies []string
	for _, c := range b.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	s.cookie = strings.Join(cookies, "; ")
	return s, nil
}

// me is examples/webapp's GET /me: {"sub": ..., "claims": {...}}.
func me(w http.ResponseWriter, r *http.Request) {
	var claims map[string]any
	if err := middleware.Claims(r.Context(), &claims); err != nil {
		http.Error(w, "no session", http.StatusUnauthorized)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sub": middleware.Subject(r.Context()), "claims": claims})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
