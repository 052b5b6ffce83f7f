package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/oidcrp/oidcrp/middleware"
	"github.com/oidcrp/oidcrp/oidctest"
)

// authLog records the Authorization header of each request by path.
type authLog struct {
	mu   sync.Mutex // guards seen
	seen map[string]string
}

func (l *authLog) record(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string]string{}
	}
	l.seen[r.Host+r.URL.Path] = r.Header.Get("Authorization")
}

func (l *authLog) get(host, path string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := l.seen[host+path]
	return v, ok
}

// TestHTTPClientRedirects: HTTPClient sends the access token only to the
// origin of the request it was given: never to another host or port a
// redirect leads to, never from https to http.
func TestHTTPClientRedirects(t *testing.T) {
	var log authLog
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { log.record(r) }))
	defer other.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.record(r)
		switch r.URL.Path {
		case "/to-other":
			http.Redirect(w, r, other.URL+"/landed", http.StatusFound)
		case "/to-same":
			http.Redirect(w, r, "/landed", http.StatusTemporaryRedirect)
		}
	}))
	defer api.Close()
	tlsAPI := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.record(r)
		http.Redirect(w, r, other.URL+"/from-tls", http.StatusFound)
	}))
	defer tlsAPI.Close()

	h := newHarness(t, options{auth: middleware.Config{Transport: tlsAPI.Client().Transport}})
	b := oidctest.NewBrowser()
	h.login(t, b, "")
	call := func(u string) {
		t.Helper()
		p, err := b.Get(ctx(t), h.srv.URL+"/call?url="+url.QueryEscape(u))
		if err != nil || p.StatusCode != http.StatusOK {
			t.Fatalf("call %s: %v %v", u, p, err)
		}
	}
	host := func(s string) string { u, _ := url.Parse(s); return u.Host }

	call(api.URL + "/to-other")
	if a, _ := log.get(host(api.URL), "/to-other"); a == "" {
		t.Fatal("the API itself got no token")
	}
	if a, ok := log.get(host(other.URL), "/landed"); !ok || a != "" {
		t.Fatalf("another origin reached by a redirect got Authorization %q (reached %v)", a, ok)
	}
	call(api.URL + "/to-same")
	if a, _ := log.get(host(api.URL), "/landed"); a == "" {
		t.Fatal("a same-origin redirect lost the token")
	}
	call(tlsAPI.URL + "/")
	if a, _ := log.get(host(tlsAPI.URL), "/"); a == "" {
		t.Fatal("the https API got no token")
	}
	if a, ok := log.get(host(other.URL), "/from-tls"); !ok || a != "" {
		t.Fatalf("an http origin reached from https got Authorization %q (reached %v)", a, ok)
	}
}
