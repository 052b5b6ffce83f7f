package client

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/internal/httpx"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/randstr"
)

// DPoP (RFC 9449): the client proves, with a key pair of its own, that it
// holds the tokens it sends. Each login gets a new key (NewDPoPKey, at
// AuthCodeURL); the key travels in the Flow to the callback, then lives in
// the session, so that every refresh and every call made with the tokens is
// signed by the key they are bound to.

// The DPoP errors. Each matches ErrDPoP.
var (
	// ErrDPoP: DPoP failed on the client's side.
	ErrDPoP = errors.New("client: DPoP")

	// ErrDPoPKey: a DPoP key does not parse (ParseDPoPKey), or cannot
	// sign.
	ErrDPoPKey = fmt.Errorf("%w: invalid key", ErrDPoP)

	// ErrDPoPNotBound: DPoP was asked for and the provider supports it,
	// but it issued a token of another type (token_type Bearer): the
	// binding the app asked for would silently be lost. It matches
	// ErrProviderResponse too.
	ErrDPoPNotBound = fmt.Errorf("%w: %w: the provider issued an unbound token", ErrDPoP, ErrProviderResponse)
)

// DPoP key algorithms, in the order the client prefers them.
const (
	dpopES256 byte = 1
	dpopES384 byte = 2
	dpopEdDSA byte = 3
)

var dpopAlgs = map[string]byte{"ES256": dpopES256, "ES384": dpopES384, "EdDSA": dpopEdDSA}

// DPoPKey is one DPoP key pair (RFC 9449): ES256 (P-256) by default, ES384
// (P-384) or EdDSA (Ed25519). It redacts itself: String, GoString,
// LogValue and MarshalJSON show the algorithm and the public key's
// thumbprint, never the private key. Its compact form (MarshalBinary, 33
// to 49 bytes) is what a session keeps. A DPoPKey is safe for concurrent
// use.
type DPoPKey struct {
	alg    byte
	signer crypto.Signer
	raw    []byte // the private key, compact: the scalar or the Ed25519 seed
	jkt    string // RFC 7638 thumbprint of the public key
	header string // the proofs' protected header, base64url: it never changes
}

// NewDPoPKey generates a key for alg: "ES256" (also when alg is empty),
// "ES384" or "EdDSA".
func NewDPoPKey(alg string) (*DPoPKey, error) {
	if alg == "" {
		alg = "ES256"
	}
	id, ok := dpopAlgs[alg]
	if !ok {
		return nil, fmt.Errorf("%w: algorithm %q (ES256, ES384 or EdDSA)", ErrDPoPKey, alg)
	}
	var raw []byte
	switch id {
	case dpopEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDPoPKey, err)
		}
		raw = priv.Seed()
	default:
		priv, err := ecdsa.GenerateKey(dpopCurve(id), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDPoPKey, err)
		}
		if raw, err = priv.Bytes(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDPoPKey, err)
		}
	}
	return ParseDPoPKey(append([]byte{id}, raw...))
}

func dpopCurve(id byte) elliptic.Curve {
	if id == dpopES384 {
		return elliptic.P384()
	}
	return elliptic.P256()
}

// ParseDPoPKey reads a key that DPoPKey.MarshalBinary wrote. It fails with
// ErrDPoPKey for anything else: an unknown algorithm byte, a private key of
// the wrong length, a scalar outside the curve's range.
func ParseDPoPKey(data []byte) (*DPoPKey, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty", ErrDPoPKey)
	}
	k := &DPoPKey{alg: data[0], raw: append([]byte(nil), data[1:]...)}
	var jwk string
	switch k.alg {
	case dpopES256, dpopES384:
		priv, err := ecdsa.ParseRawPrivateKey(dpopCurve(k.alg), k.raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDPoPKey, err)
		}
		k.signer = priv
		point, err := priv.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrDPoPKey, err)
		}
		size := (len(point) - 1) / 2
		enc := base64.RawURLEncoding
		// RFC 7638 section 3.2: the required members, in lexicographic
		// order, no whitespace: the thumbprint's input and the header's jwk.
		jwk = fmt.Sprintf(`{"crv":"%s","kty":"EC","x":"%s","y":"%s"}`,
			priv.Curve.Params().Name, enc.EncodeToString(point[1:1+size]), enc.EncodeToString(point[1+size:]))
	case dpopEdDSA:
		if len(k.raw) != ed25519.SeedSize {
			return nil, fmt.Errorf("%w: an Ed25519 seed of %d bytes", ErrDPoPKey, len(k.raw))
		}
		priv := ed25519.NewKeyFromSeed(k.raw)
		k.signer = priv
		jwk = fmt.Sprintf(`{"crv":"Ed25519","kty":"OKP","x":"%s"}`, base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)))
	default:
		return nil, fmt.Errorf("%w: unknown algorithm %d", ErrDPoPKey, k.alg)
	}
	sum := sha256.Sum256([]byte(jwk))
	k.jkt = base64.RawURLEncoding.EncodeToString(sum[:])
	k.header = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + k.Algorithm() + `","jwk":` + jwk + `,"typ":"dpop+jwt"}`))
	return k, nil
}

// MarshalBinary returns the key's compact form, for ParseDPoPKey: one byte
// for the algorithm, then the private key (the P-256 or P-384 scalar, or
// the Ed25519 seed). It is secret: keep it sealed, as sessions are.
func (k *DPoPKey) MarshalBinary() ([]byte, error) {
	return append([]byte{k.alg}, k.raw...), nil
}

// Algorithm is the JWS algorithm of the key's proofs: ES256, ES384 or EdDSA.
func (k *DPoPKey) Algorithm() string {
	switch k.alg {
	case dpopES384:
		return "ES384"
	case dpopEdDSA:
		return "EdDSA"
	}
	return "ES256"
}

// Thumbprint is the public key's RFC 7638 thumbprint (SHA-256, base64url):
// the jkt that tokens bound to the key carry in their cnf claim, and the
// dpop_jkt of authorization requests.
func (k *DPoPKey) Thumbprint() string { return k.jkt }

// Public returns the public key.
func (k *DPoPKey) Public() crypto.PublicKey { return k.signer.Public() }

// String describes the key without revealing it.
func (k *DPoPKey) String() string {
	if k == nil {
		return "client.DPoPKey(nil)"
	}
	return fmt.Sprintf("client.DPoPKey{%s jkt:%s private:[redacted]}", k.Algorithm(), k.jkt)
}

// GoString is String, so that %#v redacts too.
func (k *DPoPKey) GoString() string { return k.String() }

// LogValue describes the key in structured logs without revealing it.
func (k *DPoPKey) LogValue() slog.Value {
	return slog.GroupValue(slog.String("alg", k.Algorithm()), slog.String("jkt", k.jkt), slog.String("private", "[redacted]"))
}

// MarshalJSON describes the key without revealing it.
func (k *DPoPKey) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Alg     string `json:"alg"`
		JKT     string `json:"jkt"`
		Private string `json:"private"`
	}{k.Algorithm(), k.jkt, "[redacted]"})
}

// proofClaims are a DPoP proof's claims (RFC 9449 section 4.2).
type proofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// proof signs a DPoP proof for a request of method to target: a fresh jti,
// iat now, htu target without its query and fragment, ath the hash of
// accessToken when one is sent, and nonce when the server gave one.
func (rp *RP) proof(k *DPoPKey, method string, target *url.URL, accessToken, nonce string) (string, error) {
	htu := *target
	htu.RawQuery, htu.ForceQuery, htu.Fragment, htu.RawFragment, htu.User = "", false, "", "", nil
	c := proofClaims{JTI: randstr.New(18), HTM: method, HTU: htu.String(), IAT: rp.cfg.Now().Unix(), Nonce: nonce}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c.ATH = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	claims, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrDPoP, err)
	}
	enc := base64.RawURLEncoding
	input := make([]byte, 0, len(k.header)+1+enc.EncodedLen(len(claims)))
	input = append(input, k.header...)
	input = append(input, '.')
	input = enc.AppendEncode(input, claims)
	sig, err := k.sign(input)
	if err != nil {
		return "", err
	}
	return string(enc.AppendEncode(append(input, '.'), sig)), nil
}

// sign signs a JWS signing input (RFC 7518 section 3.4, RFC 8037).
func (k *DPoPKey) sign(input []byte) ([]byte, error) {
	sig, err := jws.SignInput(k.signer, k.Algorithm(), input)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDPoPKey, err)
	}
	return sig, nil
}

// maxNonce bounds a DPoP-Nonce the client keeps; maxNonceOrigins bounds how
// many servers' nonces it remembers (a resource can be any URL an app calls).
const (
	maxNonce        = 512
	maxNonceOrigins = 256
)

// dpopNonces remembers the last nonce each server gave (RFC 9449 section
// 8), by origin.
type dpopNonces struct {
	mu sync.Mutex        // guards m
	m  map[string]string // origin → nonce
}

func (n *dpopNonces) get(origin string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[origin]
}

// set remembers nonce for origin. At the bound, every nonce is forgotten:
// a server whose nonce is lost asks for it again, at the cost of one retry.
func (n *dpopNonces) set(origin, nonce string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = make(map[string]string)
	}
	if _, ok := n.m[origin]; !ok && len(n.m) >= maxNonceOrigins {
		clear(n.m)
	}
	n.m[origin] = nonce
}

// remember keeps the DPoP-Nonce of resp, if it has a valid one, for the
// origin of target, and reports whether it did.
func (rp *RP) rememberNonce(target *url.URL, h http.Header) bool {
	nonce, ok := ParseDPoPNonce(h)
	if ok {
		rp.nonces.set(httpx.Origin(target), nonce)
	}
	return ok
}

// ParseDPoPNonce returns the nonce of a DPoP-Nonce response header (RFC
// 9449 section 8.1): exactly one, 1*NQCHAR (printable ASCII but '"' and
// '\'), at most 512 bytes. Anything else is ignored (ok false).
func ParseDPoPNonce(h http.Header) (nonce string, ok bool) {
	v := h.Values("DPoP-Nonce")
	if len(v) != 1 || len(v[0]) == 0 || len(v[0]) > maxNonce {
		return "", false
	}
	for i := 0; i < len(v[0]); i++ {
		if c := v[0][i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return "", false
		}
	}
	return v[0], true
}

// maxChallenge bounds the WWW-Authenticate header values read.
const maxChallenge = 4096

// DPoPError returns the error code of the DPoP challenge of a 401 answer's
// WWW-Authenticate header (RFC 9449 section 7.1, RFC 9110 section 11.6.1),
// such as "use_dpop_nonce" or "invalid_token", and whether there was a
// DPoP challenge. It reads the challenges as RFC 9110 defines them
// (auth-scheme, then token68 or auth-params, quoted strings with escapes),
// at most 4096 bytes of them.
func DPoPError(h http.Header) (code string, ok bool) {
	total := 0
	for _, v := range h.Values("WWW-Authenticate") {
		if total += len(v); total > maxChallenge {
			return "", false
		}
		for _, c := range parseChallenges(v) {
			if strings.EqualFold(c.scheme, "DPoP") {
				return c.params["error"], true
			}
		}
	}
	return "", false
}

// challenge is one auth-scheme and its auth-params.
type challenge struct {
	scheme string
	params map[string]string // names lower-cased
}

// maxChallengeParams bounds the auth-params kept per challenge.
const maxChallengeParams = 16

// parseChallenges parses a WWW-Authenticate value (RFC 9110 section 11.6.1):
// a comma-separated list of challenges, each an auth-scheme, then a token68
// or comma-separated auth-params (name = token / quoted-string). The value
// is split at the commas outside quoted strings; an element that starts
// with "name=" is a parameter of the challenge before it, any other starts
// a challenge. Elements that fit neither are skipped.
func parseChallenges(v string) []challenge {
	var out []challenge
	for _, item := range splitOutsideQuotes(v) {
		name, rest := cutToken(item)
		if name == "" {
			continue
		}
		if r := strings.TrimLeft(rest, " \t"); strings.HasPrefix(r, "=") {
			// name=value: a parameter of the current challenge (a
			// token68 never stands alone).
			if len(out) > 0 {
				addParam(&out[len(out)-1], name, r[1:])
			}
			continue
		}
		c := challenge{scheme: name, params: map[string]string{}}
		if rest = strings.TrimLeft(rest, " \t"); rest != "" {
			if pname, prest := cutToken(rest); pname != "" {
				if r := strings.TrimLeft(prest, " \t"); strings.HasPrefix(r, "=") && !strings.HasPrefix(r, "==") {
					addParam(&c, pname, r[1:])
				}
			} // else a token68: not a parameter
		}
		out = append(out, c)
	}
	return out
}

// addParam adds name = value (a token or a quoted-string, after optional
// whitespace) to c; a malformed value, or one more than maxChallengeParams, is
// dropped. A parameter repeated keeps its first value.
func addParam(c *challenge, name, value string) {
	value = strings.Trim(value, " \t")
	if strings.HasPrefix(value, "\"") {
		var ok bool
		if value, ok = unquoteString(value); !ok {
			return
		}
	} else if t, rest := cutToken(value); t == "" || rest != "" {
		return
	}
	name = strings.ToLower(name)
	if _, seen := c.params[name]; !seen && len(c.params) < maxChallengeParams {
		c.params[name] = value
	}
}

// splitOutsideQuotes splits v at the commas that are not inside a quoted
// string, trimming each element of whitespace and dropping empty ones.
func splitOutsideQuotes(v string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			if s := strings.Trim(v[start:i], " \t"); s != "" {
				out = append(out, s)
			}
			start = i + 1
		}
	}
	if s := strings.Trim(v[start:], " \t"); s != "" {
		out = append(out, s)
	}
	return out
}

// cutToken splits s after its leading RFC 9110 token (tchars).
func cutToken(s string) (token, rest string) {
	i := 0
	for i < len(s) && isTChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// unquoteString reads a whole quoted-string, unescaping its quoted-pairs.
func unquoteString(s string) (string, bool) {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s)-1:
			i++
			b.WriteByte(s[i])
		case c == '\\' || c == '"':
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

func isTChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// dpopAlg is the algorithm of the RP's DPoP keys: the first of ES256,
// EdDSA, ES384 the provider lists in dpop_signing_alg_values_supported,
// ES256 when it lists none; "" when it lists only others.
func dpopAlg(supported []string) string {
	if len(supported) == 0 {
		return "ES256"
	}
	for _, alg := range []string{"ES256", "EdDSA", "ES384"} {
		for _, s := range supported {
			if s == alg {
				return alg
			}
		}
	}
	return ""
}

// DPoPRoundTrip sends req over base with accessToken bound to key: the
// Authorization header "DPoP <token>" and a DPoP proof (RFC 9449 section
// 7) for req's method and URL, with ath and the nonce last remembered for
// req's origin. When the server answers 401 with a DPoP challenge
// use_dpop_nonce and a DPoP-Nonce header (section 9), the nonce is
// remembered and the request sent once more with a new proof, if its body
// can be sent again (req.GetBody, or no body). req is not changed.
func (rp *RP) DPoPRoundTrip(base http.RoundTripper, req *http.Request, key *DPoPKey, accessToken string) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		out := req.Clone(req.Context())
		if attempt > 0 {
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				out.Body = body
			}
		}
		proof, err := rp.proof(key, req.Method, req.URL, accessToken, rp.nonces.get(httpx.Origin(req.URL)))
		if err != nil {
			if req.Body != nil {
				req.Body.Close()
			}
			return nil, err
		}
		out.Header.Set("Authorization", "DPoP "+accessToken)
		out.Header.Set("DPoP", proof)
		resp, err := base.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		fresh := rp.rememberNonce(req.URL, resp.Header)
		if attempt > 0 || resp.StatusCode != http.StatusUnauthorized || !fresh {
			return resp, nil
		}
		if code, _ := DPoPError(resp.Header); code != "use_dpop_nonce" {
			return resp, nil
		}
		if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
			return resp, nil // cannot send the body again: the caller sees the 401
		}
		resp.Body.Close()
	}
}

// jktParam is the authorization request parameter binding the code to a
// DPoP key (RFC 9449 section 10).
const jktParam = "dpop_jkt"

// tokenRequestDPoP is tokenRequest with DPoP proofs signed by key, when key
// is not nil.
func (rp *RP) tokenRequestDPoP(ctx context.Context, form url.Values, key *DPoPKey) (_ *tokenResponse, err error) {
	defer rp.called(ctx, "token", form.Get("grant_type"), time.Now(), &err)
	resp, body, err := rp.postDPoP(ctx, rp.provider.Metadata().TokenEndpoint, form, key)
	if err != nil {
		return nil, err
	}
	return parseTokenResponse(resp, body)
}
