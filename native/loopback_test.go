package native_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/native"
	"github.com/oidcrp/oidcrp/oidctest"
)

// cliClient is a public native client registered for the loopback
// redirect URI, on any port.
var cliClient = oidctest.Client{ID: "my-cli", RedirectURIs: []string{"http://127.0.0.1/callback"}}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newCLI starts a provider and returns an RP for cliClient, without a
// redirect URL.
func newCLI(t *testing.T, cfg oidctest.Config) (*oidctest.Server, *client.RP) {
	t.Helper()
	cfg.Clients = []oidctest.Client{cliClient}
	op := oidctest.NewServer(cfg)
	t.Cleanup(op.Close)
	rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: cliClient.ID, Scopes: []string{"openid", "profile", "offline_access"}, Now: cfg.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rp.Close() })
	return op, rp
}

// browser plays the system browser: OpenBrowser hands it the URL, and it
// navigates there in a goroutine the test waits for.
type browser struct {
	t      *testing.T
	before func(redirectURI string) // runs first, given the loopback redirect URI
	wg     sync.WaitGroup
	mu     sync.Mutex // guards page
	page   *oidctest.Page
}

func (b *browser) open(ctx context.Context, authURL string) error {
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	redirect := u.Query().Get("redirect_uri")
	b.wg.Go(func() {
		if b.before != nil {
			b.before(redirect)
		}
		page, err := oidctest.NewBrowser().Get(testContext(b.t), authURL)
		if err != nil {
			b.t.Errorf("browser: %v", err)
			return
		}
		b.mu.Lock()
		b.page = page
		b.mu.Unlock()
	})
	return nil
}

// get sends a request to the loopback listener and returns its status, or
// 0 when it cannot connect.
func get(t *testing.T, method, rawURL string, header ...string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(testContext(t), method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if len(header) == 2 && header[0] == "Host" {
		req.Host = header[1]
	}
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestLoginLoopback: a login through the browser ends with verified
// tokens, the browser sees the success page, and the listener is closed.
func TestLoginLoopback(t *testing.T) {
	op, rp := newCLI(t, oidctest.Config{})
	b := &browser{t: t}
	var out bytes.Buffer
	var redirect string
	tokens, err := native.Login(testContext(t), native.LoginConfig{
		RP: rp, Output: &out,
		OpenBrowser: func(ctx context.Context, u string) error {
			pu, _ := url.Parse(u)
			redirect = pu.Query().Get("redirect_uri")
			return b.open(ctx, u)
		},
	})
	b.wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if tokens.IDToken == nil || tokens.IDToken.Subject != oidctest.DefaultUser.Subject || tokens.RefreshToken == "" {
		t.Errorf("tokens = %v", tokens)
	}
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") || !strings.HasSuffix(redirect, "/callback") {
		t.Errorf("redirect URI %q, want http://127.0.0.1:PORT/callback", redirect)
	}
	if b.page.StatusCode != http.StatusOK || !bytes.Contains(b.page.Body, []byte("You are logged in")) {
		t.Errorf("browser's last page: %v", b.page)
	}
	if got := b.page.Header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") {
		t.Errorf("success page CSP %q", got)
	}
	if !strings.Contains(out.String(), "http://127.0.0.1:") || !strings.Contains(out.String(), op.URL+"/authorize?") {
		t.Errorf("output %q does not name the URL", out.String())
	}
	// Closed after the one valid callback: nothing listens any more.
	if status := get(t, "GET", redirect+"?state=x&code=y"); status != 0 {
		t.Errorf("after the login, the listener answered %d", status)
	}
	if n := op.Stats().CodeGrants; n != 1 {
		t.Errorf("code grants = %d, want 1", n)
	}
}

// TestLoginLoopbackRefusals: requests that are not the valid callback get
// 400 and do not end the wait; the valid one still succeeds.
func TestLoginLoopbackRefusals(t *testing.T) {
	_, rp := newCLI(t, oidctest.Config{})
	b := &browser{t: t}
	b.before = func(redirect string) {
		u, _ := url.Parse(redirect)
		for _, tt := range []struct {
			name, method, url string
			header            []string
		}{
			{"wrong state", "GET", redirect + "?state=wrong&code=stolen", nil},
			{"no state", "GET", redirect + "?code=stolen", nil},
			{"repeated state", "GET", redirect + "?state=a&state=b&code=c", nil},
			{"malformed query", "GET", redirect + "?state=%zz", nil},
			{"other path", "GET", "http://" + u.Host + "/favicon.ico", nil},
			{"POST", "POST", redirect + "?state=wrong", nil},
			{"another Host (DNS rebinding)", "GET", redirect + "?state=wrong", []string{"Host", "evil.example:" + u.Port()}},
		} {
			if status := get(t, tt.method, tt.url, tt.header...); status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", tt.name, status)
			}
		}
		big := redirect + "?state=" + strings.Repeat("a", 20<<10)
		if status := get(t, "GET", big); status < 400 {
			t.Errorf("oversized request: status %d, want it refused", status)
		}
	}
	tokens, err := native.Login(testContext(t), native.LoginConfig{RP: rp, OpenBrowser: b.open, Output: &bytes.Buffer{}})
	b.wg.Wait()
	if err != nil || tokens.IDToken == nil {
		t.Fatalf("Login after the refusals: %v", err)
	}
}

// TestLoginLoopbackOnce: a second request with the valid state, while the
// first is being completed, gets 400.
func TestLoginLoopbackOnce(t *testing.T) {
	op, rp := newCLI(t, oidctest.Config{})
	var callbackURL string
	second := make(chan int, 1)
	op.SetHooks(oidctest.Hooks{
		TokenResponse: func(string, map[string]any) {
			// The code is being redeemed: replay the callback.
			second <- get(t, "GET", callbackURL)
		},
	})
	b := &browser{t: t}
	open := func(ctx context.Context, u string) error {
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		callbackURL = resp.Header.Get("Location")
		return b.open(ctx, callbackURL)
	}
	if _, err := native.Login(testContext(t), native.LoginConfig{RP: rp, OpenBrowser: open, Output: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	b.wg.Wait()
	if status := <-second; status != http.StatusBadRequest {
		t.Errorf("replayed callback: %d, want 400", status)
	}
}

func TestLoginLoopbackEnds(t *testing.T) {
	op, rp := newCLI(t, oidctest.Config{})
	never := func(context.Context, string) error { return nil }

	t.Run("timeout", func(t *testing.T) {
		_, err := native.Login(testContext(t), native.LoginConfig{RP: rp, OpenBrowser: never, Output: &bytes.Buffer{}, Timeout: 100 * time.Millisecond})
		if !errors.Is(err, native.ErrLoginTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want ErrLoginTimeout", err)
		}
	})
	t.Run("ctx cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(testContext(t))
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := native.Login(ctx, native.LoginConfig{RP: rp, OpenBrowser: never, Output: &bytes.Buffer{}})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("no browser: the URL is printed", func(t *testing.T) {
		var out bytes.Buffer
		fail := func(context.Context, string) error { return native.ErrNoBrowser }
		native.Login(testContext(t), native.LoginConfig{RP: rp, OpenBrowser: fail, Output: &out, Timeout: 50 * time.Millisecond})
		if !strings.HasPrefix(out.String(), "Open this URL in your browser") || !strings.Contains(out.String(), op.URL+"/authorize?") {
			t.Errorf("output = %q", out.String())
		}
	})
	t.Run("the user declines", func(t *testing.T) {
		op.SetHooks(oidctest.Hooks{AuthorizeResponse: func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
		}})
		defer op.SetHooks(oidctest.Hooks{})
		b := &browser{t: t}
		_, err := native.Login(testContext(t), native.LoginConfig{RP: rp, OpenBrowser: b.open, Output: &bytes.Buffer{}})
		b.wg.Wait()
		var ae *client.AuthError
		if !errors.As(err, &ae) || ae.Code != "access_denied" {
			t.Errorf("err = %v, want a *client.AuthError access_denied", err)
		}
		if b.page.StatusCode != http.StatusBadRequest || !bytes.Contains(b.page.Body, []byte("Login failed")) {
			t.Errorf("browser's page: %v", b.page)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		for _, cfg := range []native.LoginConfig{{}, {RP: rp, CallbackPath: "cb"}, {RP: rp, Timeout: -1}} {
			if _, err := native.Login(testContext(t), cfg); !errors.Is(err, native.ErrInvalidConfig) {
				t.Errorf("%+v: %v, want ErrInvalidConfig", cfg, err)
			}
		}
	})
}

func TestOpenSystemBrowser(t *testing.T) {
	t.Setenv("BROWSER", "false")
	if err := native.OpenSystemBrowser(testContext(t), "http://127.0.0.1/"); !errors.Is(err, native.ErrNoBrowser) {
		t.Errorf("BROWSER=false: %v, want ErrNoBrowser", err)
	}
	t.Setenv("BROWSER", "true")
	if err := native.OpenSystemBrowser(testContext(t), "http://127.0.0.1/"); err != nil {
		t.Errorf("BROWSER=true: %v", err)
	}
}
