package client_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// serviceRP returns an RP without a redirect URL, for a confidential
// client of op authenticating with method, on clk's time.
func serviceRP(t *testing.T, method client.AuthMethod, pcfg oidctest.Config, clk func() time.Time) (*oidctest.Server, *client.RP) {
	t.Helper()
	registered := oidctest.Client{ID: "svc", AuthMethod: string(method), Secret: "a-client-secret-of-forty-bytes-012345678"}
	cfg := client.Config{ClientID: "svc", AuthMethod: method, Now: clk}
	if method == client.AuthPrivateKeyJWT {
		registered.Secret = ""
		registered.JWKS = must(client.PublicJWKS(p256Key(), ""))
		cfg.PrivateKey = p256Key()
	} else {
		cfg.ClientSecret = registered.Secret
	}
	pcfg.Clients = []oidctest.Client{registered}
	op := oidctest.NewServer(pcfg)
	t.Cleanup(op.Close)
	cfg.Issuer = op.URL
	rp, err := client.New(testContext(t), cfg)
	if err != nil {
		t.Fatalf("client.New without a RedirectURL: %v", err)
	}
	t.Cleanup(func() { rp.Close() })
	return op, rp
}

// TestClientCredentials: every client authentication method, no redirect
// URL, and scopes, audiences and resources sent as asked.
func TestClientCredentials(t *testing.T) {
	for _, method := range []client.AuthMethod{client.AuthClientSecretBasic, client.AuthClientSecretPost, client.AuthClientSecretJWT, client.AuthPrivateKeyJWT} {
		t.Run(string(method), func(t *testing.T) {
			_, rp := serviceRP(t, method, oidctest.Config{}, nil)
			tok, err := rp.ClientCredentials(testContext(t), client.ClientCredentialsRequest{
				Scopes: []string{"read", "write"}, Audiences: []string{"api-b"}, Resources: []string{"https://api.example.com/"},
			})
			if err != nil {
				t.Fatal(err)
			}
			claims := accessTokenClaims(t, tok.AccessToken)
			if claims["sub"] != "svc" || tok.Scope != "read write" || tok.RefreshToken != "" || tok.IDToken != nil {
				t.Errorf("tokens %v, claims %v", tok, claims)
			}
			if aud, _ := claims["aud"].([]any); len(aud) != 2 || aud[0] != "api-b" || aud[1] != "https://api.example.com/" {
				t.Errorf("aud = %v, want the audience and the resource", claims["aud"])
			}
			if tok.Expiry.IsZero() {
				t.Error("no expiry")
			}
		})
	}
}

func TestClientCredentialsRequestChecked(t *testing.T) {
	_, rp := serviceRP(t, client.AuthClientSecretBasic, oidctest.Config{}, nil)
	for name, req := range map[string]client.ClientCredentialsRequest{
		"resource with a fragment": {Resources: []string{"https://api.example.com/#x"}},
		"relative resource":        {Resources: []string{"/api"}},
		"scope with a space":       {Scopes: []string{"a b"}},
		"Extra sets grant_type":    {Extra: url.Values{"grant_type": {"password"}}},
		"Extra sets scope":         {Extra: url.Values{"scope": {"admin"}}},
		"Extra sets client_secret": {Extra: url.Values{"client_secret": {"x"}}},
		"negative leeway":          {RefreshLeeway: -time.Second},
	} {
		if _, err := rp.ClientCredentialsSource(req); !errors.Is(err, client.ErrInvalidConfig) {
			t.Errorf("%s: source err = %v, want ErrInvalidConfig", name, err)
		}
	}
}

// TestClientCredentialsSourceOneRequest: 100 goroutines asking at once
// cause one token request, and all get its token.
func TestClientCredentialsSourceOneRequest(t *testing.T) {
	op, rp := serviceRP(t, client.AuthClientSecretBasic, oidctest.Config{}, nil)
	release := make(chan struct{})
	var started atomic.Int32
	op.SetHooks(oidctest.Hooks{TokenResponse: func(string, map[string]any) {
		started.Add(1)
		<-release // hold the one request until every goroutine waits on it
	}})
	src, err := rp.ClientCredentialsSource(client.ClientCredentialsRequest{Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			tok, err := src.TokenContext(testContext(t))
			errs[i] = err
			if err == nil {
				tokens[i] = tok.AccessToken
			}
		})
	}
	waitFor(t, func() bool { return started.Load() == 1 })
	time.Sleep(50 * time.Millisecond) // let the stragglers reach the flight
	close(release)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("goroutine %d: %q, %v; want goroutine 0's token", i, tokens[i], errs[i])
		}
	}
	if got := op.Stats().ClientCredentialsGrants; got != 1 {
		t.Errorf("token requests = %d, want 1", got)
	}
	if _, err := src.Token(); err != nil || op.Stats().ClientCredentialsGrants != 1 {
		t.Errorf("a later Token: %v, %d requests; want the cached token", err, op.Stats().ClientCredentialsGrants)
	}
}

// TestClientCredentialsSourceLeeway: the token is replaced within the
// leeway of its expiry, the leeway capped at a quarter of its lifetime.
func TestClientCredentialsSourceLeeway(t *testing.T) {
	clk := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		name     string
		ttl      time.Duration
		leeway   time.Duration
		notDueAt time.Duration
		dueAt    time.Duration
	}{
		{"default 30s leeway", time.Hour, 0, time.Hour - 31*time.Second, time.Hour - 30*time.Second},
		{"leeway capped at a quarter", 60 * time.Second, 0, 44 * time.Second, 45 * time.Second},
		{"configured leeway", time.Hour, 5 * time.Minute, 55*time.Minute - time.Second, 55 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, rp := serviceRP(t, client.AuthClientSecretBasic, oidctest.Config{AccessTokenTTL: tt.ttl, Now: clk.Now}, clk.Now)
			src, err := rp.ClientCredentialsSource(client.ClientCredentialsRequest{RefreshLeeway: tt.leeway})
			if err != nil {
				t.Fatal(err)
			}
			start := clk.Now()
			first := must(src.Token())
			clk.Set(start.Add(tt.notDueAt))
			if tok := must(src.Token()); tok.AccessToken != first.AccessToken {
				t.Errorf("renewed at %v, before the leeway", tt.notDueAt)
			}
			clk.Set(start.Add(tt.dueAt))
			if tok := must(src.Token()); tok.AccessToken == first.AccessToken {
				t.Errorf("not renewed at %v", tt.dueAt)
			}
			if n := op.Stats().ClientCredentialsGrants; n != 2 {
				t.Errorf("token requests = %d, want 2", n)
			}
			src.Reset()
			must(src.Token())
			if n := op.Stats().ClientCredentialsGrants; n != 3 {
				t.Errorf("after Reset: token requests = %d, want 3", n)
			}
		})
	}
}

// TestClientCredentialsSourceCallerContext: a caller whose ctx ends stops
// waiting at once; the request goes on for the others.
func TestClientCredentialsSourceCallerContext(t *testing.T) {
	op, rp := serviceRP(t, client.AuthClientSecretBasic, oidctest.Config{}, nil)
	release := make(chan struct{})
	op.SetHooks(oidctest.Hooks{TokenResponse: func(string, map[string]any) { <-release }})
	src := must(rp.ClientCredentialsSource(client.ClientCredentialsRequest{}))

	patient := make(chan error, 1)
	go func() {
		_, err := src.TokenContext(testContext(t))
		patient <- err
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := src.TokenContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("impatient caller: %v, want its deadline", err)
	}
	close(release)
	if err := <-patient; err != nil {
		t.Errorf("patient caller: %v", err)
	}
	if n := op.Stats().ClientCredentialsGrants; n != 1 {
		t.Errorf("token requests = %d, want 1", n)
	}
}

func TestClientCredentialsErrors(t *testing.T) {
	op, rp := serviceRP(t, client.AuthClientSecretBasic, oidctest.Config{}, nil)
	src := must(rp.ClientCredentialsSource(client.ClientCredentialsRequest{Resources: []string{"https://unknown.example/"}}))
	op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return http.StatusBadRequest, "invalid_target" }})
	var te *client.TokenError
	if _, err := src.Token(); !errors.Is(err, client.ErrInvalidTarget) || !errors.As(err, &te) {
		t.Errorf("invalid_target: %v, want a *TokenError matching ErrInvalidTarget", err)
	}
	op.SetHooks(oidctest.Hooks{})
	op.SetDown(true)
	if _, err := src.Token(); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Errorf("provider down: %v, want ErrProviderUnavailable", err)
	}
	op.SetDown(false)
	if _, err := src.Token(); err != nil {
		t.Errorf("provider back: %v", err)
	}
}

// TestNoRedirectURL: a client without a RedirectURL cannot start or finish
// an authorization-code login; WithRedirectURL gives it one.
func TestNoRedirectURL(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.RedirectURL = "" })
	if _, _, err := rp.AuthCodeURL(client.AuthRequest{}); !errors.Is(err, client.ErrInvalidConfig) {
		t.Errorf("AuthCodeURL: %v, want ErrInvalidConfig", err)
	}
	if _, err := rp.Callback(testContext(t), client.Flow{State: "s"}, url.Values{"state": {"s"}, "code": {"c"}}); !errors.Is(err, client.ErrInvalidConfig) {
		t.Errorf("Callback: %v, want ErrInvalidConfig", err)
	}
	for _, bad := range []string{"", "/cb", "https://a/cb#f", "ftp://a/cb"} {
		if _, err := rp.WithRedirectURL(bad); !errors.Is(err, client.ErrInvalidConfig) {
			t.Errorf("WithRedirectURL(%q): %v, want ErrInvalidConfig", bad, err)
		}
	}
	loopback, err := rp.WithRedirectURL("http://127.0.0.1:49152/callback")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := login(t, loopback, client.AuthRequest{})
	if err != nil || tokens.IDToken == nil {
		t.Fatalf("login with WithRedirectURL: %v", err)
	}
	if rp.Config().RedirectURL != "" {
		t.Error("WithRedirectURL changed the original")
	}
}

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

// accessTokenClaims decodes a JWT access token's claims without verifying.
func accessTokenClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("access token %q is not a JWT", raw)
	}
	var claims map[string]any
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil || json.Unmarshal(payload, &claims) != nil {
		t.Fatalf("access token payload: %v", err)
	}
	return claims
}
