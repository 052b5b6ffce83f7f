package client_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// BenchmarkVerifyIDToken verifies a typical RS256 ID token (profile and
// email claims) with the provider's keys cached: the bare signature check
// (baseline: base64url, SHA-256, RSA), this package (parse once, signature,
// every claim check), and go-oidc's verifier for comparison.
func BenchmarkVerifyIDToken(b *testing.B) {
	op := oidctest.NewServer(oidctest.Config{})
	b.Cleanup(op.Close)
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, RedirectURL: "https://app.example.com/cb"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rp.Close() })
	now := time.Now()
	raw := op.SignJWT(map[string]any{
		"iss": op.URL, "sub": "248289761001", "aud": oidctest.DefaultClient.ID, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "auth_time": now.Unix(), "nonce": "n-0S6_WzA2Mj-Uo8xVb2e-3tLz8qRkA9fN0hQ4oP7sM1",
		"sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "name": "Jane Doe", "preferred_username": "jane.doe@example.com",
		"email": "jane.doe@example.com", "email_verified": true,
	}, "JWT")
	checks := client.IDTokenChecks{Nonce: "n-0S6_WzA2Mj-Uo8xVb2e-3tLz8qRkA9fN0hQ4oP7sM1"}
	if _, err := rp.VerifyIDToken(ctx, raw, checks); err != nil { // fetches the keys
		b.Fatal(err)
	}
	keys, err := rp.Provider().KeySet().VerifySignature(ctx, raw)
	if err != nil || len(keys) == 0 {
		b.Fatal(err)
	}
	pub := publicKey(b, op)

	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			dot := strings.LastIndexByte(raw, '.')
			sig, err := base64.RawURLEncoding.DecodeString(raw[dot+1:])
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.Sum256([]byte(raw[:dot]))
			if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("oidcrp", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rp.VerifyIDToken(ctx, raw, checks); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("go-oidc", func(b *testing.B) {
		v := oidc.NewVerifier(op.URL, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{pub}}, &oidc.Config{ClientID: oidctest.DefaultClient.ID})
		b.ReportAllocs()
		for b.Loop() {
			tok, err := v.Verify(ctx, raw)
			if err != nil || tok.Nonce != checks.Nonce {
				b.Fatal(err)
			}
		}
	})
}

// publicKey returns the provider's signing key.
func publicKey(b *testing.B, op *oidctest.Server) *rsa.PublicKey {
	p := oidctest.NewBrowser()
	page, err := p.Get(context.Background(), op.URL+"/jwks")
	if err != nil {
		b.Fatal(err)
	}
	keys, err := discoveryParse(page.Body)
	if err != nil {
		b.Fatal(err)
	}
	return keys
}
