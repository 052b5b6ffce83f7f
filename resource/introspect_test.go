package resource_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// TestIntrospectionViolations presents opaque tokens whose introspection
// answer breaks each check of RFC 7662 section 4.
func TestIntrospectionViolations(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	now := time.Now()
	opaque := func(o oidctest.AccessTokenOptions) string { return a.op.OpaqueAccessToken(o) }
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"valid", opaque(oidctest.AccessTokenOptions{Scope: "read"}), nil},
		{"without iss, aud, exp, iat", opaque(oidctest.AccessTokenOptions{Edit: del("iss", "aud", "exp", "iat")}), nil},
		{"unknown", "no-such-token", resource.ErrInactive},
		{"expired at the provider", opaque(oidctest.AccessTokenOptions{TTL: -time.Minute}), resource.ErrInactive},
		{"active but past exp", opaque(oidctest.AccessTokenOptions{Edit: set("exp", now.Add(-time.Minute).Unix())}), resource.ErrExpired},
		{"a refresh token", opaque(oidctest.AccessTokenOptions{Edit: set("token_type", "refresh_token")}), resource.ErrInvalidTokenType},
		{"without token_type, with aud", opaque(oidctest.AccessTokenOptions{Edit: del("token_type")}), nil},
		{"without token_type or aud (a refresh token at oidc-provider)", opaque(oidctest.AccessTokenOptions{Edit: del("token_type", "aud")}), resource.ErrInvalidTokenType},
		{"other issuer", opaque(oidctest.AccessTokenOptions{Edit: set("iss", "https://evil.example.com")}), resource.ErrInvalidIssuer},
		{"other audience", opaque(oidctest.AccessTokenOptions{Audience: []string{"https://other.example"}}), resource.ErrInvalidAudience},
		{"not yet valid", opaque(oidctest.AccessTokenOptions{Edit: set("nbf", now.Add(time.Hour).Unix())}), resource.ErrNotYetValid},
		{"issued in the future", opaque(oidctest.AccessTokenOptions{Edit: set("iat", now.Add(time.Hour).Unix())}), resource.ErrIssuedInFuture},
		{"DPoP-bound, sent as Bearer", opaque(oidctest.AccessTokenOptions{JKT: oidctest.NewDPoPKey("").Thumbprint()}), resource.ErrDPoPRequired},
		{"a revoked one", func() string {
			tok := opaque(oidctest.AccessTokenOptions{})
			a.op.RevokeAccessToken(tok)
			return tok
		}(), resource.ErrInactive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusOK
			if tt.want != nil {
				status = http.StatusUnauthorized
			}
			tok, ans := a.check(t, bearer(tt.token), tt.want, status)
			if tt.want == nil {
				if !tok.Introspected || tok.Subject != oidctest.DefaultUser.Subject || tok.ClientID != oidctest.DefaultClient.ID {
					t.Fatalf("token = %+v", tok)
				}
				var c map[string]any
				if err := tok.Claims(&c); err != nil || c["active"] != true {
					t.Fatalf("Claims: %v %v", c, err)
				}
				return
			}
			if c := ans.challenge("Bearer"); !strings.Contains(c, `error="invalid_token"`) {
				t.Errorf("challenge %q", c)
			}
		})
	}
}

// TestIntrospectionAuthMethods introspects with each client authentication
// method, and with a wrong secret (the provider refuses: 503, not 401).
func TestIntrospectionAuthMethods(t *testing.T) {
	for _, tt := range []struct {
		name, method, secret string
		want                 error
	}{
		{"client_secret_basic", "", oidctest.DefaultClient.Secret, nil},
		{"client_secret_post", "client_secret_post", oidctest.DefaultClient.Secret, nil},
		{"wrong secret", "client_secret_basic", "wrong", resource.ErrUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.AuthMethod, c.ClientSecret = tt.method, tt.secret })
			status := http.StatusOK
			if tt.want != nil {
				status = http.StatusServiceUnavailable
			}
			_, ans := a.check(t, bearer(a.op.OpaqueAccessToken(oidctest.AccessTokenOptions{})), tt.want, status)
			var ie *resource.IntrospectionError
			if _, err := a.v.Authenticate(bearer("x")()); tt.want != nil && (!errors.As(err, &ie) || ie.StatusCode != 401) {
				t.Errorf("err = %v, want an IntrospectionError with status 401", err)
			}
			if tt.want != nil && (len(ans.challenges) != 0 || ans.body["error"] != "temporarily_unavailable") {
				t.Errorf("503 answer: %q %v", ans.challenges, ans.body)
			}
		})
	}
}

// TestIntrospectionCache checks that an introspection answer is reused for
// IntrospectionCacheTime at most (the revocation delay), never past exp,
// that failures are not kept, and that concurrent requests share one call.
func TestIntrospectionCache(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.IntrospectionCacheTime = 10 * time.Second })
	tok := a.op.OpaqueAccessToken(oidctest.AccessTokenOptions{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := a.v.Authenticate(bearer(tok)()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := a.op.Stats().Introspections; n > 2 {
		t.Errorf("%d introspections for 8 concurrent requests with one token", n)
	}
	before := a.op.Stats().Introspections
	a.op.RevokeAccessToken(tok)
	a.clock.Advance(9 * time.Second)
	a.check(t, bearer(tok), nil, http.StatusOK) // still cached: the documented delay
	if n := a.op.Stats().Introspections; n != before {
		t.Errorf("cached answer not used: %d introspections, want %d", n, before)
	}
	a.clock.Advance(time.Second)
	a.check(t, bearer(tok), resource.ErrInactive, http.StatusUnauthorized)
	a.check(t, bearer(tok), resource.ErrInactive, http.StatusUnauthorized) // failures are asked again
	if n := a.op.Stats().Introspections; n != before+4 {
		t.Errorf("%d introspections, want %d", n, before+4)
	}

	short := a.op.OpaqueAccessToken(oidctest.AccessTokenOptions{TTL: 3 * time.Second})
	a.check(t, bearer(short), nil, http.StatusOK)
	a.op.RevokeAccessToken(short)
	a.clock.Advance(4 * time.Second) // past exp + 1 s, within the cache time
	a.check(t, bearer(short), resource.ErrInactive, http.StatusUnauthorized)

	noCache := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.IntrospectionCacheTime = -1 })
	tok = noCache.op.OpaqueAccessToken(oidctest.AccessTokenOptions{})
	noCache.check(t, bearer(tok), nil, http.StatusOK)
	if n := noCache.op.Stats().Introspections; n != 2 {
		t.Errorf("IntrospectionCacheTime -1: %d introspections for 2 requests", n)
	}
}

// TestNoIntrospection checks that without ClientID opaque tokens are
// refused without asking anyone.
func TestNoIntrospection(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.ClientID, c.ClientSecret = "", "" })
	a.check(t, bearer(a.op.OpaqueAccessToken(oidctest.AccessTokenOptions{})), resource.ErrMalformedToken, http.StatusUnauthorized)
	if n := a.op.Stats().Introspections; n != 0 {
		t.Errorf("%d introspections", n)
	}
}

// TestProviderUnavailable checks 503 when the provider is needed and does
// not answer: the first key-set fetch, and introspection. Never 200.
func TestProviderUnavailable(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	jwt := a.op.AccessToken(oidctest.AccessTokenOptions{})
	opaque := a.op.OpaqueAccessToken(oidctest.AccessTokenOptions{})
	a.op.SetDown(true)
	_, ans := a.check(t, bearer(jwt), resource.ErrUnavailable, http.StatusServiceUnavailable)
	if _, err := a.v.Authenticate(bearer(jwt)()); !errors.Is(err, discovery.ErrFetch) {
		t.Errorf("err = %v, want it to match discovery.ErrFetch", err)
	}
	if ans.body["error"] != "temporarily_unavailable" {
		t.Errorf("body %v", ans.body)
	}
	a.check(t, bearer(opaque), resource.ErrUnavailable, http.StatusServiceUnavailable)
	a.op.SetDown(false)
	// The key set's failure is remembered for KeyRefetchInterval (10 s).
	a.clock.Advance(11 * time.Second)
	a.check(t, bearer(jwt), nil, http.StatusOK)
	a.check(t, bearer(opaque), nil, http.StatusOK)
}

// TestUnknownKidFlood sends tokens naming many distinct unknown keys: the
// key set is fetched at most once for them all (its rate limit), each is
// refused with 401, and none is cached.
func TestUnknownKidFlood(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	var jwksFetches atomic.Int32
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/jwks") {
			jwksFetches.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	v, err := resource.New(testContext(t), resource.Config{Issuer: op.URL, Audience: oidctest.DefaultAudience, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	valid := op.AccessToken(oidctest.AccessTokenOptions{})
	if _, err := v.VerifyToken(testContext(t), valid); err != nil {
		t.Fatal(err)
	}
	_, payload, _ := strings.Cut(valid, ".")
	for i := range 200 {
		header := b64json(map[string]any{"alg": "RS256", "typ": "at+jwt", "kid": "forged-" + string(rune('a'+i%26)) + strings.Repeat("x", i)})
		h := v.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Fatal("let through") }))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, request("GET", "/", "Bearer "+header+"."+payload))
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("token %d: %d", i, rec.Code)
		}
	}
	if n := jwksFetches.Load(); n > 2 {
		t.Errorf("%d key-set fetches for 200 unknown kids, want at most 2 (first use and one re-fetch)", n)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestIntrospector introspects through a *client.RP, which authenticates
// with any method of the client package (here client_secret_jwt), and
// checks that its failures are 503.
func TestIntrospector(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	c := op.Client()
	rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: c.ID, ClientSecret: c.Secret,
		AuthMethod: client.AuthClientSecretJWT, RedirectURL: "https://app.example.test/cb"})
	if err != nil {
		t.Fatal(err)
	}
	defer rp.Close()
	v, err := resource.New(testContext(t), resource.Config{Provider: rp.Provider(), Audience: oidctest.DefaultAudience,
		Introspector: rp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := v.VerifyToken(testContext(t), op.OpaqueAccessToken(oidctest.AccessTokenOptions{Scope: "read"}))
	if err != nil || !tok.Introspected || tok.Scope != "read" {
		t.Fatalf("through the RP: %+v, %v", tok, err)
	}
	if op.Stats().ClientAssertions == 0 {
		t.Error("no client assertion reached the provider")
	}
	if _, err := v.VerifyToken(testContext(t), "unknown"); !errors.Is(err, resource.ErrInactive) {
		t.Fatalf("unknown token: %v", err)
	}
	op.SetDown(true)
	var ie *resource.IntrospectionError
	if _, err := v.VerifyToken(testContext(t), "another"); !errors.Is(err, resource.ErrUnavailable) || !errors.As(err, &ie) ||
		!errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("provider down: %v", err)
	}
	if _, err := resource.New(testContext(t), resource.Config{Provider: rp.Provider(), Audience: "a", Introspector: rp,
		ClientID: "x", ClientSecret: "y"}); !errors.Is(err, resource.ErrInvalidConfig) {
		t.Fatalf("Introspector and ClientID: %v", err)
	}
}
