package httpx

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestPolicyCheck(t *testing.T) {
	cross := Policy{CrossOrigin: true}
	crossHTTP := Policy{CrossOrigin: true, AllowHTTP: true}
	tests := []struct {
		name   string
		policy Policy
		chain  []string // the request's URL, then each hop's
		ok     bool
	}{
		{name: "same origin, other path", chain: []string{"https://op.example.com/jwks", "https://op.example.com/keys?v=2"}, ok: true},
		{name: "same origin, default port spelled out", chain: []string{"https://op.example.com/jwks", "https://op.example.com:443/keys"}, ok: true},
		{name: "same origin, host case", chain: []string{"https://op.example.com/jwks", "https://OP.example.com/keys"}, ok: true},
		{name: "same origin, loopback http", chain: []string{"http://127.0.0.1:8080/jwks", "http://127.0.0.1:8080/keys"}, ok: true},
		{name: "another host", chain: []string{"https://op.example.com/token", "https://evil.example.net/token"}},
		{name: "a subdomain", chain: []string{"https://op.example.com/token", "https://x.op.example.com/token"}},
		{name: "another port", chain: []string{"http://127.0.0.1:8080/jwks", "http://127.0.0.1:8081/jwks"}},
		{name: "https to http, same host", chain: []string{"https://op.example.com/jwks", "http://op.example.com/jwks"}},
		{name: "http to https, same host", chain: []string{"http://127.0.0.1/jwks", "https://127.0.0.1/jwks"}},
		{name: "back to the origin through another", chain: []string{"https://op.example.com/a", "https://b.example.com/b", "https://op.example.com/c"}},
		{name: "another scheme", chain: []string{"https://op.example.com/a", "ftp://op.example.com/a"}},

		{name: "cross: another https host", policy: cross, chain: []string{"https://op.example.com/d", "https://cdn.example.net/d"}, ok: true},
		{name: "cross: loopback http to loopback http", policy: cross, chain: []string{"http://127.0.0.1:8080/d", "http://localhost:9090/d"}, ok: true},
		{name: "cross: loopback http to https", policy: cross, chain: []string{"http://127.0.0.1:8080/d", "https://op.example.com/d"}, ok: true},
		{name: "cross: https to http", policy: cross, chain: []string{"https://op.example.com/d", "http://op.example.com/d"}},
		{name: "cross: https to loopback http", policy: cross, chain: []string{"https://op.example.com/d", "http://127.0.0.1/d"}},
		{name: "cross: loopback http to public http", policy: cross, chain: []string{"http://127.0.0.1/d", "http://op.example.com/d"}},
		{name: "cross: another scheme", policy: cross, chain: []string{"https://op.example.com/d", "file:///etc/passwd"}},
		{name: "allow http: public http", policy: crossHTTP, chain: []string{"http://op.example.com/d", "http://cdn.example.net/d"}, ok: true},
		{name: "allow http: https to http", policy: crossHTTP, chain: []string{"https://op.example.com/d", "http://cdn.example.net/d"}},
		{name: "allow http: https earlier in the chain", policy: crossHTTP, chain: []string{"http://op.example.com/d", "https://a.example.net/d", "https://b.example.net/d", "http://c.example.net/d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var via []*http.Request
			var err error
			for _, raw := range tt.chain {
				req := httptest.NewRequest(http.MethodGet, raw, nil)
				if err = tt.policy.check(req, via); err != nil {
					break
				}
				via = append(via, req)
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("check: %v", err)
				}
				return
			}
			var re *RedirectError
			if !errors.As(err, &re) || !errors.Is(err, ErrRedirect) {
				t.Fatalf("check = %v, want a *RedirectError", err)
			}
		})
	}
}

// TestPolicyClient checks that the policy goes on a copy of the caller's
// client, and that the caller's own CheckRedirect still has its say.
func TestPolicyClient(t *testing.T) {
	var calls atomic.Int64
	own := func(req *http.Request, via []*http.Request) error {
		calls.Add(1)
		return http.ErrUseLastResponse
	}
	caller := &http.Client{Timeout: time.Second, CheckRedirect: own}
	c := Policy{}.Client(caller)
	if c == caller {
		t.Fatal("Client returned the caller's client")
	}
	if c.Timeout != time.Second {
		t.Errorf("Timeout = %v, want the caller's", c.Timeout)
	}
	origin, _ := url.Parse("https://op.example.com/a")
	first := &http.Request{URL: origin}
	same := &http.Request{URL: origin.JoinPath("b")}
	if err := c.CheckRedirect(same, []*http.Request{first}); err != http.ErrUseLastResponse {
		t.Errorf("same-origin hop: %v, want the caller's answer", err)
	}
	other, _ := url.Parse("https://evil.example.net/a")
	if err := c.CheckRedirect(&http.Request{URL: other}, []*http.Request{first}); !errors.Is(err, ErrRedirect) {
		t.Errorf("cross-origin hop: %v, want ErrRedirect", err)
	}
	if got := calls.Load(); got != 1 {
		t.Errorf("caller's CheckRedirect called %d times, want 1 (not for a refused hop)", got)
	}
	if caller.Timeout != time.Second || caller.CheckRedirect == nil {
		t.Error("the caller's client was changed")
	}

	if c := (Policy{}).Client(nil); c == DefaultClient || c.Timeout != DefaultTimeout || DefaultClient.CheckRedirect != nil {
		t.Error("Client(nil) is not a copy of DefaultClient, or changed it")
	}
}

// TestDoRedirects follows redirects with real servers: on the same origin
// they are followed (at most ten), to another origin refused before the
// request is sent there.
func TestDoRedirects(t *testing.T) {
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		w.Write([]byte("other"))
	}))
	defer other.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/same":
			http.Redirect(w, r, "/target", http.StatusFound)
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/other":
			http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
		case "/target":
			w.Write([]byte("target"))
		}
	}))
	defer srv.Close()
	ctx := context.Background()

	_, body, err := Get(ctx, srv.Client(), srv.URL+"/same", "*/*")
	if err != nil || string(body) != "target" {
		t.Errorf("same-origin redirect: %q, %v", body, err)
	}
	if _, _, err = Get(ctx, srv.Client(), srv.URL+"/loop", "*/*"); err == nil || errors.Is(err, ErrRedirect) {
		t.Errorf("endless same-origin redirects: %v, want the limit's error", err)
	}
	for _, p := range []Policy{{}, {CrossOrigin: true}, {CrossOrigin: true, AllowHTTP: true}} {
		_, _, err = p.Get(ctx, srv.Client(), srv.URL+"/other", "*/*")
		if !errors.Is(err, ErrRedirect) {
			t.Errorf("%+v: https to another origin's http: %v, want ErrRedirect", p, err)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/other", nil)
	if _, _, err = Do(srv.Client(), req); !errors.Is(err, ErrRedirect) {
		t.Errorf("Do: %v, want ErrRedirect", err)
	}
	if got := otherHits.Load(); got != 0 {
		t.Errorf("the other origin got %d requests, want 0", got)
	}
}

// TestSend: Send returns the whole body of an error answer (StatusError
// keeps 512 bytes), and follows the same redirects as Do.
func TestSend(t *testing.T) {
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	defer other.Close()
	long := strings.Repeat("x", 2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/error":
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(long))
		case "/same":
			http.Redirect(w, r, "/error", http.StatusTemporaryRedirect)
		case "/other":
			http.Redirect(w, r, other.URL+"/x", http.StatusTemporaryRedirect)
		case "/huge":
			w.Write(make([]byte, MaxBody+1))
		}
	}))
	defer srv.Close()
	send := func(path string) (*http.Response, []byte, error) {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+path, strings.NewReader("a=b"))
		return Send(srv.Client(), req)
	}
	for _, path := range []string{"/error", "/same"} {
		resp, body, err := send(path)
		if err != nil || resp.StatusCode != http.StatusBadRequest || string(body) != long {
			t.Errorf("%s: %v, %d bytes, %v", path, resp, len(body), err)
		}
	}
	if _, _, err := send("/other"); !errors.Is(err, ErrRedirect) || otherHits.Load() != 0 {
		t.Errorf("cross-origin redirect: %v, %d requests there", err, otherHits.Load())
	}
	if _, _, err := send("/huge"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("huge body: %v", err)
	}
}

// TestOrigin: Origin is equal for two URLs exactly when SameOrigin holds.
func TestOrigin(t *testing.T) {
	urls := []string{
		"https://op.example.com/token", "HTTPS://OP.example.com:443/other", "https://op.example.com:8443/",
		"http://op.example.com/", "http://op.example.com:80/x", "http://127.0.0.1:8080/", "http://[::1]:8080/",
		"http://[::1]/", "http://127.0.0.1/",
	}
	for _, a := range urls {
		for _, b := range urls {
			ua, _ := url.Parse(a)
			ub, _ := url.Parse(b)
			if same := Origin(ua) == Origin(ub); same != SameOrigin(ua, ub) {
				t.Errorf("%s %s: Origin %q, %q; SameOrigin %v", a, b, Origin(ua), Origin(ub), SameOrigin(ua, ub))
			}
		}
	}
	if got, _ := url.Parse("HTTPS://OP.Example.com/x"); Origin(got) != "https://op.example.com:443" {
		t.Errorf("Origin = %q", Origin(got))
	}
}

// TestOriginAllocations: Origin is on the per-request path of DPoP calls
// (the nonce of the origin): one allocation for a lower-case URL.
func TestOriginAllocations(t *testing.T) {
	u, _ := url.Parse("https://api.example.com/v1/items?x=1")
	if n := testing.AllocsPerRun(100, func() { _ = Origin(u) }); n > 1 {
		t.Errorf("Origin: %.0f allocations, want at most 1", n)
	}
}
