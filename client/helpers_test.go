package client_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/oidctest"
)

// noRedirect is an HTTP client that stops at the first redirect, the way a
// test inspects each hop of a login.
var noRedirect = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       10 * time.Second,
}

func testContext(t *testing.T) context.Context { return testutil.Context(t) }

// newRP starts a provider and returns an RP for its default client.
func newRP(t *testing.T, pcfg oidctest.Config, edit func(*client.Config)) (*oidctest.Server, *client.RP) {
	t.Helper()
	op := oidctest.NewServer(pcfg)
	t.Cleanup(op.Close)
	c := op.Client()
	cfg := client.Config{
		Issuer:       op.URL,
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		RedirectURL:  "http://127.0.0.1/callback",
	}
	if edit != nil {
		edit(&cfg)
	}
	rp, err := client.New(testContext(t), cfg)
	if err != nil {
		t.Fatalf("client.New: %v", err)
	}
	t.Cleanup(func() { rp.Close() })
	return op, rp
}

// authorize follows the authorization URL to the provider and returns the
// query of its redirect back to the client.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatalf("GET authorization URL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization endpoint answered %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	return loc.Query()
}

// login runs a whole login and returns the tokens.
func login(t *testing.T, rp *client.RP, req client.AuthRequest) (*client.Tokens, error) {
	t.Helper()
	u, flow, err := rp.AuthCodeURL(req)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	return rp.Callback(testContext(t), flow, authorize(t, u))
}

func testContextF(f *testing.F) context.Context { return testutil.Context(f) }
