package resource

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/oidcrp/oidcrp/internal/jsonx"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

const (
	// maxJTI bounds a proof's jti: it is stored (hashed) for ProofWindow.
	maxJTI = 256
	// maxRSABytes bounds an RSA proof key's modulus: 8192 bits.
	maxRSABytes = 1024
)

// proofClaims are the claims of a DPoP proof (RFC 9449 section 4.2).
type proofClaims struct {
	JTI, HTM, HTU string
	IAT           jwt.NumericDate
	HasIAT        bool // iat present and not null
	ATH, Nonce    string
}

var proofNames = []string{"jti", "htm", "htu", "iat", "ath", "nonce"}

// decode reads a proof's claims by hand as internal/jwt reads a token's
// (internal/jsonx): the values encoding/json would give, strings sharing
// the payload's memory, and any of these claims twice refused.
func (c *proofClaims) decode(payload []byte) error {
	var seen uint8
	obj := jsonx.NewObject(payload)
	for {
		name, v, ok := obj.Next()
		if !ok {
			return obj.Err()
		}
		i := jsonx.Match(name, proofNames)
		if i < 0 {
			continue
		}
		if seen&(1<<i) != 0 {
			return fmt.Errorf("%q twice", name)
		}
		seen |= 1 << i
		var err error
		switch i {
		case 0:
			c.JTI, err = jsonx.String(v)
		case 1:
			c.HTM, err = jsonx.String(v)
		case 2:
			c.HTU, err = jsonx.String(v)
		case 3:
			c.IAT, c.HasIAT, err = jwt.ParseNumericDate(v)
		case 4:
			c.ATH, err = jsonx.String(v)
		case 5:
			c.Nonce, err = jsonx.String(v)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
}

// checkProof checks the DPoP proof of a request presenting token, bound to
// the key of thumbprint jkt, as RFC 9449 section 4.3 and 7.1 say: one
// proof, typ dpop+jwt, an accepted asymmetric algorithm, a public jwk whose
// thumbprint is jkt and which verifies the signature, htm and htu of this
// request (htu against Config.Origin, never the Host header), iat within
// ProofWindow, ath the token's hash, the nonce when required, and a jti not
// seen before. The jti is recorded last, so that a proof failing another
// check does not use it up.
func (v *Verifier) checkProof(r *http.Request, proof, token, jkt string) error {
	if proof == "" {
		return ErrProofMissing
	}
	var t jws.Token
	if err := t.Parse(proof); err != nil {
		return fmt.Errorf("%w: %v", ErrProofMalformed, err)
	}
	if !strings.EqualFold(t.Header.Typ, "dpop+jwt") {
		return fmt.Errorf("%w: typ %q", ErrProofType, t.Header.Typ)
	}
	if !slices.Contains(v.cfg.DPoPAlgorithms, t.Header.Alg) {
		return fmt.Errorf("%w: %q", ErrProofAlgorithm, t.Header.Alg)
	}
	key, err := v.proofKey(t.Header.JWK, jkt)
	if err != nil {
		return err
	}
	thumbprint := jkt
	if err := t.Verify(key); err != nil {
		if errors.Is(err, jws.ErrAlgorithm) {
			return fmt.Errorf("%w: the key does not fit %s", ErrProofKey, t.Header.Alg)
		}
		return ErrProofSignature
	}
	var c proofClaims
	if err := c.decode(t.Payload); err != nil {
		return fmt.Errorf("%w: payload: %v", ErrProofMalformed, err)
	}
	if c.JTI == "" || len(c.JTI) > maxJTI || !c.HasIAT || c.HTM == "" || c.HTU == "" {
		return fmt.Errorf("%w: jti, htm, htu or iat missing, or jti too long", ErrProofMalformed)
	}
	if c.HTM != r.Method {
		return fmt.Errorf("%w: %q", ErrProofMethod, c.HTM)
	}
	if !v.htuMatches(c.HTU, r) {
		return fmt.Errorf("%w: %q", ErrProofURL, c.HTU)
	}
	now := v.cfg.Now()
	iat := c.IAT.Time()
	if d := now.Sub(iat); d > v.cfg.ProofWindow || d < -v.cfg.ProofWindow {
		return fmt.Errorf("%w: iat %v", ErrProofTime, iat.UTC())
	}
	sum := sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
	var ath [43]byte
	base64.RawURLEncoding.Encode(ath[:], sum[:])
	if subtle.ConstantTimeCompare(ath[:], unsafe.Slice(unsafe.StringData(c.ATH), len(c.ATH))) != 1 {
		return ErrProofTokenHash
	}
	if v.cfg.DPoPNonceKey != nil && !v.nonceValid(c.Nonce, now) {
		return ErrProofNonce
	}
	fresh, err := v.cfg.Replay.Use(r.Context(), replayKey(thumbprint, c.JTI), iat.Add(v.cfg.ProofWindow))
	switch {
	case err != nil:
		return fmt.Errorf("%w: DPoP replay cache: %w", ErrUnavailable, err)
	case !fresh:
		return ErrProofReplay
	}
	return nil
}

// proofKey returns the public key of a proof's jwk if its thumbprint is
// jkt, the key the token is bound to. Keys that matched are kept by jkt
// (at most Config.CacheSize of them): a client signs every proof with the
// same key, so its later proofs skip decoding the key and hashing it.
// Only keys bound to a valid token get there.
func (v *Verifier) proofKey(raw json.RawMessage, jkt string) (crypto.PublicKey, error) {
	v.keysMu.RLock()
	k, ok := v.keys[jkt]
	v.keysMu.RUnlock()
	if ok && k.jwk == string(raw) {
		return k.pub, nil
	}
	pub, thumbprint, err := parseJWK(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProofKey, err)
	}
	if subtle.ConstantTimeCompare([]byte(thumbprint), []byte(jkt)) != 1 {
		return nil, ErrProofThumbprint
	}
	if v.cfg.CacheSize > 0 {
		v.keysMu.Lock()
		if len(v.keys) >= v.cfg.CacheSize {
			clear(v.keys)
		}
		v.keys[jkt] = boundKey{jwk: string(raw), pub: pub}
		v.keysMu.Unlock()
	}
	return pub, nil
}

// boundKey is a DPoP key whose thumbprint a valid token named.
type boundKey struct {
	jwk string // as the proof's header carried it
	pub crypto.PublicKey
}

// replayKey names a proof in the replay cache: the hash of its key's
// thumbprint and its jti, so that the stored key has a fixed length.
func replayKey(thumbprint, jti string) string {
	var in [64 + 1 + maxJTI]byte // a thumbprint is 43 bytes, jti at most maxJTI
	var sum [sha256.Size]byte
	if len(thumbprint) <= 64 && len(jti) <= maxJTI {
		n := copy(in[:], thumbprint)
		in[n] = 0
		n += 1 + copy(in[n+1:], jti)
		sum = sha256.Sum256(in[:n])
	} else {
		h := sha256.New()
		h.Write([]byte(thumbprint))
		h.Write([]byte{0})
		h.Write([]byte(jti))
		h.Sum(sum[:0])
	}
	var b [len("dpop:") + 43]byte
	copy(b[:], "dpop:")
	base64.RawURLEncoding.Encode(b[len("dpop:"):], sum[:])
	return string(b[:])
}

// htuMatches reports whether htu, without its query and fragment, is
// Config.Origin followed by the path of r as the client sent it (RFC 9449
// section 4.3, check 9), scheme and host compared without case and default
// ports.
func (v *Verifier) htuMatches(htu string, r *http.Request) bool {
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	path := requestPath(r)
	if len(htu) == len(v.cfg.Origin)+len(path) && strings.HasPrefix(htu, v.cfg.Origin) && strings.HasSuffix(htu, path) {
		return true // as it is normally sent: no parsing needed
	}
	u, err := url.Parse(htu)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	return normalizeOrigin(u) == v.cfg.Origin && p == path
}

// requestPath is the path of r's target as the client sent it: from
// RequestURI (which http.StripPrefix leaves alone), else from the URL.
func requestPath(r *http.Request) string {
	p := r.RequestURI
	if p == "" || p == "*" {
		return r.URL.EscapedPath()
	}
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/") { // absolute-form (RFC 9112 section 3.2.2)
		if u, err := url.Parse(p); err == nil {
			p = u.EscapedPath()
		}
	}
	if p == "" {
		p = "/"
	}
	return p
}

// jwk is a public JSON Web Key as a DPoP proof carries it (RFC 7517, RFC
// 7518 section 6, RFC 8037). The private members are read only to refuse
// keys that carry them.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`

	D   json.RawMessage `json:"d"`
	P   json.RawMessage `json:"p"`
	Q   json.RawMessage `json:"q"`
	DP  json.RawMessage `json:"dp"`
	DQ  json.RawMessage `json:"dq"`
	QI  json.RawMessage `json:"qi"`
	Oth json.RawMessage `json:"oth"`
	K   json.RawMessage `json:"k"`
}

var b64 = base64.RawURLEncoding.Strict()

// parseJWK decodes a proof's public key and returns it with its RFC 7638
// thumbprint (SHA-256, base64url). Members must be canonical (strict
// base64url, no leading zeros, exact coordinate sizes), so that a key has
// one thumbprint.
func parseJWK(raw json.RawMessage) (crypto.PublicKey, string, error) {
	if len(raw) == 0 {
		return nil, "", errors.New("no jwk in the header")
	}
	var k jwk
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, "", err
	}
	if k.D != nil || k.P != nil || k.Q != nil || k.DP != nil || k.DQ != nil || k.QI != nil || k.Oth != nil || k.K != nil {
		return nil, "", errors.New("the jwk holds private or symmetric key material")
	}
	var (
		key       crypto.PublicKey
		canonical []byte
	)
	switch k.Kty {
	case "EC":
		curve, size := curveOf(k.Crv)
		if curve == nil {
			return nil, "", fmt.Errorf("curve %q", k.Crv)
		}
		point := make([]byte, 1, 1+2*size)
		point[0] = 4
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
			return nil, "", errors.New("EC coordinates are not of the curve's size")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append(point, x...), y...))
		if err != nil {
			return nil, "", err
		}
		key = pub
		canonical = fmt.Appendf(nil, `{"crv":%q,"kty":"EC","x":%q,"y":%q}`, k.Crv, k.X, k.Y)
	case "RSA":
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || n[0] == 0 || len(e) == 0 || e[0] == 0 || len(e) > 4 {
			return nil, "", errors.New("RSA n or e is not a canonical unsigned integer")
		}
		if len(n) > maxRSABytes {
			// A stranger's key must not make the signature check slow.
			return nil, "", fmt.Errorf("RSA modulus over %d bits", 8*maxRSABytes)
		}
		var eb [4]byte
		copy(eb[4-len(e):], e)
		exp := binary.BigEndian.Uint32(eb[:])
		if exp < 3 || exp%2 == 0 || exp > 1<<31-1 {
			return nil, "", errors.New("RSA exponent out of range")
		}
		key = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
		canonical = fmt.Appendf(nil, `{"e":%q,"kty":"RSA","n":%q}`, k.E, k.N)
	case "OKP":
		x, err := b64.DecodeString(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, "", errors.New("OKP key is not an Ed25519 public key")
		}
		key = ed25519.PublicKey(x)
		canonical = fmt.Appendf(nil, `{"crv":"Ed25519","kty":"OKP","x":%q}`, k.X)
	default:
		return nil, "", fmt.Errorf("kty %q", k.Kty)
	}
	sum := sha256.Sum256(canonical)
	return key, base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

func curveOf(crv string) (elliptic.Curve, int) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32
	case "P-384":
		return elliptic.P384(), 48
	case "P-521":
		return elliptic.P521(), 66
	}
	return nil, 0
}

// Nonces (RFC 9449 section 9) are made, not stored: 8 bytes of expiry and
// 16 of HMAC-SHA256 over them under DPoPNonceKey, base64url. Instances that
// share the key accept each other's.

// nonce returns a nonce valid until now + DPoPNonceLifetime.
func (v *Verifier) nonce(now time.Time) string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.Add(v.cfg.DPoPNonceLifetime).Unix()))
	copy(b[8:], v.nonceMAC(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (v *Verifier) nonceValid(n string, now time.Time) bool {
	b, err := b64.DecodeString(n)
	if err != nil || len(b) != 24 || !hmac.Equal(b[8:], v.nonceMAC(b[:8])) {
		return false
	}
	return now.Unix() < int64(binary.BigEndian.Uint64(b[:8]))
}

func (v *Verifier) nonceMAC(expiry []byte) []byte {
	m := hmac.New(sha256.New, v.cfg.DPoPNonceKey)
	m.Write([]byte("oidcrp dpop nonce"))
	m.Write(expiry)
	return m.Sum(nil)[:16]
}
