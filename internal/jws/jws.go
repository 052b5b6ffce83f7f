// Package jws parses and verifies compact JSON Web Signatures (RFC 7515)
// with the standard library's crypto: the few algorithms of RFC 7518 and
// RFC 8037 that OpenID providers use, nothing else. Parsing is strict and
// done once; verification works on the bytes as received.
//
// go-jose parses keys (JWKS) and signs in tests; this package exists because
// go-jose's ParseSigned alone costs about 3 µs and 41 allocations per token,
// and its Verify re-encodes what it parsed, which keeps ID-token
// verification from the 10 µs budget over the bare signature check (see the
// README's Performance section).
package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

var (
	// ErrMalformed: not a compact JWS of this package's subset.
	ErrMalformed = errors.New("jws: malformed token")
	// ErrAlgorithm: the algorithm is unknown, or does not fit the key.
	ErrAlgorithm = errors.New("jws: algorithm not usable with this key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("jws: invalid signature")
)

// Header is the protected header's members this package's callers read.
type Header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`

	// JWK is the public key a DPoP proof carries (RFC 9449 section 4.2),
	// as received; nil when absent. Keys of other tokens come from the
	// provider's key set, never from here.
	JWK json.RawMessage `json:"jwk"`
}

// Token is a parsed compact JWS.
type Token struct {
	Header       Header
	SigningInput string // header.payload, exactly as received
	Payload      []byte
	Signature    []byte
}

// maxLen bounds a token: ID tokens are a few kilobytes.
const maxLen = 64 << 10

// Parse splits raw into its three parts and decodes them. The header must be
// a JSON object with an "alg"; a header with "crit" (extensions we would have
// to understand, RFC 7515 section 4.1.11) or "b64" (RFC 7797) is refused, and
// so are JWS JSON serializations and padding.
func Parse(raw string) (*Token, error) {
	if len(raw) > maxLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxLen)
	}
	h, rest, ok1 := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return nil, fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	enc := base64.RawURLEncoding.Strict()
	header, err := enc.DecodeString(h)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var probe struct {
		Header
		Crit json.RawMessage `json:"crit"`
		B64  json.RawMessage `json:"b64"`
	}
	if err := json.Unmarshal(header, &probe); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if probe.Alg == "" || probe.Crit != nil || probe.B64 != nil {
		return nil, fmt.Errorf("%w: header lacks alg, or has crit or b64", ErrMalformed)
	}
	t := &Token{Header: probe.Header, SigningInput: raw[:len(h)+1+len(p)]}
	if t.Payload, err = enc.DecodeString(p); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	// An empty signature parses ("alg":"none" tokens have one), so that the
	// caller can refuse the algorithm by name; it never verifies.
	if t.Signature, err = enc.DecodeString(s); err != nil {
		return nil, fmt.Errorf("%w: signature", ErrMalformed)
	}
	return t, nil
}

// Verify checks t's signature with key under t's algorithm: RS256/384/512,
// PS256/384/512 (RSA keys of at least 2048 bits), ES256/384/512 (P-256,
// P-384, P-521 keys), EdDSA (Ed25519 keys), or, when key is a []byte secret
// of at least the hash's size, HS256/384/512. "none" is never valid.
func (t *Token) Verify(key crypto.PublicKey) error {
	if len(t.Signature) == 0 {
		return ErrSignature
	}
	alg := t.Header.Alg
	hash, ok := hashes[alg[min(2, len(alg)):]]
	if alg == "EdDSA" {
		k, ok := key.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return ErrAlgorithm
		}
		if !ed25519.Verify(k, []byte(t.SigningInput), t.Signature) {
			return ErrSignature
		}
		return nil
	}
	if !ok || len(alg) != 5 {
		return fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
	h := hash.New()
	h.Write([]byte(t.SigningInput))
	digest := h.Sum(nil)
	switch alg[:2] {
	case "RS", "PS":
		k, ok := key.(*rsa.PublicKey)
		if !ok || k.N.BitLen() < 2048 {
			return ErrAlgorithm
		}
		if alg[0] == 'R' {
			err := rsa.VerifyPKCS1v15(k, hash, digest, t.Signature)
			return wrap(err)
		}
		err := rsa.VerifyPSS(k, hash, digest, t.Signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: hash})
		return wrap(err)
	case "ES":
		k, ok := key.(*ecdsa.PublicKey)
		if !ok || k.Curve != curves[alg] {
			return ErrAlgorithm
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(t.Signature) != 2*size {
			return ErrSignature
		}
		r := new(big.Int).SetBytes(t.Signature[:size])
		s := new(big.Int).SetBytes(t.Signature[size:])
		if !ecdsa.Verify(k, digest, r, s) {
			return ErrSignature
		}
		return nil
	case "HS":
		secret, ok := key.([]byte)
		if !ok || len(secret) < hash.Size() {
			return ErrAlgorithm
		}
		mac := hmac.New(hash.New, secret)
		mac.Write([]byte(t.SigningInput))
		if !hmac.Equal(mac.Sum(nil), t.Signature) {
			return ErrSignature
		}
		return nil
	}
	return fmt.Errorf("%w: %q", ErrAlgorithm, alg)
}

var hashes = map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}

var curves = map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()}

func wrap(err error) error {
	if err != nil {
		return ErrSignature
	}
	return nil
}
