// Package jws parses and verifies compact JSON Web Signatures (RFC 7515)
// with the standard library's crypto: the few algorithms of RFC 7518 and
// RFC 8037 that OpenID providers use, nothing else. Parsing is strict and
// done once; verification works on the bytes as received.
//
// go-jose parses keys (JWKS) and signs in tests; this package exists because
// go-jose's ParseSigned alone costs about 3 µs and 41 allocations per token,
// and its Verify re-encodes what it parsed. Here a token costs one
// allocation before the signature check: the three parts are decoded into
// one buffer, the header is read by hand (internal/jsonx) into strings
// that share it, and the signing input is hashed where it lies (see the
// README's Performance section).
package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unsafe"
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

var b64 = base64.RawURLEncoding.Strict()

// Parse splits raw into its three parts and decodes them. The header must be
// a JSON object with an "alg"; a header with "crit" (extensions we would have
// to understand, RFC 7515 section 4.1.11) or "b64" (RFC 7797) is refused, and
// so are JWS JSON serializations and padding.
func Parse(raw string) (*Token, error) {
	t := new(Token)
	if err := t.Parse(raw); err != nil {
		return nil, err
	}
	return t, nil
}

// Parse parses raw into t, as the function Parse does, for callers that
// keep the Token on their stack. The three parts are decoded into one
// buffer, which the header's strings and Payload share: neither is ever
// modified.
func (t *Token) Parse(raw string) error {
	*t = Token{}
	if len(raw) > maxLen {
		return fmt.Errorf("%w: longer than %d bytes", ErrMalformed, maxLen)
	}
	h, rest, ok1 := strings.Cut(raw, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return fmt.Errorf("%w: not three dot-separated parts", ErrMalformed)
	}
	hn, pn := b64.DecodedLen(len(h)), b64.DecodedLen(len(p))
	buf := make([]byte, hn+pn+b64.DecodedLen(len(s)))
	n, err := b64.Decode(buf, bytesOf(h))
	if err != nil {
		return fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if err := t.Header.decode(buf[:n:n]); err != nil {
		return err
	}
	t.SigningInput = raw[:len(h)+1+len(p)]
	n, err = b64.Decode(buf[hn:], bytesOf(p))
	if err != nil {
		return fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	t.Payload = buf[hn : hn+n : hn+n]
	// An empty signature parses ("alg":"none" tokens have one), so that the
	// caller can refuse the algorithm by name; it never verifies.
	n, err = b64.Decode(buf[hn+pn:], bytesOf(s))
	if err != nil {
		return fmt.Errorf("%w: signature", ErrMalformed)
	}
	t.Signature = buf[hn+pn : hn+pn+n : hn+pn+n]
	return nil
}

// Verify checks t's signature with key under t's algorithm: RS256/384/512,
// PS256/384/512 (RSA keys of at least 2048 bits), ES256/384/512 (P-256,
// P-384, P-521 keys), EdDSA (Ed25519 keys), or, when key is a []byte secret
// of at least the hash's size, HS256/384/512. "none" is never valid. The
// signing input is hashed where it is, without a copy.
func (t *Token) Verify(key crypto.PublicKey) error {
	if len(t.Signature) == 0 {
		return ErrSignature
	}
	alg := t.Header.Alg
	input := bytesOf(t.SigningInput)
	if alg == "EdDSA" {
		k, ok := key.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return ErrAlgorithm
		}
		if !ed25519.Verify(k, input, t.Signature) {
			return ErrSignature
		}
		return nil
	}
	var (
		hash   crypto.Hash
		buf    [sha512.Size]byte
		digest []byte
	)
	switch {
	case len(alg) != 5:
		return fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	case alg[2:] == "256":
		s := sha256.Sum256(input)
		hash, digest = crypto.SHA256, append(buf[:0], s[:]...)
	case alg[2:] == "384":
		s := sha512.Sum384(input)
		hash, digest = crypto.SHA384, append(buf[:0], s[:]...)
	case alg[2:] == "512":
		s := sha512.Sum512(input)
		hash, digest = crypto.SHA512, append(buf[:0], s[:]...)
	default:
		return fmt.Errorf("%w: %q", ErrAlgorithm, alg)
	}
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
		if !ok || k.Curve != curveOf(alg) {
			return ErrAlgorithm
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(t.Signature) != 2*size {
			return ErrSignature
		}
		var der [2*66 + 9]byte
		if !ecdsa.VerifyASN1(k, digest, asn1Signature(der[:], t.Signature)) {
			return ErrSignature
		}
		return nil
	case "HS":
		secret, ok := key.([]byte)
		if !ok || len(secret) < hash.Size() {
			return ErrAlgorithm
		}
		mac := hmac.New(hash.New, secret)
		mac.Write(input)
		if !hmac.Equal(mac.Sum(nil), t.Signature) {
			return ErrSignature
		}
		return nil
	}
	return fmt.Errorf("%w: %q", ErrAlgorithm, alg)
}

// asn1Signature returns, in buf (of at least 2*66+9 bytes), the DER form
// (RFC 3279 section 2.2.3) of a JWS ECDSA signature, r and s of equal
// length (RFC 7518 section 3.4): what crypto/ecdsa verifies without making
// big.Ints of them.
func asn1Signature(buf, sig []byte) []byte {
	half := len(sig) / 2
	body := asn1Integer(buf[3:3], sig[:half])
	body = asn1Integer(body, sig[half:])
	n := len(body)
	if n < 128 {
		buf[1], buf[2] = 0x30, byte(n)
		return buf[1 : 3+n]
	}
	buf[0], buf[1], buf[2] = 0x30, 0x81, byte(n) // P-521: the long form
	return buf[:3+n]
}

// asn1Integer appends v, an unsigned big-endian integer, as a DER INTEGER.
func asn1Integer(b, v []byte) []byte {
	for len(v) > 1 && v[0] == 0 {
		v = v[1:]
	}
	pad := len(v) > 0 && v[0]&0x80 != 0
	n := len(v)
	if pad {
		n++
	}
	b = append(b, 0x02, byte(n))
	if pad {
		b = append(b, 0)
	}
	return append(b, v...)
}

func curveOf(alg string) elliptic.Curve {
	switch alg {
	case "ES256":
		return elliptic.P256()
	case "ES384":
		return elliptic.P384()
	case "ES512":
		return elliptic.P521()
	}
	return nil
}

// hashes are the hashes of the algorithms' suffixes, for SignInput (Verify
// switches on them, without a map lookup).
var hashes = map[string]crypto.Hash{"256": crypto.SHA256, "384": crypto.SHA384, "512": crypto.SHA512}

// bytesOf views s as bytes without copying, for functions that only read.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func wrap(err error) error {
	if err != nil {
		return ErrSignature
	}
	return nil
}
