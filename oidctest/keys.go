package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
)

// signingKey is one key of the provider's key set.
type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k *signingKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// keyPool hands out keys generated once per process: RSA key generation
// costs tens of milliseconds, and a test suite starts many providers. Keys
// are test keys; providers of one process with the same SigningAlg share
// them, which is harmless as each has its own issuer. A test that needs two
// providers' signatures to differ gives them different SigningAlgs.
var keyPool struct {
	mu        sync.Mutex // guards keys and impostors
	keys      map[jose.SignatureAlgorithm][]crypto.Signer
	impostors map[jose.SignatureAlgorithm]crypto.Signer
}

// impostorKey returns a key for alg that no provider publishes, to sign
// tokens a relying party must reject.
func impostorKey(alg jose.SignatureAlgorithm, kid string) *signingKey {
	keyPool.mu.Lock()
	defer keyPool.mu.Unlock()
	if keyPool.impostors == nil {
		keyPool.impostors = make(map[jose.SignatureAlgorithm]crypto.Signer)
	}
	k := keyPool.impostors[alg]
	if k == nil {
		k = generateKey(alg)
		keyPool.impostors[alg] = k
	}
	return &signingKey{kid: kid, alg: alg, priv: k}
}

// poolKey returns the i-th key for alg, generating keys up to it.
func poolKey(alg jose.SignatureAlgorithm, i int) crypto.Signer {
	keyPool.mu.Lock()
	defer keyPool.mu.Unlock()
	if keyPool.keys == nil {
		keyPool.keys = make(map[jose.SignatureAlgorithm][]crypto.Signer)
	}
	for len(keyPool.keys[alg]) <= i {
		keyPool.keys[alg] = append(keyPool.keys[alg], generateKey(alg))
	}
	return keyPool.keys[alg][i]
}

func generateKey(alg jose.SignatureAlgorithm) crypto.Signer {
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		k, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case jose.EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic(fmt.Sprintf("oidctest: unsupported signing algorithm %q", alg))
	}
	if err != nil {
		panic("oidctest: generating a key: " + err.Error())
	}
	return k
}

func newSigningKey(alg jose.SignatureAlgorithm, i int) *signingKey {
	priv := poolKey(alg, i)
	jwk := jose.JSONWebKey{Key: priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic("oidctest: thumbprint: " + err.Error())
	}
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(tp[:12]), alg: alg, priv: priv}
}

// sign signs claims as a compact JWS with typ in the header.
func (k *signingKey) sign(claims map[string]any, typ string) string {
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), k.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: k.priv}, opts)
	if err != nil {
		panic("oidctest: signer: " + err.Error())
	}
	return signWith(signer, claims)
}

func signWith(signer jose.Signer, claims map[string]any) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("oidctest: claims: " + err.Error())
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		panic("oidctest: sign: " + err.Error())
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		panic("oidctest: serialize: " + err.Error())
	}
	return s
}

// signHMAC signs claims with HS256 and secret. It signs by hand: go-jose
// refuses HMAC keys shorter than 32 bytes, and a client secret may be
// shorter, or empty for a public client.
func signHMAC(claims map[string]any, secret string) string {
	payload, err := json.Marshal(claims)
	if err != nil {
		panic("oidctest: claims: " + err.Error())
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(input))
	return input + "." + enc.EncodeToString(mac.Sum(nil))
}

// unsigned returns claims as an "alg":"none" JWT.
func unsigned(claims map[string]any) string {
	payload, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString(payload) + "."
}

// halfHash is the at_hash of value for alg (OpenID Connect Core 3.1.3.6).
func halfHash(alg jose.SignatureAlgorithm, value string) string {
	var sum []byte
	switch alg {
	case jose.RS384, jose.PS384, jose.ES384:
		s := sha512.Sum384([]byte(value))
		sum = s[:]
	case jose.RS512, jose.PS512, jose.ES512, jose.EdDSA:
		s := sha512.Sum512([]byte(value))
		sum = s[:]
	default:
		s := sha256.Sum256([]byte(value))
		sum = s[:]
	}
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
