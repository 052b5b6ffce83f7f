package middleware_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// TestLogoutCSRF: another site cannot log the user out. A GET shows a
// confirmation page with a POST form (and cannot be framed); a cross-origin
// POST is refused, whatever the app's own protections; a same-origin POST
// logs out.
func TestLogoutCSRF(t *testing.T) {
	h := newHarness(t, options{})
	b := oidctest.NewBrowser()
	h.login(t, b, "")
	loggedIn := func() bool { p, _ := h.me(t, b); return p.StatusCode == http.StatusOK }

	p, err := b.Get(ctx(t), h.srv.URL+"/auth/logout")
	if err != nil {
		t.Fatal(err)
	}
	body := string(p.Body)
	if p.StatusCode != http.StatusOK || !strings.Contains(body, `method="post"`) || !strings.Contains(body, `action="/auth/logout"`) ||
		p.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(p.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET /auth/logout: %v %s %v", p, body, p.Header)
	}
	if !loggedIn() {
		t.Fatal("a GET logged the user out")
	}
	for _, header := range [][]string{
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Origin", "https://evil.example.com"},
	} {
		p, err := b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil, header...)
		if err != nil {
			t.Fatal(err)
		}
		if p.StatusCode != http.StatusForbidden || !loggedIn() {
			t.Fatalf("POST with %v: %v, logged in %v; want 403 and the session kept", header, p, loggedIn())
		}
	}
	p, err = b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil, "Sec-Fetch-Site", "same-origin", "Origin", h.srv.URL)
	if err != nil || p.StatusCode != http.StatusOK || loggedIn() {
		t.Fatalf("same-origin POST: %v %v, logged in %v", p, err, loggedIn())
	}
	resp, err := http.DefaultClient.Do(mustRequest(t, http.MethodPut, h.srv.URL+"/auth/logout"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST" {
		t.Fatalf("PUT: %d %v", resp.StatusCode, resp.Header)
	}
}

func mustRequest(t *testing.T, method, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// TestLogoutCopiedCookie: with cookie sessions, a copy of the cookie taken
// before logout stops working at logout, not at its timeouts, even when no
// back-channel logout from the provider follows.
func TestLogoutCopiedCookie(t *testing.T) {
	h := newHarness(t, options{provider: oidctest.Config{Clients: []oidctest.Client{oidctest.DefaultClient}}})
	b := oidctest.NewBrowser()
	h.login(t, b, "")
	value, _ := b.Cookie(h.srv.URL, "oidcrp_session")
	thief := oidctest.NewBrowser()
	thief.SetCookie(h.srv.URL, &http.Cookie{Name: "oidcrp_session", Value: value, Path: "/"})
	if p, _ := h.me(t, thief); p.StatusCode != http.StatusOK {
		t.Fatalf("copied cookie before logout: %v", p)
	}
	if p, err := b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("logout: %v %v", p, err)
	}
	if p, _ := h.me(t, thief); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("copied cookie after logout: %v, want 401", p)
	}
	// A new login of the same user works.
	h.login(t, b, "")
	if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
		t.Fatalf("login after logout: %v", p)
	}
}

// flakyStore is a MemoryStore whose Load and Delete fail while told to.
type flakyStore struct {
	session.MemoryStore
	loadFails, deleteFails atomic.Bool
}

func (s *flakyStore) Load(ctx context.Context, id string) ([]byte, error) {
	if s.loadFails.Load() {
		return nil, errDown
	}
	return s.MemoryStore.Load(ctx, id)
}

func (s *flakyStore) Delete(ctx context.Context, id string) error {
	if s.deleteFails.Load() {
		return errDown
	}
	return s.MemoryStore.Delete(ctx, id)
}

// TestLogoutStoreDown: a logout that cannot delete the session's record
// answers 503 and keeps the cookie, so that the user can try again (the
// record lives on: reporting success would be a lie). A record the store
// cannot load is still deleted, by the ID the cookie seals.
func TestLogoutStoreDown(t *testing.T) {
	store := &flakyStore{}
	h := newHarness(t, options{session: session.Config{Store: store}})
	b := oidctest.NewBrowser()
	h.login(t, b, "")

	store.loadFails.Store(true)
	store.deleteFails.Store(true)
	p, err := b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil)
	if err != nil || p.StatusCode != http.StatusServiceUnavailable || store.Len() != 1 {
		t.Fatalf("logout with the store down: %v %v, %d records; want 503 and the record kept", p, err, store.Len())
	}
	if _, ok := b.Cookie(h.srv.URL, "oidcrp_session"); !ok {
		t.Fatal("the cookie was dropped although the session lives on")
	}

	// The store deletes but cannot load: the record goes all the same.
	store.deleteFails.Store(false)
	p, err = b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil)
	if err != nil || p.StatusCode != http.StatusOK || store.Len() != 0 {
		t.Fatalf("logout with Load failing: %v %v, %d records; want the record deleted", p, err, store.Len())
	}
	store.loadFails.Store(false)
	if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/me after logout: %v", p)
	}
}
