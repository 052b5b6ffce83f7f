package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// TestUnauthenticated: browsers navigating are sent to the login, API
// requests get 401 with WWW-Authenticate.
func TestUnauthenticated(t *testing.T) {
	h := newHarness(t, options{})
	tests := []struct {
		name, method string
		header       []string
		want         int
	}{
		{"browser GET", "GET", []string{"Accept", "text/html,application/xhtml+xml"}, http.StatusFound},
		{"browser HEAD", "HEAD", nil, http.StatusFound},
		{"JSON client", "GET", []string{"Accept", "application/json"}, http.StatusUnauthorized},
		{"XHR", "GET", []string{"X-Requested-With", "XMLHttpRequest"}, http.StatusUnauthorized},
		{"POST", "POST", nil, http.StatusUnauthorized},
		{"DELETE", "DELETE", []string{"Accept", "text/html"}, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(ctx(t), tt.method, h.srv.URL+"/me?x=1", nil)
			for i := 0; i < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := oidctest.NewBrowser().Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			switch tt.want {
			case http.StatusFound:
				if loc := resp.Header.Get("Location"); loc != "/auth/login?return_to=%2Fme%3Fx%3D1" {
					t.Fatalf("Location %q", loc)
				}
			case http.StatusUnauthorized:
				if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Cookie ") {
					t.Fatalf("WWW-Authenticate %q", resp.Header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}

// TestTamperedCookie: a session cookie changed in any way grants nothing,
// panics nothing, and is deleted.
func TestTamperedCookie(t *testing.T) {
	h := newHarness(t, options{})
	b := oidctest.NewBrowser()
	h.login(t, b, "")
	value, ok := b.Cookie(h.srv.URL, "oidcrp_session")
	if !ok {
		t.Fatal("no session cookie")
	}
	for name, v := range map[string]string{
		"flipped":   value[:40] + string(rune('A'+(value[40]-'A'+1)%26)) + value[41:],
		"truncated": value[:len(value)/2],
		"empty":     "",
		"garbage":   "not-a-session",
		"chunked":   "3." + value,
	} {
		t.Run(name, func(t *testing.T) {
			tb := oidctest.NewBrowser()
			tb.SetCookie(h.srv.URL, &http.Cookie{Name: "oidcrp_session", Value: v, Path: "/"})
			p, _ := h.me(t, tb)
			if p.StatusCode != http.StatusUnauthorized {
				t.Fatalf("/me: %v", p)
			}
			if _, still := tb.Cookie(h.srv.URL, "oidcrp_session"); still && v != "" {
				t.Fatal("bad cookie not deleted")
			}
		})
	}
}

func TestExpiredSession(t *testing.T) {
	h := newHarness(t, options{session: session.Config{AbsoluteTimeout: time.Hour, IdleTimeout: 10 * time.Minute}})
	b := oidctest.NewBrowser()
	h.login(t, b, "")
	// Used every 8 minutes, the session outlives its idle timeout...
	for range 5 {
		h.clock.Advance(8 * time.Minute)
		if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
			t.Fatalf("/me while in use: %v", p)
		}
	}
	// ...but not its absolute one.
	h.clock.Advance(21 * time.Minute)
	if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/me past the absolute timeout: %v", p)
	}
	// Idle too long.
	b = oidctest.NewBrowser()
	h.login(t, b, "")
	h.clock.Advance(11 * time.Minute)
	if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/me past the idle timeout: %v", p)
	}
}

func TestOptional(t *testing.T) {
	h := newHarness(t, options{})
	b := oidctest.NewBrowser()
	p, err := b.Get(ctx(t), h.srv.URL+"/")
	if err != nil || p.StatusCode != http.StatusOK || string(p.Body) != "home of " {
		t.Fatalf("anonymous home: %v %v", p, err)
	}
	h.login(t, b, "")
	if p, _ := b.Get(ctx(t), h.srv.URL+"/"); string(p.Body) != "home of alice" {
		t.Fatalf("home: %v", p)
	}
	b.SetCookie(h.srv.URL, &http.Cookie{Name: "oidcrp_session", Value: "garbage", Path: "/"})
	if p, _ := b.Get(ctx(t), h.srv.URL+"/"); p.StatusCode != http.StatusOK || string(p.Body) != "home of " {
		t.Fatalf("home with a bad cookie: %v", p)
	}
}

func TestServerSideSessions(t *testing.T) {
	store := &session.MemoryStore{}
	h := newHarness(t, options{session: session.Config{Store: store}})
	b := oidctest.NewBrowser()
	h.login(t, b, "")
	if v, _ := b.Cookie(h.srv.URL, "oidcrp_session"); len(v) > 200 {
		t.Fatalf("cookie of %d bytes with a server-side store", len(v))
	}
	if p, me := h.me(t, b); p.StatusCode != http.StatusOK || me["sub"] != "alice" {
		t.Fatalf("/me: %v", p)
	}
	// A second login replaces the first session: no fixation, no leftovers.
	h.login(t, b, "")
	if store.Len() != 1 {
		t.Fatalf("%d sessions stored after two logins", store.Len())
	}
	b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil)
	if store.Len() != 0 {
		t.Fatalf("%d sessions stored after logout", store.Len())
	}
}

// failingStore fails every call, like a store whose server is down.
type failingStore struct{ session.MemoryStore }

var errDown = errors.New("store down")

func (*failingStore) Load(context.Context, string) ([]byte, error) { return nil, errDown }

// TestStoreDown: requests fail closed with 503, never granted.
func TestStoreDown(t *testing.T) {
	store := &failingStore{}
	h := newHarness(t, options{session: session.Config{Store: store}})
	b := oidctest.NewBrowser()
	h.login(t, b, "") // Save works, Load fails
	p, _ := h.me(t, b)
	if p.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(p.Body), errDown.Error()) {
		t.Fatalf("/me with the store down: %v", p)
	}
	if p, _ := b.Get(ctx(t), h.srv.URL+"/"); p.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("optional page with the store down: %v", p)
	}
}

func TestConfigErrors(t *testing.T) {
	h := newHarness(t, options{})
	for _, cfg := range []middleware.Config{
		{Sessions: h.sessions},
		{RP: h.rp},
		{RP: h.rp, Sessions: h.sessions, LoginPath: "https://evil/login"},
		{RP: h.rp, Sessions: h.sessions, DefaultReturnTo: "//evil"},
	} {
		if _, err := middleware.New(cfg); !errors.Is(err, middleware.ErrInvalidConfig) {
			t.Errorf("%+v: err = %v", cfg, err)
		}
	}
}

func TestAccessorsWithoutSession(t *testing.T) {
	c := context.Background()
	if _, ok := middleware.SessionFrom(c); ok || middleware.Subject(c) != "" {
		t.Fatal("session in an empty context")
	}
	if err := middleware.Claims(c, &struct{}{}); !errors.Is(err, middleware.ErrNotAuthenticated) {
		t.Fatalf("Claims: %v", err)
	}
}
