package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// TestSecureBehindProxy: TLS ends at a proxy, the app gets plain HTTP, and
// its redirect URL is https. Flow and session cookies are Secure with the
// __Host- prefix all the same: the web layer derives it from the redirect
// URL.
func TestSecureBehindProxy(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	c := op.Client()
	rp, err := client.New(ctx(t), client.Config{Issuer: op.URL, ClientID: c.ID, ClientSecret: c.Secret, RedirectURL: "https://app.example.com/auth/callback"})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	sessions, err := session.New(session.Config{Keys: [][]byte{make([]byte, 32)}})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := middleware.New(middleware.Config{RP: rp, Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	auth.Login().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://app.example.com/auth/login", nil))
	cookies := rec.Header()["Set-Cookie"]
	if rec.Code != http.StatusFound || len(cookies) != 1 || !strings.HasPrefix(cookies[0], "__Host-oidcrp_flow_") || !strings.Contains(cookies[0], "; Secure") {
		t.Fatalf("login behind a TLS proxy: %d %q; want a Secure __Host- flow cookie", rec.Code, cookies)
	}
}
