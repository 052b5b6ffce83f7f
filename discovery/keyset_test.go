package discovery

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/jws"
)

// newKeySetOP starts a provider publishing keys and discovers it.
func newKeySetOP(t *testing.T, clk *clock, keys ...testKey) (*fakeOP, *Provider) {
	t.Helper()
	op := newFakeOP(t)
	op.publish(keys...)
	return op, mustNew(t, op.config(clk))
}

func TestKeySetVerify(t *testing.T) {
	keys := []testKey{
		key("rsa1", jose.RS256, "rs256"),
		key("rsa1", jose.RS512, "rs512"),
		key("rsa2", jose.PS256, "ps256"),
		key("ec256", jose.ES256, "es256"),
		key("ec384", jose.ES384, "es384"),
		key("ed25519", jose.EdDSA, "eddsa"),
	}
	noAlg := key("ec256b", jose.ES256, "no-alg")
	op := newFakeOP(t)
	op.publish(keys...)
	op.edit(func() {
		jwk := noAlg.jwk()
		jwk.Algorithm, jwk.Use = "", ""
		op.jwks = append(op.jwks, jwk)
	})
	p := mustNew(t, op.config(newClock()))
	ks := p.KeySet()

	for _, k := range append(keys, noAlg) {
		t.Run(string(k.alg)+"/"+k.kid, func(t *testing.T) {
			payload := `{"sub":"` + k.kid + `"}`
			token := sign(t, k, k.kid, payload)

			got, err := ks.VerifySignature(testContext(t), token)
			if err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			if string(got) != payload {
				t.Errorf("VerifySignature = %s, want %s", got, payload)
			}

			parsed, err := jws.Parse(token)
			if err != nil {
				t.Fatal(err)
			}
			if err := ks.Verify(testContext(t), parsed.Header.Kid, parsed.Header.Alg, parsed.Verify); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
	if got := op.jwksHits.Load(); got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}
}

func TestKeySetRotation(t *testing.T) {
	clk := newClock()
	k1 := key("rsa1", jose.RS256, "k1")
	k2 := key("rsa2", jose.RS256, "k2")
	op, p := newKeySetOP(t, clk, k1)
	ks := p.KeySet()

	if _, err := ks.VerifySignature(testContext(t), sign(t, k1, "k1", "one")); err != nil {
		t.Fatalf("token of the published key: %v", err)
	}
	op.publish(k2) // the provider rotates: k1 is gone, k2 is new

	// Still within the cache age and right after the first fetch: the first
	// token naming a key we lack is looked up.
	payload, err := ks.VerifySignature(testContext(t), sign(t, k2, "k2", "two"))
	if err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if string(payload) != "two" {
		t.Errorf("payload = %q, want %q", payload, "two")
	}
	if got := op.jwksHits.Load(); got != 2 {
		t.Errorf("key set fetched %d times, want 2", got)
	}

	// The retired key is gone, and the rate limit stops another look-up.
	_, err = ks.VerifySignature(testContext(t), sign(t, k1, "k1", "one"))
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of the retired key: err = %v, want ErrUnknownKey", err)
	}
	if got := op.jwksHits.Load(); got != 2 {
		t.Errorf("key set fetched %d times, want 2", got)
	}
}

func TestKeySetUnknownKidFlood(t *testing.T) {
	const interval = 30 * time.Second
	clk := newClock()
	k1 := key("rsa1", jose.RS256, "k1")
	attacker := key("ec256b", jose.ES256, "")
	op := newFakeOP(t)
	op.publish(k1)
	cfg := op.config(clk)
	cfg.KeyRefetchInterval = interval
	p := mustNew(t, cfg)
	ks := p.KeySet()

	if _, err := ks.VerifySignature(testContext(t), sign(t, k1, "k1", "ok")); err != nil {
		t.Fatal(err)
	}
	next := 0
	forged := func() string {
		next++
		return sign(t, attacker, fmt.Sprintf("made-up-%d", next), "forged")
	}
	wantUnknown := func(token string) {
		t.Helper()
		_, err := ks.VerifySignature(testContext(t), token)
		if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("forged token: err = %v, want ErrUnknownKey", err)
		}
	}
	wantHits := func(want int64) {
		t.Helper()
		if got := op.jwksHits.Load(); got != want {
			t.Fatalf("key set fetched %d times, want %d", got, want)
		}
	}

	// A concurrent flood: one re-fetch at most.
	const flood = 50
	tokens := make([]string, flood)
	for i := range tokens {
		tokens[i] = forged()
	}
	var wg sync.WaitGroup
	for _, token := range tokens {
		wg.Go(func() { wantUnknown(token) })
	}
	waitGroup(t, &wg)
	wantHits(2)

	// More of them, one by one, and right up to the end of the interval.
	for range 10 {
		wantUnknown(forged())
	}
	clk.Advance(interval - time.Second)
	wantUnknown(forged())
	wantHits(2)

	// Once the interval has passed, one more re-fetch is allowed.
	clk.Advance(time.Second)
	for range 10 {
		wantUnknown(forged())
	}
	wantHits(3)

	// The legitimate key is unaffected throughout.
	if _, err := ks.VerifySignature(testContext(t), sign(t, k1, "k1", "ok")); err != nil {
		t.Errorf("token of the published key after the flood: %v", err)
	}
	wantHits(3)
}

func TestKeySetVerifyFails(t *testing.T) {
	rs256 := key("rsa1", jose.RS256, "rs256")
	es256 := key("ec256", jose.ES256, "es256")
	rs512 := key("rsa2", jose.RS512, "rs512")
	ecNoAlg := key("ec256b", jose.ES256, "ec-no-alg")
	other := key("rsa2", jose.RS256, "")
	tamper := func(token string) string {
		parts := strings.Split(token, ".")
		parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`))
		return strings.Join(parts, ".")
	}

	tests := []struct {
		name      string
		token     func(t *testing.T) string
		want      error
		wantFetch int64 // key set fetches, the first included
	}{
		{
			name:      "known kid, signed by another key",
			token:     func(t *testing.T) string { return sign(t, other, "rs256", "x") },
			want:      ErrSignature,
			wantFetch: 1,
		},
		{
			name:      "known kid, tampered payload",
			token:     func(t *testing.T) string { return tamper(sign(t, rs256, "rs256", `{"sub":"alice"}`)) },
			want:      ErrSignature,
			wantFetch: 1,
		},
		{
			name: "key published for another alg",
			token: func(t *testing.T) string {
				return sign(t, key("rsa2", jose.RS256, ""), "rs512", "x") // the rs512 key, used for RS256
			},
			want:      ErrSignature,
			wantFetch: 1,
		},
		{
			name:      "kid of an ES256 key on an RS256 token",
			token:     func(t *testing.T) string { return sign(t, rs256, "es256", "x") },
			want:      ErrSignature,
			wantFetch: 1,
		},
		{
			name:      "kid of an EC key without alg on an RS256 token",
			token:     func(t *testing.T) string { return sign(t, rs256, "ec-no-alg", "x") },
			want:      ErrSignature,
			wantFetch: 1,
		},
		{
			name:      "unknown kid",
			token:     func(t *testing.T) string { return sign(t, other, "nope", "x") },
			want:      ErrUnknownKey,
			wantFetch: 2,
		},
		{
			name:      "no kid, no key verifies",
			token:     func(t *testing.T) string { return sign(t, key("ec384", jose.ES384, ""), "", "x") },
			want:      ErrSignature,
			wantFetch: 2, // without a kid, a rotation cannot be ruled out
		},
		{
			name:      "not a JWS",
			token:     func(t *testing.T) string { return "not.a.jws" },
			want:      ErrSignature,
			wantFetch: 0,
		},
		{
			name: "HS256",
			token: func(t *testing.T) string {
				return signWith(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "rs256", "x")
			},
			want:      ErrSignature,
			wantFetch: 0,
		},
		{
			name: "alg none",
			token: func(t *testing.T) string {
				enc := base64.RawURLEncoding.EncodeToString
				return enc([]byte(`{"alg":"none","kid":"rs256"}`)) + "." + enc([]byte("x")) + "."
			},
			want:      ErrSignature,
			wantFetch: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, p := newKeySetOP(t, newClock(), rs256, es256, rs512, ecNoAlg)
			op.edit(func() { op.jwks[3].Algorithm = "" })
			payload, err := p.KeySet().VerifySignature(testContext(t), tt.token(t))
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if payload != nil {
				t.Errorf("payload = %q with an error", payload)
			}
			if got := op.jwksHits.Load(); got != tt.wantFetch {
				t.Errorf("key set fetched %d times, want %d", got, tt.wantFetch)
			}
		})
	}
}

func TestKeySetNoKid(t *testing.T) {
	clk := newClock()
	k1 := key("rsa1", jose.RS256, "k1")
	k2 := key("ec256", jose.ES256, "k2")
	stranger := key("ec256b", jose.ES256, "")
	op, p := newKeySetOP(t, clk, k1, k2)
	ks := p.KeySet()

	// A token without kid is tried against every key.
	payload, err := ks.VerifySignature(testContext(t), sign(t, k2, "", "no kid"))
	if err != nil {
		t.Fatalf("token without kid: %v", err)
	}
	if string(payload) != "no kid" {
		t.Errorf("payload = %q, want %q", payload, "no kid")
	}
	if got := op.jwksHits.Load(); got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}

	// A token no key verifies may have been signed by a key rotated in
	// since: the keys are fetched again before the signature is called bad.
	_, err = ks.VerifySignature(testContext(t), sign(t, stranger, "", "x"))
	if !errors.Is(err, ErrSignature) {
		t.Errorf("unverifiable token without kid: err = %v, want ErrSignature", err)
	}
	if got := op.jwksHits.Load(); got != 2 {
		t.Errorf("key set fetched %d times, want 2", got)
	}

	// Another within KeyRefetchInterval is refused the re-fetch, which
	// ErrUnknownKey reports.
	_, err = ks.VerifySignature(testContext(t), sign(t, stranger, "", "x"))
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("second unverifiable token without kid: err = %v, want ErrUnknownKey", err)
	}
	if got := op.jwksHits.Load(); got != 2 {
		t.Errorf("key set fetched %d times, want 2", got)
	}

	// A key that rotates in is found by a token without kid as well.
	clk.Advance(10 * time.Second)
	op.publish(k1, k2, stranger)
	if _, err := ks.VerifySignature(testContext(t), sign(t, stranger, "", "x")); err != nil {
		t.Errorf("token without kid of a new key: %v", err)
	}
}

func TestKeySetEmpty(t *testing.T) {
	k := key("ec256", jose.ES256, "k")
	tests := []struct {
		name string
		kid  string
	}{
		{"with kid", "k"},
		{"without kid", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, p := newKeySetOP(t, newClock()) // publishes no key
			_, err := p.KeySet().VerifySignature(testContext(t), sign(t, k, tt.kid, "x"))
			if !errors.Is(err, ErrUnknownKey) {
				t.Errorf("err = %v, want ErrUnknownKey", err)
			}
			if got := op.jwksHits.Load(); got != 2 {
				t.Errorf("key set fetched %d times, want 2", got)
			}
		})
	}
}

func TestKeySetSkipsEncryptionKeys(t *testing.T) {
	k := key("rsa1", jose.RS256, "k1")
	op := newFakeOP(t)
	op.edit(func() {
		jwk := k.jwk()
		jwk.Use = "enc"
		op.jwks = []jose.JSONWebKey{jwk}
	})
	p := mustNew(t, op.config(newClock()))
	_, err := p.KeySet().VerifySignature(testContext(t), sign(t, k, "k1", "x"))
	if !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token of an encryption key: err = %v, want ErrUnknownKey", err)
	}
}

func TestKeySetVerifyRejectsJWS(t *testing.T) {
	k1 := key("rsa1", jose.RS256, "k1")
	k2 := key("ec256", jose.ES256, "k2")
	k3 := key("rsa2", jose.RS256, "k3") // published without alg

	// A JWS JSON serialization with two signatures.
	multi := func(t *testing.T) string {
		signer, err := jose.NewMultiSigner([]jose.SigningKey{
			{Algorithm: k1.alg, Key: jose.JSONWebKey{Key: k1.priv, KeyID: k1.kid}},
			{Algorithm: k2.alg, Key: jose.JSONWebKey{Key: k2.priv, KeyID: k2.kid}},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		signed, err := signer.Sign([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		return signed.FullSerialize()
	}
	// hmac is a token signed with HS256 keyed with k's public JWK and
	// naming k's kid: the key confusion attack.
	hmac := func(k testKey) func(t *testing.T) string {
		return func(t *testing.T) string {
			secret, err := json.Marshal(k.jwk())
			if err != nil {
				t.Fatal(err)
			}
			return signWith(t, jose.HS256, secret, k.kid, "x")
		}
	}
	unsigned := func(t *testing.T) string {
		tok := sign(t, k1, k1.kid, "x")
		return tok[:strings.LastIndexByte(tok, '.')+1]
	}

	tests := []struct {
		name      string
		token     func(t *testing.T) string
		direct    bool // call Verify with the token's header, skipping VerifySignature's alg check
		want      error
		wantFetch int64
	}{
		{"two signatures", multi, false, ErrSignature, 0},
		{"no signature", unsigned, false, ErrSignature, 1},
		{"HS256, refused by name", hmac(k1), false, ErrSignature, 0},
		{"HS256 keyed with a public key of alg RS256", hmac(k1), true, ErrSignature, 1},
		{"HS256 keyed with a public key without alg", hmac(k3), true, ErrSignature, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, p := newKeySetOP(t, newClock(), k1, k2, k3)
			op.edit(func() { op.jwks[2].Algorithm = "" })
			raw := tt.token(t)
			var err error
			var payload []byte
			if tt.direct {
				parsed, perr := jws.Parse(raw)
				if perr != nil {
					t.Fatal(perr)
				}
				err = p.KeySet().Verify(testContext(t), parsed.Header.Kid, parsed.Header.Alg, parsed.Verify)
			} else {
				payload, err = p.KeySet().VerifySignature(testContext(t), raw)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if payload != nil {
				t.Errorf("payload = %q with an error", payload)
			}
			if got := op.jwksHits.Load(); got != tt.wantFetch {
				t.Errorf("key set fetched %d times, want %d", got, tt.wantFetch)
			}
		})
	}
}

func TestKeySetFetchErrors(t *testing.T) {
	huge := make([]byte, httpx.MaxBody+1)
	tests := []struct {
		name  string
		setup func(op *fakeOP)
		check func(t *testing.T, err error)
	}{
		{
			name:  "status 500",
			setup: func(op *fakeOP) { op.jwksStatus = http.StatusInternalServerError },
			check: func(t *testing.T, err error) { wantStatus(t, err, http.StatusInternalServerError) },
		},
		{
			name:  "body over 1 MiB",
			setup: func(op *fakeOP) { op.jwksBody = huge },
			check: func(t *testing.T, err error) {
				wantStatus(t, err, 0)
				if !errors.Is(err, httpx.ErrTooLarge) {
					t.Errorf("err = %v, want httpx.ErrTooLarge", err)
				}
			},
		},
		{
			name:  "not JSON",
			setup: func(op *fakeOP) { op.jwksBody = []byte("<html>") },
			check: func(t *testing.T, err error) { wantKeySetError(t, err) },
		},
		{
			name:  "no keys member",
			setup: func(op *fakeOP) { op.jwksBody = []byte(`{"kids":[]}`) },
			check: func(t *testing.T, err error) { wantKeySetError(t, err) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			k := key("ec256", jose.ES256, "k")
			op, p := newKeySetOP(t, clk, k)
			op.edit(func() { tt.setup(op) })
			token := sign(t, k, "k", "x")

			_, err := p.KeySet().VerifySignature(testContext(t), token)
			tt.check(t, err)
			if err := p.KeySet().Refresh(testContext(t)); err == nil {
				t.Error("Refresh succeeded")
			}

			// While no keys are held, the failure is repeated, without a
			// request, for KeyRefetchInterval: a down key endpoint is not
			// hammered by every token.
			op.edit(func() { op.jwksStatus, op.jwksBody = 0, nil })
			if _, err := p.KeySet().VerifySignature(testContext(t), token); err == nil {
				t.Error("verified within KeyRefetchInterval of a failed fetch")
			}
			if got := op.jwksHits.Load(); got != 2 {
				t.Errorf("key set fetched %d times, want 2", got)
			}
			// Once the interval has passed, the next token fetches the keys.
			clk.Advance(10 * time.Second)
			if _, err := p.KeySet().VerifySignature(testContext(t), token); err != nil {
				t.Errorf("after the provider recovered: %v", err)
			}
			if got := op.jwksHits.Load(); got != 3 {
				t.Errorf("key set fetched %d times, want 3", got)
			}
		})
	}
}

func wantKeySetError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrInvalidKeySet) {
		t.Errorf("err = %v, want ErrInvalidKeySet", err)
	}
}

func TestKeySetBackgroundRefresh(t *testing.T) {
	clk := newClock()
	k1 := key("rsa1", jose.RS256, "k1")
	k2 := key("ec256", jose.ES256, "k2")
	op := newFakeOP(t)
	op.publish(k1)
	op.edit(func() { op.jwksHeader = http.Header{"Cache-Control": {"max-age=120"}} })
	p := mustNew(t, op.config(clk))
	ks := p.KeySet()
	wantHits := func(want int64) {
		t.Helper()
		if got := op.jwksHits.Load(); got != want {
			t.Fatalf("key set fetched %d times, want %d", got, want)
		}
	}
	verify := func(k testKey) {
		t.Helper()
		if _, err := ks.VerifySignature(testContext(t), sign(t, k, k.kid, "x")); err != nil {
			t.Fatalf("token of %s: %v", k.kid, err)
		}
	}

	verify(k1)
	clk.Advance(119 * time.Second)
	verify(k1)
	if backgroundRunning(p, "jwks") {
		t.Fatal("refresh started before the key set went stale")
	}
	wantHits(1)

	// Stale: the cached keys answer while one refresh runs in the background.
	op.publish(k1, k2)
	arrived := op.hold()
	clk.Advance(2 * time.Second)
	for range 10 {
		verify(k1)
	}
	select {
	case <-arrived:
	case <-time.After(testTimeout):
		t.Fatal("no background refresh reached the provider")
	}
	op.release()
	waitIdle(t, p)
	wantHits(2)
	verify(k2) // the refreshed set has it, no fetch needed
	wantHits(2)

	// A failed refresh keeps the keys and is retried after MinCacheAge.
	op.edit(func() { op.jwksStatus = http.StatusBadGateway })
	clk.Advance(121 * time.Second)
	verify(k1)
	waitIdle(t, p)
	wantHits(3)
	clk.Advance(59 * time.Second)
	verify(k2)
	if backgroundRunning(p, "jwks") {
		t.Fatal("refresh retried before MinCacheAge")
	}
	clk.Advance(2 * time.Second)
	verify(k2)
	waitIdle(t, p)
	wantHits(4)
}

// TestKeySetFollowsJWKSURI moves the provider's key set to another jwks_uri:
// once the refreshed metadata names it, the keys fetched from the old URI are
// no longer trusted (they could otherwise stay for up to MaxCacheAge), the
// new set is fetched before the next verification, and a failure to fetch it
// is not made good with the old keys.
func TestKeySetFollowsJWKSURI(t *testing.T) {
	oldKey := key("rsa1", jose.RS256, "old")
	newKey := key("ec256", jose.ES256, "new")
	setup := func(t *testing.T) (clk *clock, op, moved *fakeOP, p *Provider) {
		clk = newClock()
		op, p = newKeySetOP(t, clk, oldKey)
		moved = newFakeOP(t)
		moved.publish(newKey)
		if _, err := p.KeySet().VerifySignature(testContext(t), sign(t, oldKey, "old", "x")); err != nil {
			t.Fatalf("token of the published key: %v", err)
		}
		op.edit(func() { op.doc["jwks_uri"] = moved.issuer + "/jwks" })
		if _, err := p.Refresh(testContext(t)); err != nil {
			t.Fatalf("metadata refresh: %v", err)
		}
		return clk, op, moved, p
	}

	t.Run("new set fetched", func(t *testing.T) {
		_, op, moved, p := setup(t)
		ks := p.KeySet()

		if _, err := ks.VerifySignature(testContext(t), sign(t, oldKey, "old", "x")); err == nil {
			t.Fatal("a token of the old jwks_uri's key verified after the metadata named another")
		} else if !errors.Is(err, ErrUnknownKey) {
			t.Errorf("token of the old key: err = %v, want ErrUnknownKey", err)
		}
		payload, err := ks.VerifySignature(testContext(t), sign(t, newKey, "new", "y"))
		if err != nil {
			t.Fatalf("token of the new key set: %v", err)
		}
		if string(payload) != "y" {
			t.Errorf("payload = %q, want %q", payload, "y")
		}
		if got := op.jwksHits.Load(); got != 1 {
			t.Errorf("old jwks_uri fetched %d times, want 1 (before the move only)", got)
		}
		if got := moved.jwksHits.Load(); got == 0 {
			t.Error("new jwks_uri never fetched")
		}
	})

	t.Run("new set unreachable", func(t *testing.T) {
		clk, op, moved, p := setup(t)
		ks := p.KeySet()
		moved.edit(func() { moved.jwksStatus = http.StatusServiceUnavailable })

		for range 3 {
			_, err := ks.VerifySignature(testContext(t), sign(t, oldKey, "old", "x"))
			if err == nil {
				t.Fatal("a token of the old jwks_uri's key verified while the new one is down")
			}
			wantStatus(t, err, http.StatusServiceUnavailable)
		}
		if got := op.jwksHits.Load(); got != 1 {
			t.Errorf("old jwks_uri fetched %d times, want 1 (before the move only)", got)
		}
		// As with a first fetch, the failure is repeated for
		// KeyRefetchInterval without a request.
		if got := moved.jwksHits.Load(); got != 1 {
			t.Errorf("new jwks_uri fetched %d times, want 1", got)
		}

		moved.edit(func() { moved.jwksStatus = 0 })
		clk.Advance(10 * time.Second)
		if _, err := ks.VerifySignature(testContext(t), sign(t, newKey, "new", "y")); err != nil {
			t.Errorf("once the new jwks_uri answers: %v", err)
		}
	})
}

func TestKeySetRefreshShared(t *testing.T) {
	op, p := newKeySetOP(t, newClock(), key("ec256", jose.ES256, "k"))
	ks := p.KeySet()
	arrived := op.hold()

	const callers = 8
	errs := make(chan error, callers)
	waiting := make([]*waitingContext, callers)
	for i := range waiting {
		waiting[i] = newWaitingContext(testContext(t))
		go func() { errs <- ks.Refresh(waiting[i]) }()
	}
	for i, ctx := range waiting {
		select {
		case <-ctx.entered:
		case <-time.After(testTimeout):
			t.Fatalf("caller %d never waited for the fetch", i)
		}
	}
	select {
	case <-arrived:
	case <-time.After(testTimeout):
		t.Fatal("no fetch reached the provider")
	}
	op.release()
	for range callers {
		if err := <-errs; err != nil {
			t.Errorf("Refresh: %v", err)
		}
	}
	if got := op.jwksHits.Load(); got != 1 {
		t.Errorf("key set fetched %d times, want 1", got)
	}
}

func TestKeySetAfterClose(t *testing.T) {
	k := key("ec256", jose.ES256, "k")
	token := sign(t, k, "k", "x")

	t.Run("cached keys still verify", func(t *testing.T) {
		clk := newClock()
		_, p := newKeySetOP(t, clk, k)
		if _, err := p.KeySet().VerifySignature(testContext(t), token); err != nil {
			t.Fatal(err)
		}
		p.Close()
		clk.Advance(48 * time.Hour)
		if _, err := p.KeySet().VerifySignature(testContext(t), token); err != nil {
			t.Errorf("after Close: %v", err)
		}
		if backgroundRunning(p, "jwks") {
			t.Error("a refresh started after Close")
		}
	})
	t.Run("no keys yet", func(t *testing.T) {
		op, p := newKeySetOP(t, newClock(), k)
		p.Close()
		_, err := p.KeySet().VerifySignature(testContext(t), token)
		if !errors.Is(err, ErrFetch) || !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want ErrFetch wrapping context.Canceled", err)
		}
		if got := op.jwksHits.Load(); got != 0 {
			t.Errorf("key set fetched %d times after Close, want 0", got)
		}
	})
}

// TestKeySetOIDCVerifier checks the key set behind go-oidc's verifier.
func TestKeySetOIDCVerifier(t *testing.T) {
	clk := newClock()
	k := key("rsa1", jose.RS256, "k") // go-oidc accepts only RS256 unless told otherwise
	op, p := newKeySetOP(t, clk, k)
	verifier := oidc.NewVerifier(op.issuer, p.KeySet(), &oidc.Config{ClientID: "client", Now: clk.Now})
	claims := func(iss string) string {
		b, _ := json.Marshal(map[string]any{
			"iss": iss, "sub": "alice", "aud": "client",
			"iat": clk.Now().Unix(), "exp": clk.Now().Add(time.Hour).Unix(),
		})
		return string(b)
	}

	tok, err := verifier.Verify(testContext(t), sign(t, k, "k", claims(op.issuer)))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if tok.Subject != "alice" {
		t.Errorf("Subject = %q, want alice", tok.Subject)
	}

	forged := sign(t, key("rsa2", jose.RS256, ""), "other", claims(op.issuer))
	if _, err := verifier.Verify(testContext(t), forged); err == nil {
		t.Error("Verify accepted a token of an unknown key")
	}
}

func TestParseKeySet(t *testing.T) {
	public := func(name string, alg jose.SignatureAlgorithm, kid string) string {
		b, err := json.Marshal(key(name, alg, kid).jwk())
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	private := func(name, kid string) string {
		b, err := json.Marshal(jose.JSONWebKey{Key: keyPool()[name], KeyID: kid})
		if err != nil {
			panic(err)
		}
		return string(b)
	}
	edit := func(jwk string, fn func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(jwk), &m); err != nil {
			panic(err)
		}
		fn(m)
		b, _ := json.Marshal(m)
		return string(b)
	}
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	rsa := public("rsa1", jose.RS256, "rsa")
	ec := public("ec256", jose.ES256, "ec")
	ed := public("ed25519", jose.EdDSA, "ed")

	tests := []struct {
		name     string
		body     string
		wantKids []string // nil with wantErr
		wantErr  bool
	}{
		{name: "RSA, EC and OKP keys", body: set(rsa, ec, ed), wantKids: []string{"rsa", "ec", "ed"}},
		{name: "empty set", body: `{"keys":[]}`, wantKids: []string{}},
		{name: "other members ignored", body: `{"keys":[` + ec + `],"x":1}`, wantKids: []string{"ec"}},
		{
			name:     "no use and no alg",
			body:     set(edit(ec, func(m map[string]any) { delete(m, "use"); delete(m, "alg") })),
			wantKids: []string{"ec"},
		},
		{
			name:     "encryption key skipped",
			body:     set(edit(rsa, func(m map[string]any) { m["use"] = "enc"; delete(m, "alg") }), ec),
			wantKids: []string{"ec"},
		},
		{
			name:     "encryption alg skipped",
			body:     set(edit(rsa, func(m map[string]any) { m["alg"] = "RSA-OAEP"; delete(m, "use") }), ec),
			wantKids: []string{"ec"},
		},
		{
			name:     "HMAC alg on an RSA key skipped",
			body:     set(edit(rsa, func(m map[string]any) { m["alg"] = "HS256" }), ec),
			wantKids: []string{"ec"},
		},
		{
			name:     "unknown alg skipped",
			body:     set(edit(rsa, func(m map[string]any) { m["alg"] = "XX999" }), ec),
			wantKids: []string{"ec"},
		},
		{name: "unknown kty skipped", body: set(`{"kty":"XYZ","kid":"xyz"}`, ec), wantKids: []string{"ec"}},
		{name: "symmetric key skipped", body: set(`{"kty":"oct","kid":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`, ec), wantKids: []string{"ec"}},
		{name: "private RSA key skipped", body: set(private("rsa1", "p"), ec), wantKids: []string{"ec"}},
		{name: "private EC key skipped", body: set(private("ec384", "p"), ec), wantKids: []string{"ec"}},
		{name: "private OKP key skipped", body: set(private("ed25519", "p"), ec), wantKids: []string{"ec"}},
		{
			name:     "RSA modulus not base64url skipped",
			body:     set(edit(rsa, func(m map[string]any) { m["n"] = "!!!" }), ec),
			wantKids: []string{"ec"},
		},
		{
			name:     "EC point off the curve skipped",
			body:     set(edit(ec, func(m map[string]any) { m["y"] = m["x"] }), rsa),
			wantKids: []string{"rsa"},
		},
		{
			name:     "unknown curve skipped",
			body:     set(edit(ec, func(m map[string]any) { m["crv"] = "P-192" }), rsa),
			wantKids: []string{"rsa"},
		},
		{
			name:     "short OKP key skipped",
			body:     set(edit(ed, func(m map[string]any) { m["x"] = "AAAA" }), rsa),
			wantKids: []string{"rsa"},
		},
		{name: "key not an object skipped", body: set(`"key"`, `42`, `null`, `[]`, ec), wantKids: []string{"ec"}},
		{name: "no keys member", body: `{}`, wantErr: true},
		{name: "keys null", body: `{"keys":null}`, wantErr: true},
		{name: "keys not an array", body: `{"keys":{}}`, wantErr: true},
		{name: "JSON null", body: `null`, wantErr: true},
		{name: "JSON array", body: `[` + ec + `]`, wantErr: true},
		{name: "not JSON", body: `<html>`, wantErr: true},
		{name: "empty", body: ``, wantErr: true},
		{name: "truncated", body: set(ec)[:40], wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := parseKeySet([]byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidKeySet) {
					t.Errorf("err = %v, want ErrInvalidKeySet", err)
				}
				if keys != nil {
					t.Errorf("keys = %v with an error", keys)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseKeySet: %v", err)
			}
			kids := make([]string, 0, len(keys))
			for _, k := range keys {
				kids = append(kids, k.KeyID)
				if !k.IsPublic() || !k.Valid() {
					t.Errorf("key %q is not a valid public key", k.KeyID)
				}
			}
			if !slices.Equal(kids, tt.wantKids) {
				t.Errorf("kids = %q, want %q", kids, tt.wantKids)
			}
		})
	}
}

func FuzzParseKeySet(f *testing.F) {
	for _, k := range []testKey{
		key("rsa1", jose.RS256, "rsa"),
		key("ec256", jose.ES256, "ec"),
		key("ed25519", jose.EdDSA, "ed"),
	} {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.jwk()}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"keys":[]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"c2VjcmV0"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":[null,1,"x",{"kty":"OKP","crv":"Ed25519","x":""}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))

	f.Fuzz(func(t *testing.T, body []byte) {
		keys, err := parseKeySet(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidKeySet) {
				t.Fatalf("err = %v, want ErrInvalidKeySet", err)
			}
			if keys != nil {
				t.Fatal("keys with an error")
			}
			return
		}
		if keys == nil {
			t.Fatal("nil keys without an error")
		}
		for _, k := range keys {
			if !k.IsPublic() || !k.Valid() {
				t.Fatalf("kept key %q that is not a valid public key", k.KeyID)
			}
			if k.Use != "" && k.Use != "sig" {
				t.Fatalf("kept key %q of use %q", k.KeyID, k.Use)
			}
			if k.Algorithm != "" && !slices.Contains(SignatureAlgorithms, k.Algorithm) {
				t.Fatalf("kept key %q of alg %q", k.KeyID, k.Algorithm)
			}
		}
	})
}
