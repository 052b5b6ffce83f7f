package oidctest

import (
	"crypto/ed25519"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/jws"
)

// Client authentication at the token and revocation endpoints (RFC 6749
// section 2.3, OpenID Connect Core section 9, RFC 7523).

// The client authentication methods, as Client.AuthMethod names them.
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthClientSecretJWT   = "client_secret_jwt"
	AuthPrivateKeyJWT     = "private_key_jwt"
	AuthNone              = "none"
)

var authMethods = []string{AuthClientSecretBasic, AuthClientSecretPost, AuthClientSecretJWT, AuthPrivateKeyJWT, AuthNone}

// assertionAlgs are the algorithms client assertions may be signed with.
var assertionAlgs = []string{
	"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA", "Ed25519",
}

const (
	jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

	// maxAssertionLifetime: an assertion whose exp is further away is
	// refused, as providers do.
	maxAssertionLifetime = 5 * time.Minute
	// assertionLeeway is the clock difference tolerated on exp, iat, nbf.
	assertionLeeway = 30 * time.Second
)

// parseClientKeys reads each client's JWKS, and checks its AuthMethod.
// It panics, before the server listens, on a bad configuration.
func parseClientKeys(clients []Client) map[string][]jose.JSONWebKey {
	keys := make(map[string][]jose.JSONWebKey)
	for _, c := range clients {
		if c.AuthMethod != "" && !slices.Contains(authMethods, c.AuthMethod) {
			panic(fmt.Sprintf("oidctest: client %q: unknown AuthMethod %q", c.ID, c.AuthMethod))
		}
		if c.AuthMethod == AuthPrivateKeyJWT && len(c.JWKS) == 0 {
			panic(fmt.Sprintf("oidctest: client %q: private_key_jwt without JWKS", c.ID))
		}
		if len(c.JWKS) == 0 {
			continue
		}
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(c.JWKS, &set); err != nil || len(set.Keys) == 0 {
			panic(fmt.Sprintf("oidctest: client %q: JWKS is not a JWK set with keys: %v", c.ID, err))
		}
		for _, k := range set.Keys {
			if !k.IsPublic() {
				panic(fmt.Sprintf("oidctest: client %q: JWKS holds a private key", c.ID))
			}
		}
		keys[c.ID] = set.Keys
	}
	return keys
}

// allows reports whether c may authenticate with method: its registered
// method, or, if it has none, any its credentials allow.
func (s *Server) allows(c *Client, method string) bool {
	if c.AuthMethod != "" {
		return method == c.AuthMethod
	}
	switch method {
	case AuthClientSecretBasic, AuthClientSecretPost, AuthClientSecretJWT:
		return c.Secret != ""
	case AuthPrivateKeyJWT:
		return len(s.clientKeys[c.ID]) > 0
	default: // none
		return c.Secret == "" && len(s.clientKeys[c.ID]) == 0
	}
}

// authenticateClient authenticates the client of a request to endpoint (a
// path: "/token", "/revoke") by exactly one method: client_secret_basic,
// client_secret_post, a client assertion (client_secret_jwt,
// private_key_jwt), or, for public clients, a bare client_id. It returns the
// client, or why it failed. Called with s.mu held.
func (s *Server) authenticateClient(r *http.Request, endpoint string) (*Client, string) {
	for _, p := range []string{"client_id", "client_secret", "client_assertion", "client_assertion_type"} {
		if len(r.PostForm[p]) > 1 {
			return nil, p + " repeated"
		}
	}
	id, secret, basic := r.BasicAuth()
	hasSecret, hasAssertion := r.PostForm.Has("client_secret"), r.PostForm.Has("client_assertion") || r.PostForm.Has("client_assertion_type")
	n := 0
	for _, used := range []bool{basic, hasSecret, hasAssertion} {
		if used {
			n++
		}
	}
	if n > 1 {
		return nil, "more than one client authentication method in one request"
	}
	formID := r.PostForm.Get("client_id")
	var method string
	var assertion *jws.Token
	switch {
	case basic:
		method = AuthClientSecretBasic
		// RFC 6749 section 2.3.1: both are form-urlencoded first.
		id, _ = unescape(id)
		secret, _ = unescape(secret)
		if formID != "" && formID != id {
			return nil, "client_id differs from the Basic credentials'"
		}
	case hasAssertion:
		if r.PostForm.Get("client_assertion_type") != jwtBearer {
			return nil, "client_assertion_type is not " + jwtBearer
		}
		var err error
		if assertion, err = jws.Parse(r.PostForm.Get("client_assertion")); err != nil {
			return nil, "client_assertion: " + err.Error()
		}
		var who struct {
			Subject string `json:"sub"`
		}
		if json.Unmarshal(assertion.Payload, &who) != nil || who.Subject == "" {
			return nil, "client_assertion has no sub"
		}
		id = who.Subject
		if formID != "" && formID != id {
			return nil, "client_id differs from the client assertion's sub"
		}
		method = AuthPrivateKeyJWT
		if strings.HasPrefix(assertion.Header.Alg, "HS") {
			method = AuthClientSecretJWT
		}
	case hasSecret:
		method, id, secret = AuthClientSecretPost, formID, r.PostForm.Get("client_secret")
	default:
		method, id = AuthNone, formID
	}
	c := s.findClient(id)
	if c == nil {
		return nil, fmt.Sprintf("unknown client %q", id)
	}
	if !s.allows(c, method) {
		return nil, fmt.Sprintf("client %q may not authenticate with %s", id, method)
	}
	switch method {
	case AuthClientSecretBasic, AuthClientSecretPost:
		if subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
			return nil, "wrong client secret"
		}
	case AuthClientSecretJWT, AuthPrivateKeyJWT:
		if reason := s.checkAssertion(c, assertion, endpoint); reason != "" {
			return nil, "client_assertion: " + reason
		}
		s.stats.ClientAssertions++
	}
	return c, ""
}

// checkAssertion verifies a client assertion of c (RFC 7523 section 3): its
// signature with c's secret or registered keys, iss and sub c's ID, aud the
// issuer or the token endpoint (one string, RFC 7523bis), exp within five
// minutes, iat and nbf not in the future, and a jti not seen before. It
// returns why it fails, or "". Called with s.mu held.
func (s *Server) checkAssertion(c *Client, t *jws.Token, endpoint string) string {
	alg := t.Header.Alg
	if !slices.Contains(assertionAlgs, alg) {
		return fmt.Sprintf("alg %q not accepted", alg)
	}
	if strings.HasPrefix(alg, "HS") {
		if err := t.Verify([]byte(c.Secret)); err != nil {
			return "signature does not verify with the client secret"
		}
	} else if reason := s.verifyWithClientKeys(c, t); reason != "" {
		return reason
	}

	var claims struct {
		Issuer    string          `json:"iss"`
		Subject   string          `json:"sub"`
		Audience  json.RawMessage `json:"aud"`
		Expiry    *float64        `json:"exp"`
		IssuedAt  *float64        `json:"iat"`
		NotBefore *float64        `json:"nbf"`
		ID        string          `json:"jti"`
	}
	if err := json.Unmarshal(t.Payload, &claims); err != nil {
		return "claims: " + err.Error()
	}
	var aud string
	switch {
	case claims.Issuer != c.ID || claims.Subject != c.ID:
		return "iss and sub must be the client_id"
	case len(claims.Audience) == 0 || claims.Audience[0] != '"' || json.Unmarshal(claims.Audience, &aud) != nil:
		return "aud must be one string (RFC 7523bis), not " + string(claims.Audience)
	case aud != s.URL && aud != s.URL+"/token" && aud != s.URL+endpoint:
		return fmt.Sprintf("aud %q is neither the issuer nor the token endpoint", aud)
	case claims.Expiry == nil:
		return "no exp"
	case claims.ID == "":
		return "no jti"
	}
	now := s.now()
	exp := time.Unix(int64(*claims.Expiry), 0)
	switch {
	case now.After(exp.Add(assertionLeeway)):
		return "expired"
	case exp.After(now.Add(maxAssertionLifetime + assertionLeeway)):
		return "exp more than 5 minutes away"
	case claims.IssuedAt != nil && time.Unix(int64(*claims.IssuedAt), 0).After(now.Add(assertionLeeway)):
		return "iat in the future"
	case claims.NotBefore != nil && time.Unix(int64(*claims.NotBefore), 0).After(now.Add(assertionLeeway)):
		return "nbf in the future"
	}
	// jti: once per client while the assertion could be valid.
	for k, until := range s.assertionIDs {
		if now.After(until) {
			delete(s.assertionIDs, k)
		}
	}
	key := c.ID + "\x00" + claims.ID
	if _, seen := s.assertionIDs[key]; seen {
		s.stats.AssertionReplays++
		return "jti replayed"
	}
	s.assertionIDs[key] = exp.Add(assertionLeeway)
	return ""
}

// verifyWithClientKeys verifies t with c's registered keys: the one named
// by t's kid, or, without a kid, each whose alg allows it.
func (s *Server) verifyWithClientKeys(c *Client, t *jws.Token) string {
	kid := t.Header.Kid
	tried := false
	for _, k := range s.clientKeys[c.ID] {
		if kid != "" && k.KeyID != kid || k.Algorithm != "" && k.Algorithm != t.Header.Alg || k.Use != "" && k.Use != "sig" {
			continue
		}
		tried = true
		if t.Header.Alg == "Ed25519" { // RFC 9864's name for EdDSA with Ed25519, which jws does not know
			if pub, ok := k.Key.(ed25519.PublicKey); ok && ed25519.Verify(pub, []byte(t.SigningInput), t.Signature) {
				return ""
			}
			continue
		}
		if t.Verify(k.Key) == nil {
			return ""
		}
	}
	if !tried {
		return fmt.Sprintf("no registered key of the client has kid %q and fits alg %s", kid, t.Header.Alg)
	}
	return "signature does not verify with the client's keys"
}
