package session_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

// TestOpenedSessions: a cookie value seen before is not opened again, yet
// every Load gets a session of its own, and the timeouts and revocations
// are checked every time.
func TestOpenedSessions(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	s := sample(clk)
	s.Issuer = "https://op.example"
	j := login(t, m, "http://app.example/", s)
	first, err := m.Load(j.request("http://app.example/"))
	if err != nil || session.OpenedLen(m) != 1 {
		t.Fatalf("first Load: %v, %d kept", err, session.OpenedLen(m))
	}
	first.Subject = "changed by a careless caller"
	r := j.request("http://app.example/")
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.Load(r); err != nil {
			t.Fatal(err)
		}
	})
	second, _ := m.Load(r)
	if second == first || second.Subject != s.Subject || !sameSession(second, s) {
		t.Fatalf("second Load: %v (the same session as the first: %v)", second, second == first)
	}
	if allocs > 1 {
		t.Errorf("Load of a cookie seen before: %.0f allocations, want 1 (its copy)", allocs)
	}

	// Revoked: refused, cached or not.
	if err := m.Revoke(context.Background(), session.Revocation{Issuer: s.Issuer, SID: s.SID}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Load(r); err != session.ErrRevoked {
		t.Fatalf("Load after a logout: %v", err)
	}
	// Expired: refused.
	j = login(t, m, "http://app.example/", sample(clk))
	r = j.request("http://app.example/")
	if _, err := m.Load(r); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Hour)
	if _, err := m.Load(r); err != session.ErrExpired {
		t.Fatalf("Load past the idle timeout: %v", err)
	}
}

// TestOpenedSessionsBounded: only cookies that open are kept, at most
// OpenedSessions of them, and none longer than one cookie's worth.
func TestOpenedSessionsBounded(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, func(c *session.Config) { c.OpenedSessions = 3 })
	for i := range 10 {
		j := login(t, m, "http://app.example/", sample(clk))
		if _, err := m.Load(j.request("http://app.example/")); err != nil {
			t.Fatal(i, err)
		}
		if n := session.OpenedLen(m); n > 3 {
			t.Fatalf("%d sessions kept, want at most 3", n)
		}
	}
	// Made-up and tampered cookies are not kept.
	m = newManager(t, clk, nil)
	j := login(t, m, "http://app.example/", sample(clk))
	good := j.cookies["oidcrp_session"]
	for i := range 100 {
		r := httptest.NewRequest("GET", "http://app.example/", nil)
		bad := good[:100] + strings.Repeat(string(rune('A'+i%26)), 10) + good[110:]
		r.Header.Set("Cookie", "oidcrp_session="+bad)
		if _, err := m.Load(r); err == nil {
			t.Fatal("a tampered cookie loaded")
		}
	}
	if n := session.OpenedLen(m); n != 0 {
		t.Fatalf("%d sessions kept from tampered cookies", n)
	}
	// A session in several cookies is opened each time.
	big := sample(clk)
	big.Claims = []byte(`{"x":"` + randomText(6000) + `"}`)
	j = login(t, m, "http://app.example/", big)
	if _, err := m.Load(j.request("http://app.example/")); err != nil || session.OpenedLen(m) != 0 {
		t.Fatalf("chunked session: %v, %d kept", err, session.OpenedLen(m))
	}
	// None kept when asked, nor with a Store (whose records can change
	// under the same cookie).
	for _, edit := range []func(*session.Config){
		func(c *session.Config) { c.OpenedSessions = -1 },
		func(c *session.Config) { c.Store = &session.MemoryStore{} },
	} {
		if n := session.OpenedLen(newManager(t, clk, edit)); n != -1 {
			t.Errorf("cache of %d", n)
		}
	}
}

// TestOpenedSessionsDefaultIssuer: a Manager with a default issuer does
// not hand out the sessions another opened without one.
func TestOpenedSessionsDefaultIssuer(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	s := sample(clk) // no issuer, as sessions saved before issuers were
	j := login(t, m, "http://app.example/", s)
	r := j.request("http://app.example/")
	if got, err := m.Load(r); err != nil || got.Issuer != "" {
		t.Fatalf("Load: %v, %v", got, err)
	}
	if got, err := m.WithDefaultIssuer("https://op.example").Load(r); err != nil || got.Issuer != "https://op.example" {
		t.Fatalf("Load with a default issuer: %v, %v", got, err)
	}
}
