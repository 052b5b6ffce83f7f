package oidctest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/oidctest"
)

const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionKey is a client's signing key and its registered JWK.
type assertionKey struct {
	priv crypto.Signer
	alg  jose.SignatureAlgorithm
	kid  string
}

func newAssertionKey(t testing.TB, alg jose.SignatureAlgorithm, kid string) assertionKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return assertionKey{priv: priv, alg: alg, kid: kid}
}

// jwks is the key's public JWK set, as a client registers it.
func (k assertionKey) jwks(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.priv.Public(), KeyID: k.kid, Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signJWS signs claims with key (a crypto.Signer or an HMAC secret) and
// header members, by go-jose.
func signJWS(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertionClaims are valid claims of a client assertion for op.
func assertionClaims(op *oidctest.Server, clientID string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": clientID, "sub": clientID, "aud": op.URL,
		"jti": rand.Text(), "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
}

// TestClientAssertions sends a code grant authenticated by a client
// assertion (RFC 7523), one claim or header member wrong at a time: each is
// invalid_client.
func TestClientAssertions(t *testing.T) {
	key := newAssertionKey(t, jose.ES256, "key-1")
	other := newAssertionKey(t, jose.ES256, "key-1") // same kid, another key
	edKey := newAssertionKey(t, jose.EdDSA, "ed")
	pkj := oidctest.Client{ID: "pkj", AuthMethod: oidctest.AuthPrivateKeyJWT, JWKS: key.jwks(t)}
	edClient := oidctest.Client{ID: "ed", AuthMethod: oidctest.AuthPrivateKeyJWT, JWKS: edKey.jwks(t)}
	csj := confidential("csj")
	csj.AuthMethod = oidctest.AuthClientSecretJWT
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{pkj, csj, edClient, confidential("conf")}})

	es := func(edit func(map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string {
			c := assertionClaims(op, pkj.ID)
			if edit != nil {
				edit(c)
			}
			return signJWS(t, key.alg, key.priv, key.kid, c)
		}
	}
	hs := func(secret string, edit func(map[string]any)) func(t *testing.T) string {
		return func(t *testing.T) string {
			c := assertionClaims(op, csj.ID)
			if edit != nil {
				edit(c)
			}
			return signJWS(t, jose.HS256, []byte(secret), "", c)
		}
	}
	ago := func(d time.Duration) int64 { return time.Now().Add(-d).Unix() }
	tests := []struct {
		name      string
		client    oidctest.Client
		assertion func(t *testing.T) string
		form      url.Values // added to the request
		basic     []string
		ok        bool
	}{
		{name: "private_key_jwt", client: pkj, assertion: es(nil), ok: true},
		{name: "aud the token endpoint", client: pkj, assertion: es(func(c map[string]any) { c["aud"] = op.URL + "/token" }), ok: true},
		{name: "client_id sent too", client: pkj, assertion: es(nil), form: url.Values{"client_id": {pkj.ID}}, ok: true},
		{name: "no kid: each key is tried", client: pkj, assertion: func(t *testing.T) string {
			return signJWS(t, key.alg, key.priv, "", assertionClaims(op, pkj.ID))
		}, ok: true},
		{name: "EdDSA", client: edClient, assertion: func(t *testing.T) string {
			return signJWS(t, edKey.alg, edKey.priv, edKey.kid, assertionClaims(op, edClient.ID))
		}, ok: true},
		{name: "client_secret_jwt", client: csj, assertion: hs(csj.Secret, nil), ok: true},

		{name: "another key under the kid", client: pkj, assertion: func(t *testing.T) string {
			return signJWS(t, other.alg, other.priv, other.kid, assertionClaims(op, pkj.ID))
		}},
		{name: "unknown kid", client: pkj, assertion: func(t *testing.T) string {
			return signJWS(t, key.alg, key.priv, "key-2", assertionClaims(op, pkj.ID))
		}},
		{name: "ECDSA signature in DER, not R||S", client: pkj, assertion: func(t *testing.T) string {
			return derSigned(t, key, assertionClaims(op, pkj.ID))
		}},
		{name: "alg none", client: pkj, assertion: func(t *testing.T) string {
			return unsignedJWT(assertionClaims(op, pkj.ID))
		}},
		{name: "iss another client", client: pkj, assertion: es(func(c map[string]any) { c["iss"] = "conf" })},
		{name: "sub another client", client: pkj, assertion: es(func(c map[string]any) { c["sub"] = "conf" })},
		{name: "sub unknown", client: pkj, assertion: es(func(c map[string]any) { c["sub"] = "nobody" })},
		{name: "no sub", client: pkj, assertion: es(func(c map[string]any) { delete(c, "sub") })},
		{name: "aud an array", client: pkj, assertion: es(func(c map[string]any) { c["aud"] = []string{op.URL} })},
		{name: "aud another server", client: pkj, assertion: es(func(c map[string]any) { c["aud"] = "https://other.example" })},
		{name: "no aud", client: pkj, assertion: es(func(c map[string]any) { delete(c, "aud") })},
		{name: "no exp", client: pkj, assertion: es(func(c map[string]any) { delete(c, "exp") })},
		{name: "expired", client: pkj, assertion: es(func(c map[string]any) { c["exp"] = ago(2 * time.Minute) })},
		{name: "exp ten minutes away", client: pkj, assertion: es(func(c map[string]any) { c["exp"] = ago(-10 * time.Minute) })},
		{name: "iat in the future", client: pkj, assertion: es(func(c map[string]any) { c["iat"] = ago(-2 * time.Minute) })},
		{name: "nbf in the future", client: pkj, assertion: es(func(c map[string]any) { c["nbf"] = ago(-2 * time.Minute) })},
		{name: "no jti", client: pkj, assertion: es(func(c map[string]any) { delete(c, "jti") })},
		{name: "client_id not the sub", client: pkj, assertion: es(nil), form: url.Values{"client_id": {"conf"}}},
		{name: "wrong assertion type", client: pkj, assertion: es(nil), form: url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:saml2-bearer"}}},
		{name: "with a client_secret too", client: pkj, assertion: es(nil), form: url.Values{"client_secret": {"x"}}},
		{name: "with Basic too", client: pkj, assertion: es(nil), basic: []string{pkj.ID, "x"}},
		{name: "client_secret_jwt for a private_key_jwt client", client: pkj, assertion: func(t *testing.T) string {
			return signJWS(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"), "", assertionClaims(op, pkj.ID))
		}},
		{name: "client_secret_jwt with the wrong secret", client: csj, assertion: hs(csj.Secret+"x", nil)},
		{name: "private_key_jwt for a client_secret_jwt client", client: csj, assertion: func(t *testing.T) string {
			return signJWS(t, key.alg, key.priv, key.kid, assertionClaims(op, csj.ID))
		}},
		{name: "not a JWS", client: pkj, assertion: func(*testing.T) string { return "not-a-jwt" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, p := codeFor(t, op, tt.client, nil)
			form := codeForm(code, p)
			form.Set("client_assertion_type", jwtBearer)
			form.Set("client_assertion", tt.assertion(t))
			for k, v := range tt.form {
				form[k] = v
			}
			r := post(t, op.URL+"/token", form, tt.basic)
			if tt.ok {
				if r.Status != http.StatusOK {
					t.Fatalf("token endpoint: %s, want 200", r)
				}
				return
			}
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			t.Log(r.JSON(t)["error_description"])
		})
	}

	t.Run("registered method enforced", func(t *testing.T) {
		code, p := codeFor(t, op, pkj, nil)
		r := post(t, op.URL+"/token", codeForm(code, p), []string{pkj.ID, "secret"})
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
	})
}

// TestClientAssertionReplay: an assertion is accepted once; its jti again,
// even from a new grant, is refused.
func TestClientAssertionReplay(t *testing.T) {
	key := newAssertionKey(t, jose.ES256, "k")
	c := oidctest.Client{ID: "pkj", AuthMethod: oidctest.AuthPrivateKeyJWT, JWKS: key.jwks(t)}
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}})
	assertion := signJWS(t, key.alg, key.priv, key.kid, assertionClaims(op, c.ID))
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		code, p := codeFor(t, op, c, nil)
		form := codeForm(code, p)
		form.Set("client_assertion_type", jwtBearer)
		form.Set("client_assertion", assertion)
		if r := post(t, op.URL+"/token", form, nil); r.Status != want {
			t.Fatalf("use %d: %s, want %d", i+1, r, want)
		}
	}
	if s := op.Stats(); s.ClientAssertions != 1 || s.AssertionReplays != 1 {
		t.Fatalf("stats %+v", s)
	}
	// At the revocation endpoint too, whose own URL may be the audience.
	claims := assertionClaims(op, c.ID)
	claims["aud"] = op.URL + "/revoke"
	assertion = signJWS(t, key.alg, key.priv, key.kid, claims)
	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		form := url.Values{"token": {"x"}, "client_assertion_type": {jwtBearer}, "client_assertion": {assertion}}
		if r := post(t, op.URL+"/revoke", form, nil); r.Status != want {
			t.Fatalf("revocation %d: %s, want %d", i+1, r, want)
		}
	}
}

// TestClientRegistrationPanics: NewServer refuses bad client registrations
// before it listens.
func TestClientRegistrationPanics(t *testing.T) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	private, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: priv, KeyID: "k"}}})
	for name, c := range map[string]oidctest.Client{
		"unknown method":          {ID: "c", AuthMethod: "tls_client_auth"},
		"private_key_jwt no keys": {ID: "c", AuthMethod: oidctest.AuthPrivateKeyJWT},
		"JWKS not JSON":           {ID: "c", JWKS: []byte("{")},
		"JWKS with a private key": {ID: "c", JWKS: private},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{c}})
			op.Close()
		})
	}
}

// derSigned signs claims with an ECDSA key but leaves the signature in
// ASN.1 DER, as crypto.Signer returns it, instead of JWS's R||S.
func derSigned(t testing.TB, k assertionKey, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": string(k.alg), "kid": k.kid})
	payload, _ := json.Marshal(claims)
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	der, err := k.priv.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc.EncodeToString(der)
}

func unsignedJWT(claims map[string]any) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString(payload) + "."
}
