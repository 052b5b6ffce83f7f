package resource

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/oidctest"
)

func newTestVerifier(t *testing.T, edit func(*Config)) (*oidctest.Server, *Verifier, *testutil.Clock) {
	t.Helper()
	clock := testutil.NewClock(time.Now())
	op := oidctest.NewServer(oidctest.Config{Now: clock.Now})
	t.Cleanup(op.Close)
	p, err := discovery.New(testutil.Context(t), discovery.Config{Issuer: op.URL, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	cfg := Config{Provider: p, Audience: oidctest.DefaultAudience, ClientID: op.Client().ID, ClientSecret: op.Client().Secret, Now: clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := New(testutil.Context(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return op, v, clock
}

// TestCachedTokenRefusedAfterExpiry is the cache's promise: a JWT served
// from the cache is refused one second after its exp, although it is still
// in the cache, and an introspected one too, within IntrospectionCacheTime.
func TestCachedTokenRefusedAfterExpiry(t *testing.T) {
	for _, opaque := range []bool{false, true} {
		t.Run(fmt.Sprintf("opaque=%v", opaque), func(t *testing.T) {
			op, v, clock := newTestVerifier(t, func(c *Config) { c.IntrospectionCacheTime = time.Hour })
			o := oidctest.AccessTokenOptions{TTL: 30 * time.Second}
			tok := op.AccessToken(o)
			if opaque {
				tok = op.OpaqueAccessToken(o)
			}
			exp := time.Unix(clock.Now().Add(30*time.Second).Unix(), 0)
			ctx := context.Background()
			if _, err := v.VerifyToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
			key := keyOf(tok)
			if v.cache.get(key, clock.Now()) == nil {
				t.Fatal("a valid token was not cached")
			}
			// From now on the provider cannot vouch for it: only the cache can.
			op.RevokeAccessToken(tok)
			op.RotateKeys()
			op.RetireOldKeys()
			v.provider.KeySet().Refresh(ctx)

			clock.Set(exp.Add(999 * time.Millisecond))
			got, err := v.VerifyToken(ctx, tok)
			if err != nil || got.Expiry.Unix() != exp.Unix() {
				t.Fatalf("within the second of leeway: %v %+v", err, got)
			}
			clock.Set(exp.Add(time.Second))
			if v.cache.len() != 1 {
				t.Fatalf("the entry left the cache (%d entries): this test would prove nothing", v.cache.len())
			}
			if _, err := v.VerifyToken(ctx, tok); err == nil {
				t.Fatal("a cached token was accepted one second after its exp")
			}
			if v.cache.get(key, clock.Now()) != nil {
				t.Fatal("the cache still serves the entry")
			}
		})
	}
}

// TestCacheFailuresNotCached checks that tokens failing a check leave the
// cache as it was, so a flood of bad tokens costs no memory and evicts
// nothing.
func TestCacheFailuresNotCached(t *testing.T) {
	op, v, clock := newTestVerifier(t, nil)
	ctx := context.Background()
	for i := range 100 {
		bad := op.AccessToken(oidctest.AccessTokenOptions{Audience: []string{fmt.Sprint("other-", i)}})
		if _, err := v.VerifyToken(ctx, bad); !errors.Is(err, ErrInvalidAudience) {
			t.Fatal(err)
		}
		if _, err := v.VerifyToken(ctx, fmt.Sprint("opaque-", i)); !errors.Is(err, ErrInactive) {
			t.Fatal(err)
		}
	}
	if n := v.cache.len(); n != 0 {
		t.Fatalf("%d entries after failures", n)
	}
	// Expired at once: never cached.
	if _, err := v.VerifyToken(ctx, op.AccessToken(oidctest.AccessTokenOptions{TTL: -time.Second})); !errors.Is(err, ErrExpired) {
		t.Fatal(err)
	}
	_ = clock
}

// TestCacheBound checks that the cache holds at most CacheSize entries.
func TestCacheBound(t *testing.T) {
	c := newCache(64)
	now := time.Now()
	tok := &Token{}
	for i := range 1000 {
		c.put(keyOf(fmt.Sprint(i)), tok, now.Add(time.Hour), now)
		if c.len() > 64 {
			t.Fatalf("%d entries, bound 64", c.len())
		}
	}
	if c.get(keyOf("999"), now) == nil {
		t.Fatal("the newest entry is missing")
	}
	c.put(keyOf("expired"), tok, now, now)
	if c.get(keyOf("expired"), now) != nil {
		t.Fatal("an entry already expired was cached")
	}
	off := newCache(-1)
	off.put(keyOf("x"), tok, now.Add(time.Hour), now)
	if off.get(keyOf("x"), now) != nil {
		t.Fatal("CacheSize -1 cached")
	}
}

// TestCacheKeyIsHash checks that the cache never holds the token itself.
func TestCacheKeyIsHash(t *testing.T) {
	op, v, _ := newTestVerifier(t, nil)
	tok := op.AccessToken(oidctest.AccessTokenOptions{})
	if _, err := v.Authenticate(httptest.NewRequest("GET", "/", nil)); !errors.Is(err, ErrNoToken) {
		t.Fatal(err)
	}
	if _, err := v.VerifyToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	for k, e := range v.cache.entries {
		if string(k[:]) == tok || e.token.claims == nil {
			t.Fatal("unexpected entry")
		}
	}
}

// FuzzParseJWK feeds arbitrary JSON as a proof's jwk: nothing may panic,
// and a key that parses has one thumbprint.
func FuzzParseJWK(f *testing.F) {
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}`))
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`))
	f.Add([]byte(`{"kty":"EC","crv":"P-256","x":"","y":"","d":"x"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		key, tp, err := parseJWK(raw)
		if err != nil {
			return
		}
		_, tp2, err := parseJWK(raw)
		if key == nil || tp == "" || err != nil || tp != tp2 {
			t.Fatalf("key %v thumbprint %q / %q, %v", key, tp, tp2, err)
		}
	})
}

func TestParseJWKBounds(t *testing.T) {
	big := make([]byte, maxRSABytes+1)
	big[0] = 0xc1
	raw := fmt.Appendf(nil, `{"kty":"RSA","n":%q,"e":"AQAB"}`, b64.EncodeToString(big))
	if _, _, err := parseJWK(raw); err == nil {
		t.Fatal("an RSA key over 8192 bits was accepted")
	}
	for _, bad := range []string{
		`{"kty":"RSA","n":"AMEA","e":"AQAB"}`,                                            // leading zero
		`{"kty":"RSA","n":"wQ","e":"AAEAAQ"}`,                                            // e with a leading zero
		`{"kty":"oct","k":"c2VjcmV0"}`,                                                   // symmetric
		`{"kty":"OKP","crv":"X25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, // not a signing curve
		`{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}`,                                   // short coordinates
	} {
		if _, _, err := parseJWK([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
