// Package setuptest runs the test every framework example passes: with the
// embedded provider, a browser asking for a guarded route is sent to log
// in and lands on it; the route reads the user; the API route calls the
// provider's userinfo as the user; the routes turn away a browser without
// a session. It imports testing: tests only.
package setuptest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/examples/frameworks/internal/setup"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
)

// Check tests the app routes builds.
func Check(t *testing.T, routes func(auth *middleware.Auth, apiURL string) http.Handler) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var handler http.Handler = http.NotFoundHandler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	defer srv.Close()
	getenv := func(string) string { return "" } // the embedded provider
	app, err := setup.New(ctx, getenv, srv.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	handler = routes(app.Auth, app.APIURL)

	// Without a session: an API client gets 401.
	anon := oidctest.NewBrowser()
	if p, err := anon.Get(ctx, srv.URL+"/me", "Accept", "application/json"); err != nil || p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /me without a session: %v, %v", p, err)
	}

	// A browser is sent to log in and lands on the page it asked for.
	b := oidctest.NewBrowser()
	p, err := b.Get(ctx, srv.URL+"/me")
	if err != nil {
		t.Fatal(err)
	}
	var me map[string]string
	if p.StatusCode != http.StatusOK || json.Unmarshal(p.Body, &me) != nil || me["sub"] != "demo" || me["name"] != "Demo User" {
		t.Fatalf("GET /me through the login: %v %s", p, p.Body)
	}
	// The API, called as the user with the session's access token.
	p, err = b.Get(ctx, srv.URL+"/api")
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if p.StatusCode != http.StatusOK || json.Unmarshal(p.Body, &info) != nil || info["sub"] != "demo" {
		t.Fatalf("GET /api: %v %s", p, p.Body)
	}
	// The session works on the next request too.
	resp, err := b.Client.Get(srv.URL + "/me")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second GET /me: %d", resp.StatusCode)
	}
}
