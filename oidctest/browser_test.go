package oidctest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
)

// site is an app for the Browser to visit: redirects of every kind, and
// pages that echo what they received.
func site(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var loops atomic.Int64
	mux := http.NewServeMux()
	redirect := func(status int, to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", to)
			w.WriteHeader(status)
		}
	}
	mux.Handle("/a", redirect(http.StatusFound, "/b"))
	mux.Handle("/b", redirect(http.StatusSeeOther, "c")) // relative
	mux.Handle("/c", redirect(http.StatusMovedPermanently, "/echo?from=c"))
	mux.Handle("/302", redirect(http.StatusFound, "/echo"))
	mux.Handle("/303", redirect(http.StatusSeeOther, "/echo"))
	mux.Handle("/307", redirect(http.StatusTemporaryRedirect, "/echo"))
	mux.Handle("/308", redirect(http.StatusPermanentRedirect, "/307"))
	mux.Handle("/no-location", redirect(http.StatusFound, ""))
	mux.Handle("/bad-location", redirect(http.StatusFound, "http://%zz/"))
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		loops.Add(1)
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s-1", Path: "/"})
		http.Redirect(w, r, "/echo", http.StatusFound)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var cookies []string
		for _, c := range r.Cookies() {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		fmt.Fprintf(w, "%s %s body=%q type=%q x=%q cookies=%s",
			r.Method, r.URL.RequestURI(), body, r.Header.Get("Content-Type"), r.Header.Get("X-Test"), strings.Join(cookies, ","))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &loops
}

func TestBrowserRedirects(t *testing.T) {
	srv, _ := site(t)
	form := url.Values{"x": {"1"}}
	tests := []struct {
		name     string
		navigate func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error)
		wantHops []string // paths
		wantBody string
		wantCode int
	}{
		{
			name: "GET through 302, 303 (relative) and 301",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.Get(ctx, srv.URL+"/a")
			},
			wantHops: []string{"/a", "/b", "/c", "/echo?from=c"},
			wantBody: `GET /echo?from=c body="" type="" x="" cookies=`,
			wantCode: http.StatusOK,
		},
		{
			name: "POST then 302 becomes GET",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.PostForm(ctx, srv.URL+"/302", form)
			},
			wantHops: []string{"/302", "/echo"},
			wantBody: `GET /echo body="" type="" x="" cookies=`,
			wantCode: http.StatusOK,
		},
		{
			name: "POST then 303 becomes GET",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.PostForm(ctx, srv.URL+"/303", form)
			},
			wantHops: []string{"/303", "/echo"},
			wantBody: `GET /echo body="" type="" x="" cookies=`,
			wantCode: http.StatusOK,
		},
		{
			name: "POST then 307 keeps method and body",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.PostForm(ctx, srv.URL+"/307", form)
			},
			wantHops: []string{"/307", "/echo"},
			wantBody: `POST /echo body="x=1" type="application/x-www-form-urlencoded" x="" cookies=`,
			wantCode: http.StatusOK,
		},
		{
			name: "POST then 308 and 307 keep method and body",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.PostForm(ctx, srv.URL+"/308", form)
			},
			wantHops: []string{"/308", "/307", "/echo"},
			wantBody: `POST /echo body="x=1" type="application/x-www-form-urlencoded" x="" cookies=`,
			wantCode: http.StatusOK,
		},
		{
			name: "headers follow every hop",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.PostForm(ctx, srv.URL+"/302", form, "X-Test", "yes")
			},
			wantHops: []string{"/302", "/echo"},
			wantBody: `GET /echo body="" type="" x="yes" cookies=`,
			wantCode: http.StatusOK,
		},
		{
			name: "a 3xx without Location is the last page",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.Get(ctx, srv.URL+"/no-location")
			},
			wantHops: []string{"/no-location"},
			wantCode: http.StatusFound,
		},
		{
			name: "cookies set on a hop are sent on the next",
			navigate: func(ctx context.Context, b *oidctest.Browser) (*oidctest.Page, error) {
				return b.Get(ctx, srv.URL+"/login")
			},
			wantHops: []string{"/login", "/echo"},
			wantBody: `GET /echo body="" type="" x="" cookies=session=s-1`,
			wantCode: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.navigate(t.Context(), oidctest.NewBrowser())
			if err != nil {
				t.Fatal(err)
			}
			if p.StatusCode != tt.wantCode || string(p.Body) != tt.wantBody {
				t.Errorf("page %d %q, want %d %q", p.StatusCode, p.Body, tt.wantCode, tt.wantBody)
			}
			var hops []string
			for _, h := range p.Hops {
				hops = append(hops, strings.TrimPrefix(h, srv.URL))
			}
			if !slices.Equal(hops, tt.wantHops) {
				t.Errorf("Hops = %v, want %v", hops, tt.wantHops)
			}
			if last := p.Hops[len(p.Hops)-1]; p.URL.String() != last {
				t.Errorf("URL = %s, want the last hop %s", p.URL, last)
			}
		})
	}
}

func TestBrowserErrors(t *testing.T) {
	srv, loops := site(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		navigate func(b *oidctest.Browser) (*oidctest.Page, error)
	}{
		{"redirect loop", func(b *oidctest.Browser) (*oidctest.Page, error) { return b.Get(t.Context(), srv.URL+"/loop") }},
		{"bad Location", func(b *oidctest.Browser) (*oidctest.Page, error) { return b.Get(t.Context(), srv.URL+"/bad-location") }},
		{"bad URL", func(b *oidctest.Browser) (*oidctest.Page, error) { return b.Get(t.Context(), "http://%zz/") }},
		{"bad URL for a form", func(b *oidctest.Browser) (*oidctest.Page, error) {
			return b.PostForm(t.Context(), "http://%zz/", url.Values{})
		}},
		{"nothing listening", func(b *oidctest.Browser) (*oidctest.Page, error) { return b.Get(t.Context(), closed.URL) }},
		{"cancelled context", func(b *oidctest.Browser) (*oidctest.Page, error) { return b.Get(cancelled, srv.URL+"/a") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.navigate(oidctest.NewBrowser())
			if err == nil {
				t.Errorf("no error; page %v", p)
			}
		})
	}
	// A loop is cut after 20 requests, as browsers do.
	if n := loops.Load(); n != 20 {
		t.Errorf("the loop was requested %d times, want 20", n)
	}
}

func TestBrowserCookies(t *testing.T) {
	srv, _ := site(t)
	b := oidctest.NewBrowser()
	if _, ok := b.Cookie(srv.URL, "session"); ok {
		t.Error("a new browser has a cookie")
	}
	if _, err := b.Get(t.Context(), srv.URL+"/login"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, cookie string
		wantValue         string
		wantOK            bool
	}{
		{"set by the site", srv.URL + "/anywhere", "session", "s-1", true},
		{"another name", srv.URL, "other", "", false},
		{"another host", "http://localhost.invalid/", "session", "", false},
		{"bad URL", "http://%zz/", "session", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := b.Cookie(tt.url, tt.cookie)
			if v != tt.wantValue || ok != tt.wantOK {
				t.Errorf("Cookie(%s, %s) = %q, %v; want %q, %v", tt.url, tt.cookie, v, ok, tt.wantValue, tt.wantOK)
			}
		})
	}

	b.SetCookie(srv.URL, &http.Cookie{Name: "session", Value: "forged", Path: "/"})
	b.SetCookie("http://%zz/", &http.Cookie{Name: "ignored", Value: "x"}) // a bad URL is ignored
	p, err := b.Get(t.Context(), srv.URL+"/echo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(p.Body), "cookies=session=forged") {
		t.Errorf("page %q, want the cookie SetCookie stored", p.Body)
	}
}

func TestPageString(t *testing.T) {
	u, _ := url.Parse("http://127.0.0.1/c")
	p := &oidctest.Page{URL: u, StatusCode: 200, Body: []byte(strings.Repeat("x", 400)), Hops: []string{"http://127.0.0.1/a", "http://127.0.0.1/c"}}
	want := "200 from http://127.0.0.1/c after 2 hops (http://127.0.0.1/a -> http://127.0.0.1/c): " + strings.Repeat("x", 300)
	if got := p.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestBrowserLogin logs in at the provider with a Browser, through an app's
// callback, the way a relying party's login tests do.
func TestBrowserLogin(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "code=%t state=%s", r.URL.Query().Get("code") != "", r.URL.Query().Get("state"))
	}))
	t.Cleanup(app.Close)
	c := confidential("app")
	c.RedirectURIs = []string{app.URL + "/callback"}
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}})
	q := authParams(c.ID, newPKCE())
	q.Set("redirect_uri", app.URL+"/callback")

	p, err := oidctest.NewBrowser().Get(t.Context(), op.URL+"/authorize?"+q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if p.StatusCode != http.StatusOK || string(p.Body) != "code=true state=state-123" {
		t.Fatalf("page %s", p)
	}
	if len(p.Hops) != 2 || !strings.HasPrefix(p.Hops[0], op.URL+"/authorize?") || !strings.HasPrefix(p.Hops[1], app.URL+"/callback?") {
		t.Errorf("Hops = %v, want the provider then the callback", p.Hops)
	}
	if p.URL.Query().Get("iss") != op.URL {
		t.Errorf("callback URL %s lacks iss", p.URL)
	}
}
