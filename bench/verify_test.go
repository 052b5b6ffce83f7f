package bench_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	jwt "github.com/golang-jwt/jwt/v5"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

const nonce = "n-0S6_WzA2Mj-Uo8xVb2e-3tLz8qRkA9fN0hQ4oP7sM1"

// idToken is a typical ID token's claims: the registered ones, nonce,
// auth_time, sid, and profile and email claims (about 600 bytes of payload).
func idToken(op *oidctest.Server, now time.Time) string {
	return op.SignJWT(map[string]any{
		"iss": op.URL, "sub": "248289761001", "aud": oidctest.DefaultClient.ID, "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "auth_time": now.Unix(), "nonce": nonce,
		"sid": "08a5019c-17e1-4977-8f42-65a12843ea02", "name": "Jane Doe", "preferred_username": "jane.doe@example.com",
		"email": "jane.doe@example.com", "email_verified": true,
	}, "JWT")
}

// verifyFixture is a provider signing with one algorithm, a client of it
// with the keys fetched, a token, and the provider's public key.
type verifyFixture struct {
	alg string
	op  *oidctest.Server
	rp  *client.RP
	raw string
	pub crypto.PublicKey
}

func newVerifyFixture(tb testing.TB, alg string) *verifyFixture {
	op := oidctest.NewServer(oidctest.Config{SigningAlg: alg})
	tb.Cleanup(op.Close)
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, RedirectURL: "https://app.example.com/cb"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rp.Close() })
	f := &verifyFixture{alg: alg, op: op, rp: rp, raw: idToken(op, time.Now())}
	if _, err := rp.VerifyIDToken(ctx, f.raw, client.IDTokenChecks{Nonce: nonce}); err != nil { // fetches the keys
		tb.Fatal(err)
	}
	resp, err := http.Get(op.URL + "/jwks")
	if err != nil {
		tb.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) == 0 {
		tb.Fatal("no keys", err)
	}
	f.pub = set.Keys[0].Key
	if _, err := floor(f.raw, f.pub); err != nil {
		tb.Fatal("floor: ", err)
	}
	return f
}

// floorClaims are the claims the ID-token checks read, decoded as a Go
// program does with encoding/json.
type floorClaims struct {
	Iss      string   `json:"iss"`
	Sub      string   `json:"sub"`
	Aud      audience `json:"aud"`
	Exp      int64    `json:"exp"`
	Iat      int64    `json:"iat"`
	Nbf      int64    `json:"nbf"`
	AuthTime int64    `json:"auth_time"`
	Nonce    string   `json:"nonce"`
	AZP      string   `json:"azp"`
	AtHash   string   `json:"at_hash"`
	SID      string   `json:"sid"`
}

// audience is aud: a string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		*a = audience{s}
		return err
	}
	return json.Unmarshal(b, (*[]string)(a))
}

var errBad = errors.New("bad token")

// floor is the least any verification does: parse the compact JWS once
// (split, base64url, decode the header), check the signature with the
// standard library, and decode the claims struct once. It checks no claim.
func floor(raw string, pub crypto.PublicKey) (*floorClaims, error) {
	enc := base64.RawURLEncoding
	h, rest, _ := strings.Cut(raw, ".")
	p, s, _ := strings.Cut(rest, ".")
	header, err := enc.DecodeString(h)
	if err != nil {
		return nil, err
	}
	var hdr struct{ Alg, Kid, Typ string }
	if err := json.Unmarshal(header, &hdr); err != nil {
		return nil, err
	}
	payload, err := enc.DecodeString(p)
	if err != nil {
		return nil, err
	}
	sig, err := enc.DecodeString(s)
	if err != nil {
		return nil, err
	}
	// The signing input as it is, without a copy.
	input := unsafe.Slice(unsafe.StringData(raw), len(h)+1+len(p))
	switch k := pub.(type) {
	case *rsa.PublicKey:
		sum := sha256.Sum256(input)
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
			return nil, errBad
		}
	case *ecdsa.PublicKey:
		sum := sha256.Sum256(input)
		var der [72]byte
		if len(sig) != 64 || !ecdsa.VerifyASN1(k, sum[:], asn1Signature(der[:0], sig)) {
			return nil, errBad
		}
	case ed25519.PublicKey:
		if !ed25519.Verify(k, input, sig) {
			return nil, errBad
		}
	default:
		return nil, errBad
	}
	c := new(floorClaims)
	if err := json.Unmarshal(payload, c); err != nil {
		return nil, err
	}
	return c, nil
}

// asn1Signature appends the DER form of a JWS ECDSA signature (r || s) to
// b, which crypto/ecdsa verifies without making big.Ints.
func asn1Signature(b, sig []byte) []byte {
	integer := func(b, v []byte) []byte {
		for len(v) > 1 && v[0] == 0 {
			v = v[1:]
		}
		n := len(v)
		if v[0]&0x80 != 0 {
			n++
		}
		b = append(b, 0x02, byte(n))
		if n > len(v) {
			b = append(b, 0)
		}
		return append(b, v...)
	}
	half := len(sig) / 2
	b = append(b, 0x30, 0)
	b = integer(b, sig[:half])
	b = integer(b, sig[half:])
	b[1] = byte(len(b) - 2)
	return b
}

// jwtClaims are the ID token's claims for golang-jwt: its registered
// claims, which it checks (iss, aud, exp, nbf, iat), and the nonce, which
// the caller compares.
type jwtClaims struct {
	jwt.RegisteredClaims
	Nonce    string `json:"nonce"`
	AZP      string `json:"azp"`
	AuthTime int64  `json:"auth_time"`
	SID      string `json:"sid"`
}

// BenchmarkVerifyIDToken verifies a typical ID token with the provider's
// keys in memory, for each of RS256, ES256 and EdDSA: the floor (baseline:
// parse once, check the signature, decode the claims once, check nothing),
// this library (client.RP.VerifyIDToken: every check of OpenID Connect Core
// 3.1.3.7, the nonce), golang-jwt/v5 (the signature, iss, aud, exp, iat
// required, and the nonce compared by the caller) and go-oidc's verifier.
func BenchmarkVerifyIDToken(b *testing.B) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		b.Run(alg, func(b *testing.B) {
			f := newVerifyFixture(b, alg)
			ctx := context.Background()
			b.Run("baseline", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := floor(f.raw, f.pub); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("oidcrp", func(b *testing.B) {
				checks := client.IDTokenChecks{Nonce: nonce}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := f.rp.VerifyIDToken(ctx, f.raw, checks); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("golang-jwt", func(b *testing.B) {
				p := jwt.NewParser(jwt.WithValidMethods([]string{alg}), jwt.WithIssuer(f.op.URL),
					jwt.WithAudience(oidctest.DefaultClient.ID), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
				keyFunc := func(*jwt.Token) (any, error) { return f.pub, nil }
				b.ReportAllocs()
				for b.Loop() {
					var c jwtClaims
					if _, err := p.ParseWithClaims(f.raw, &c, keyFunc); err != nil || c.Nonce != nonce {
						b.Fatal(err)
					}
				}
			})
			b.Run("go-oidc", func(b *testing.B) {
				v := oidc.NewVerifier(f.op.URL, &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{f.pub}},
					&oidc.Config{ClientID: oidctest.DefaultClient.ID, SupportedSigningAlgs: []string{alg}})
				b.ReportAllocs()
				for b.Loop() {
					tok, err := v.Verify(ctx, f.raw)
					if err != nil || tok.Nonce != nonce {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
