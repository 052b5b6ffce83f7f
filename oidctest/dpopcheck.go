package oidctest

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/randstr"
)

// DPoP (RFC 9449) as an authorization server checks it: proofs at the
// token endpoint bind the tokens it issues (token_type DPoP, cnf.jkt in the
// access token), and userinfo takes bound tokens only with a proof. With
// Config.DPoPNonce, every proof must carry the server's current nonce.

// dpopAlgs are the proof algorithms the provider accepts.
var dpopAlgs = []string{"ES256", "ES384", "ES512", "EdDSA", "RS256", "PS256"}

const (
	// dpopWindow is how far a proof's iat may be from now.
	dpopWindow = time.Minute
	// maxDPoPJTIs bounds the proofs remembered for replay detection.
	maxDPoPJTIs = 10000
)

// dpopError is why a proof was refused: an RFC 9449 error code
// (invalid_dpop_proof, use_dpop_nonce) and a description.
type dpopError struct{ code, desc string }

// checkDPoP checks the DPoP proof of r, if it has one, for endpoint (the
// path of s.URL it was sent to) and, at a resource, the access token it
// presents: one proof, typ dpop+jwt, an accepted algorithm, a public jwk
// that verifies it, htm and htu of the request, iat within a minute, ath
// the token's hash, the current nonce when Config.DPoPNonce, and a jti not
// seen before. It returns the key's thumbprint, "" when r has no proof.
// Called with s.mu held.
func (s *Server) checkDPoP(r *http.Request, endpoint, accessToken string) (string, *dpopError) {
	proofs := r.Header.Values("DPoP")
	switch len(proofs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", &dpopError{"invalid_dpop_proof", "more than one DPoP header"}
	}
	bad := func(format string, args ...any) (string, *dpopError) {
		return "", &dpopError{"invalid_dpop_proof", fmt.Sprintf(format, args...)}
	}
	t, err := jws.Parse(proofs[0])
	if err != nil {
		return bad("%v", err)
	}
	if t.Header.Typ != "dpop+jwt" {
		return bad("typ %q, want dpop+jwt", t.Header.Typ)
	}
	if !slices.Contains(dpopAlgs, t.Header.Alg) {
		return bad("alg %q not accepted", t.Header.Alg)
	}
	var key jose.JSONWebKey
	if len(t.Header.JWK) == 0 || key.UnmarshalJSON(t.Header.JWK) != nil || !key.IsPublic() || !key.Valid() {
		return bad("the header's jwk is missing, malformed or not a public key")
	}
	if err := t.Verify(key.Key); err != nil {
		return bad("signature: %v", err)
	}
	var c struct {
		JTI   string   `json:"jti"`
		HTM   string   `json:"htm"`
		HTU   string   `json:"htu"`
		IAT   *float64 `json:"iat"`
		ATH   string   `json:"ath"`
		Nonce string   `json:"nonce"`
	}
	if err := json.Unmarshal(t.Payload, &c); err != nil {
		return bad("claims: %v", err)
	}
	now := s.now()
	switch {
	case c.JTI == "" || len(c.JTI) > 256:
		return bad("jti missing or longer than 256 bytes")
	case c.HTM != r.Method:
		return bad("htm %q, the request is a %s", c.HTM, r.Method)
	case c.HTU != s.URL+endpoint:
		return bad("htu %q, want %q", c.HTU, s.URL+endpoint)
	case c.IAT == nil:
		return bad("no iat")
	}
	if iat := time.Unix(int64(*c.IAT), 0); iat.Before(now.Add(-dpopWindow)) || iat.After(now.Add(dpopWindow)) {
		return bad("iat %v is more than a minute from now", iat.UTC())
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if subtle.ConstantTimeCompare([]byte(c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) != 1 {
			return bad("ath is not the access token's hash")
		}
	}
	if s.cfg.DPoPNonce && (c.Nonce == "" || c.Nonce != s.dpopNonce) {
		s.stats.DPoPNonceChallenges++
		if c.Nonce == "" {
			return "", &dpopError{"use_dpop_nonce", "the proof must carry the server's nonce"}
		}
		return "", &dpopError{"use_dpop_nonce", "the proof's nonce is stale"}
	}
	for jti, until := range s.dpopJTIs {
		if now.After(until) {
			delete(s.dpopJTIs, jti)
		}
	}
	if _, seen := s.dpopJTIs[c.JTI]; seen {
		s.stats.DPoPReplays++
		return bad("jti replayed")
	}
	if len(s.dpopJTIs) >= maxDPoPJTIs {
		return bad("too many proofs in the last minutes")
	}
	s.dpopJTIs[c.JTI] = now.Add(2 * dpopWindow)
	sum, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return bad("thumbprint: %v", err)
	}
	s.stats.DPoPProofs++
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// setDPoPNonce gives w the current nonce, when nonces are on. Called with
// s.mu held.
func (s *Server) setDPoPNonce(w http.ResponseWriter) {
	if s.cfg.DPoPNonce {
		w.Header().Set("DPoP-Nonce", s.dpopNonce)
	}
}

// RotateDPoPNonce replaces the provider's DPoP nonce: the next proof with
// the old one is answered use_dpop_nonce, with the new nonce, as a server
// rotating its nonces would (RFC 9449 section 8.2).
func (s *Server) RotateDPoPNonce() {
	s.mu.Lock()
	s.dpopNonce = randstr.New(16)
	s.mu.Unlock()
}

// dpopTokenError answers a token request whose proof was refused: 400 with
// the error code, and the nonce to use (RFC 9449 section 8).
func (s *Server) dpopTokenError(w http.ResponseWriter, e *dpopError) {
	s.setDPoPNonce(w)
	oauthError(w, http.StatusBadRequest, e.code, e.desc)
}

// dpopResourceError answers a userinfo request refused for its DPoP
// proof or token: 401 with a DPoP challenge (RFC 9449 section 7.1).
func (s *Server) dpopResourceError(w http.ResponseWriter, code, desc string) {
	s.setDPoPNonce(w)
	w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP error=%q, error_description=%q, algs="%s"`,
		code, strings.ReplaceAll(desc, `"`, `'`), strings.Join(dpopAlgs, " ")))
	oauthError(w, http.StatusUnauthorized, code, desc)
}
