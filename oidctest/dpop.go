package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/randstr"
)

// DPoPKey is a client's DPoP key pair (RFC 9449), to make proofs for tests
// of APIs that take DPoP-bound tokens: mint a token bound to it with
// AccessTokenOptions.JKT = key.Thumbprint(), and send it with a fresh
// Proof on every request.
type DPoPKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
	jwk  map[string]any // the public key as the proof's header carries it
}

// NewDPoPKey generates a key for alg: ES256 (if empty), ES384, ES512,
// RS256, PS256 or EdDSA. It panics on another algorithm.
func NewDPoPKey(alg string) *DPoPKey {
	if alg == "" {
		alg = "ES256"
	}
	k := &DPoPKey{alg: jose.SignatureAlgorithm(alg), priv: generateKey(jose.SignatureAlgorithm(alg))}
	b, err := jose.JSONWebKey{Key: k.priv.Public()}.MarshalJSON()
	if err != nil {
		panic("oidctest: DPoP key: " + err.Error())
	}
	json.Unmarshal(b, &k.jwk)
	return k
}

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url: the jkt
// a token bound to it carries.
func (k *DPoPKey) Thumbprint() string {
	tp, err := (&jose.JSONWebKey{Key: k.priv.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		panic("oidctest: thumbprint: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// DPoPProof says what a proof carries. Every field's zero value makes a
// valid proof for a request with Method and URL.
type DPoPProof struct {
	Method string // htm
	URL    string // htu; any query and fragment are dropped, as RFC 9449 section 4.2 says

	// AccessToken, if set, is hashed into ath.
	AccessToken string

	// Nonce is the server's DPoP-Nonce, if it asked for one.
	Nonce string

	// IssuedAt is iat. If zero, now.
	IssuedAt time.Time

	// JTI is the proof's unique ID. If empty, a random one.
	JTI string

	// Edit changes the header and the claims before signing: another typ
	// or alg, a private "d" in the jwk, no jti, ...
	Edit func(header, claims map[string]any)
}

// Proof returns a DPoP proof JWT signed with the key (RFC 9449 section 4.2).
func (k *DPoPKey) Proof(p DPoPProof) string {
	htu := p.URL
	for i := 0; i < len(htu); i++ {
		if htu[i] == '?' || htu[i] == '#' {
			htu = htu[:i]
			break
		}
	}
	iat := p.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	jti := p.JTI
	if jti == "" {
		jti = randstr.New(16)
	}
	jwk := map[string]any{}
	for n, v := range k.jwk {
		jwk[n] = v
	}
	header := map[string]any{"typ": "dpop+jwt", "alg": string(k.alg), "jwk": jwk}
	claims := map[string]any{"jti": jti, "htm": p.Method, "htu": htu, "iat": iat.Unix()}
	if p.AccessToken != "" {
		sum := sha256.Sum256([]byte(p.AccessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if p.Nonce != "" {
		claims["nonce"] = p.Nonce
	}
	if p.Edit != nil {
		p.Edit(header, claims)
	}
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	return input + "." + enc.EncodeToString(k.sign([]byte(input)))
}

// sign signs input with the key's algorithm, in JWS form (RFC 7518).
func (k *DPoPKey) sign(input []byte) []byte {
	var (
		sig []byte
		err error
	)
	switch priv := k.priv.(type) {
	case ed25519.PrivateKey:
		return ed25519.Sign(priv, input)
	case *ecdsa.PrivateKey:
		h := hashOf(k.alg)
		d := h.New()
		d.Write(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv, d.Sum(nil))
		if err != nil {
			panic("oidctest: DPoP proof: " + err.Error())
		}
		size := (priv.Curve.Params().BitSize + 7) / 8
		sig = make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig
	case *rsa.PrivateKey:
		h := hashOf(k.alg)
		d := h.New()
		d.Write(input)
		if k.alg[0] == 'P' {
			sig, err = rsa.SignPSS(rand.Reader, priv, h, d.Sum(nil), &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, priv, h, d.Sum(nil))
		}
		if err != nil {
			panic("oidctest: DPoP proof: " + err.Error())
		}
		return sig
	}
	panic("oidctest: DPoP proof: unsupported key")
}

func hashOf(alg jose.SignatureAlgorithm) crypto.Hash {
	switch alg[len(alg)-3:] {
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return crypto.SHA256
}
