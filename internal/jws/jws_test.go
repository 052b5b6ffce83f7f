package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

var (
	keysOnce sync.Once
	rsaKey   *rsa.PrivateKey
	rsaSmall *rsa.PrivateKey
	p256     *ecdsa.PrivateKey
	p384     *ecdsa.PrivateKey
	p521     *ecdsa.PrivateKey
	edKey    ed25519.PrivateKey
)

func keys(t testing.TB) {
	keysOnce.Do(func() {
		rsaKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		rsaSmall, _ = rsa.GenerateKey(rand.Reader, 1024)
		p256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		p384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		p521, _ = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
		_, edKey, _ = ed25519.GenerateKey(rand.Reader)
	})
}

// sign makes a compact JWS with go-jose, the reference implementation.
func sign(t testing.TB, alg jose.SignatureAlgorithm, key any, payload string, header map[jose.HeaderKey]any) string {
	t.Helper()
	opts := &jose.SignerOptions{ExtraHeaders: header}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts.WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestVerifyInteroperates verifies tokens signed by go-jose with every
// supported algorithm, and refuses each with the wrong key.
func TestVerifyInteroperates(t *testing.T) {
	keys(t)
	secret := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	tests := []struct {
		alg        jose.SignatureAlgorithm
		priv       any
		pub, wrong crypto.PublicKey
	}{
		{jose.RS256, rsaKey, &rsaKey.PublicKey, &p256.PublicKey},
		{jose.RS384, rsaKey, &rsaKey.PublicKey, edKey.Public()},
		{jose.RS512, rsaKey, &rsaKey.PublicKey, secret},
		{jose.PS256, rsaKey, &rsaKey.PublicKey, &p256.PublicKey},
		{jose.PS384, rsaKey, &rsaKey.PublicKey, &p256.PublicKey},
		{jose.PS512, rsaKey, &rsaKey.PublicKey, &p256.PublicKey},
		{jose.ES256, p256, &p256.PublicKey, &p384.PublicKey},
		{jose.ES384, p384, &p384.PublicKey, &p256.PublicKey},
		{jose.ES512, p521, &p521.PublicKey, &rsaKey.PublicKey},
		{jose.EdDSA, edKey, edKey.Public(), &p256.PublicKey},
		{jose.HS256, secret[:32], secret[:32], secret[:31]},
		{jose.HS384, secret[:48], secret[:48], &rsaKey.PublicKey},
		{jose.HS512, secret, secret, secret[:32]},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			raw := sign(t, tt.alg, tt.priv, `{"sub":"x"}`, map[jose.HeaderKey]any{"kid": "k1"})
			tok, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if tok.Header.Alg != string(tt.alg) || tok.Header.Kid != "k1" || tok.Header.Typ != "JWT" || string(tok.Payload) != `{"sub":"x"}` {
				t.Fatalf("parsed %+v", tok)
			}
			if err := tok.Verify(tt.pub); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := tok.Verify(tt.wrong); err == nil {
				t.Fatal("verified with the wrong key")
			}
			// Any change to the signed bytes breaks the signature.
			for _, i := range []int{1, len(raw) / 2, len(raw) - 2} {
				b := []byte(raw)
				if b[i] == 'A' {
					b[i] = 'B'
				} else if b[i] != '.' {
					b[i] = 'A'
				}
				if tok, err := Parse(string(b)); err == nil && tok.Verify(tt.pub) == nil && string(b) != raw {
					t.Fatalf("verified after changing byte %d", i)
				}
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	keys(t)
	small := sign(t, jose.RS256, rsaSmall, "x", nil)
	tok, _ := Parse(small)
	if err := tok.Verify(&rsaSmall.PublicKey); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("1024-bit RSA key: %v", err)
	}
	enc := base64.RawURLEncoding
	for name, raw := range map[string]string{
		"none":          enc.EncodeToString([]byte(`{"alg":"none"}`)) + ".eA.",
		"none, any sig": enc.EncodeToString([]byte(`{"alg":"none"}`)) + ".eA.c2ln",
		"unknown alg":   enc.EncodeToString([]byte(`{"alg":"XS256"}`)) + ".eA.c2ln",
		"short alg":     enc.EncodeToString([]byte(`{"alg":"R"}`)) + ".eA.c2ln",
	} {
		tok, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		for _, key := range []crypto.PublicKey{&rsaKey.PublicKey, []byte(strings.Repeat("k", 64)), nil} {
			if err := tok.Verify(key); err == nil {
				t.Errorf("%s verified", name)
			}
		}
	}
	// ES signature of the wrong length.
	raw := sign(t, jose.ES256, p256, "x", nil)
	raw = raw[:strings.LastIndexByte(raw, '.')+1] + enc.EncodeToString(make([]byte, 60))
	tok, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.Verify(&p256.PublicKey); !errors.Is(err, ErrSignature) {
		t.Errorf("short ES256 signature: %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	keys(t)
	enc := base64.RawURLEncoding
	h := func(s string) string { return enc.EncodeToString([]byte(s)) }
	good := sign(t, jose.RS256, rsaKey, "x", nil)
	for name, raw := range map[string]string{
		"empty":              "",
		"two parts":          "a.b",
		"four parts":         good + ".x",
		"JSON serialization": `{"payload":"eA","signatures":[]}`,
		"header not base64":  "!!." + strings.SplitN(good, ".", 2)[1],
		"header padded":      h(`{"alg":"RS256"}`) + "=.eA.c2ln",
		"header not JSON":    h(`alg`) + ".eA.c2ln",
		"header not object":  h(`["RS256"]`) + ".eA.c2ln",
		"no alg":             h(`{"kid":"k"}`) + ".eA.c2ln",
		"alg not a string":   h(`{"alg":1}`) + ".eA.c2ln",
		"crit":               h(`{"alg":"RS256","crit":["exp"],"exp":1}`) + ".eA.c2ln",
		"b64":                h(`{"alg":"RS256","b64":false}`) + ".eA.c2ln",
		"payload not b64":    h(`{"alg":"RS256"}`) + ".e*A.c2ln",
		"sig not b64":        h(`{"alg":"RS256"}`) + ".eA.c2l*",
		"huge":               strings.Repeat("a", maxLen+1),
	} {
		if _, err := Parse(raw); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	keys(f)
	f.Add(sign(f, jose.RS256, rsaKey, `{"sub":"x"}`, nil))
	f.Add(sign(f, jose.ES256, p256, `{}`, nil))
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := Parse(raw)
		if err != nil {
			return
		}
		for _, key := range []crypto.PublicKey{&rsaKey.PublicKey, &p256.PublicKey, edKey.Public(), []byte(strings.Repeat("k", 64))} {
			if tok.Verify(key) == nil && !strings.HasPrefix(tok.Header.Alg, "HS") {
				// Only genuine signatures verify; the seeds are the genuine ones.
				if _, err := Parse(raw); err != nil {
					t.Fatal("parsed twice differently")
				}
			}
		}
	})
}
