package middleware_test

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// junkCookies returns a Cookie header of n cookies named prefix + a random
// suffix, each with a value that is no sealed flow (about 75 bytes each).
func junkCookies(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s%s=%s", prefix, rand.Text()[:16], rand.Text()+rand.Text())
	}
	return b.String()
}

// TestLoginJunkFlowCookies: an anonymous login request carrying 4,000 junk
// flow cookies (a 300 KiB Cookie header) costs a bounded amount of work
// and gets a bounded number of Set-Cookie headers back, and so does every
// request that writes the session cookie when it carries 4,000 junk chunk
// cookies.
func TestLoginJunkFlowCookies(t *testing.T) {
	h := newHarness(t, options{})
	header := junkCookies("oidcrp_flow_", 4000)
	t.Logf("Cookie header of %d KiB", len(header)>>10)
	var best time.Duration
	for i := range 3 {
		req := httptest.NewRequest(http.MethodGet, h.srv.URL+"/auth/login", nil)
		req.Header.Set("Cookie", header)
		rec := httptest.NewRecorder()
		start := time.Now()
		h.auth.Login().ServeHTTP(rec, req)
		if d := time.Since(start); i == 0 || d < best {
			best = d
		}
		if n := len(rec.Header()["Set-Cookie"]); rec.Code != http.StatusFound || n > 50 {
			t.Fatalf("login with junk flow cookies: %d, %d Set-Cookie headers; want 302 and at most 50", rec.Code, n)
		}
	}
	t.Logf("login with 4,000 junk flow cookies: %v (best of 3)", best)
	if best > 50*time.Millisecond && !raceEnabled {
		t.Errorf("login with 4,000 junk flow cookies took %v, want < 50ms", best)
	}

	// Junk chunks of the session cookie: a logout deletes at most the
	// chunks a session can have.
	req := httptest.NewRequest(http.MethodPost, h.srv.URL+"/auth/logout", nil)
	req.Header.Set("Cookie", junkCookies("oidcrp_session.", 4000)+"; oidcrp_session.3=x; oidcrp_session.7=y; oidcrp_session.99999999999999999999=z")
	rec := httptest.NewRecorder()
	h.auth.Logout().ServeHTTP(rec, req)
	if n := len(rec.Header()["Set-Cookie"]); n > 10 {
		t.Fatalf("logout with junk chunk cookies: %d Set-Cookie headers, want at most 10", n)
	}
}

// BenchmarkLoginJunkFlowCookies is TestLoginJunkFlowCookies's request.
func BenchmarkLoginJunkFlowCookies(b *testing.B) {
	bb := newAuthBench(b)
	r := httptest.NewRequest("GET", "https://app.example.com/auth/login?return_to=/reports", nil)
	r.TLS = nil
	r.Header.Set("Cookie", junkCookies("__Host-oidcrp_flow_", 4000)) // the bench's cookies are Secure
	login := bb.auth.Login()
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		login.ServeHTTP(w, r)
	}
}
