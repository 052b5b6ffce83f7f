package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/internal/randstr"
)

// Client authentication at the token endpoint (OpenID Connect Core section
// 9, RFC 6749 section 2.3, RFC 7523): one method per request, chosen in the
// Config and fixed at New.

// jwtBearer is the client_assertion_type of RFC 7523 section 2.2.
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: long enough for
// a slow provider and a skewed clock, far below the 5 minutes beyond which
// providers refuse assertions.
const assertionLifetime = time.Minute

// clientAuth is how the RP authenticates, resolved at New.
type clientAuth struct {
	method AuthMethod
	alg    string        // JWT methods: the assertion's signing algorithm
	hash   crypto.Hash   // of alg; 0 for EdDSA
	signer crypto.Signer // private_key_jwt
	header string        // the assertion's header, base64url-encoded: it never changes
}

// assertionAlgs are the algorithms a key can sign client assertions with,
// the preferred first. The first is used when the provider does not list
// token_endpoint_auth_signing_alg_values_supported.
func assertionAlgs(method AuthMethod, pub crypto.PublicKey) []string {
	if method == AuthClientSecretJWT {
		return []string{"HS256", "HS384", "HS512"}
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return []string{"RS256", "PS256"}
	case *ecdsa.PublicKey:
		return []string{"ES" + k.Curve.Params().Name[2:]} // P-256 → ES256, P-384 → ES384
	default: // Ed25519: "EdDSA" (RFC 8037) or its fully-specified name (RFC 9864)
		return []string{"EdDSA", "Ed25519"}
	}
}

var algHashes = map[string]crypto.Hash{
	"HS256": crypto.SHA256, "HS384": crypto.SHA384, "HS512": crypto.SHA512,
	"RS256": crypto.SHA256, "PS256": crypto.SHA256, "ES256": crypto.SHA256, "ES384": crypto.SHA384,
}

// newClientAuth resolves cfg's method against the provider's metadata: the
// signing algorithm of the JWT methods comes from
// token_endpoint_auth_signing_alg_values_supported, and New fails with
// ErrInvalidConfig when the provider lists none the client can use.
func newClientAuth(cfg *Config, md *discovery.Metadata) (clientAuth, error) {
	a := clientAuth{method: cfg.AuthMethod, signer: cfg.PrivateKey}
	if a.method != AuthClientSecretJWT && a.method != AuthPrivateKeyJWT {
		return a, nil
	}
	var pub crypto.PublicKey
	if a.signer != nil {
		pub = a.signer.Public()
	}
	usable := assertionAlgs(a.method, pub)
	if a.method == AuthClientSecretJWT {
		// RFC 7518 section 3.2: a key at least as long as the hash.
		usable = slices.DeleteFunc(usable, func(alg string) bool { return len(cfg.ClientSecret) < algHashes[alg].Size() })
	}
	advertised := md.TokenEndpointAuthSigningAlgValuesSupported
	if len(usable) == 0 { // normalize refuses such a secret; kept for safety
		return a, fmt.Errorf("%w: ClientSecret too short for %s", ErrInvalidConfig, a.method)
	}
	if len(advertised) == 0 {
		a.alg = usable[0]
	} else if i := slices.IndexFunc(usable, func(alg string) bool { return slices.Contains(advertised, alg) }); i >= 0 {
		a.alg = usable[i]
	} else {
		return a, fmt.Errorf("%w: the provider accepts client assertions signed with %s; %s needs one of %s",
			ErrInvalidConfig, strings.Join(advertised, ", "), a.method, strings.Join(usable, ", "))
	}
	a.hash = algHashes[a.alg]
	h := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid,omitempty"`
		Typ string `json:"typ"`
	}{Alg: a.alg, Typ: "JWT"}
	if a.method == AuthPrivateKeyJWT {
		h.Kid = cfg.PrivateKeyID
	}
	b, err := json.Marshal(h)
	if err != nil {
		return a, fmt.Errorf("%w: PrivateKeyID: %v", ErrInvalidConfig, err)
	}
	a.header = base64.RawURLEncoding.EncodeToString(b)
	return a, nil
}

// authenticate adds the client's authentication to a request for an
// endpoint of the authorization server: to req's header (Basic) or to form,
// the request's body to be. Exactly one method, never two: no assertion
// with Basic or a client_secret.
func (rp *RP) authenticate(req *http.Request, form url.Values) error {
	id := rp.cfg.ClientID
	switch rp.auth.method {
	case AuthClientSecretBasic:
		secret, err := rp.clientSecret(req.Context())
		if err != nil {
			return err
		}
		// RFC 6749 section 2.3.1: both form-urlencoded before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	case AuthClientSecretPost:
		secret, err := rp.clientSecret(req.Context())
		if err != nil {
			return err
		}
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	case AuthClientSecretJWT, AuthPrivateKeyJWT:
		assertion, err := rp.clientAssertion()
		if err != nil {
			return err
		}
		form.Set("client_id", id)
		form.Set("client_assertion_type", jwtBearer)
		form.Set("client_assertion", assertion)
	default: // AuthNone
		form.Set("client_id", id)
	}
	return nil
}

// assertionClaims are a client assertion's claims (RFC 7523 section 3).
type assertionClaims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"` // one string, never an array (RFC 7523bis)
	ID        string `json:"jti"`
	IssuedAt  int64  `json:"iat"`
	NotBefore int64  `json:"nbf"`
	Expiry    int64  `json:"exp"`
}

// clientAssertion signs a new client assertion: iss and sub the client ID,
// aud the issuer (or the token endpoint, when configured), a fresh random
// jti, iat and nbf now, exp a minute later.
func (rp *RP) clientAssertion() (string, error) {
	md := rp.provider.Metadata()
	aud := md.Issuer
	if rp.cfg.AssertionAudienceTokenEndpoint {
		aud = md.TokenEndpoint
	}
	now := rp.cfg.Now().Unix()
	claims, err := json.Marshal(assertionClaims{
		Issuer:    rp.cfg.ClientID,
		Subject:   rp.cfg.ClientID,
		Audience:  aud,
		ID:        randstr.Token(),
		IssuedAt:  now,
		NotBefore: now,
		Expiry:    now + int64(assertionLifetime/time.Second),
	})
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrClientAssertion, err)
	}
	enc := base64.RawURLEncoding
	input := make([]byte, 0, len(rp.auth.header)+1+enc.EncodedLen(len(claims)))
	input = append(input, rp.auth.header...)
	input = append(input, '.')
	input = enc.AppendEncode(input, claims)
	sig, err := rp.sign(input)
	if err != nil {
		return "", err
	}
	return string(enc.AppendEncode(append(input, '.'), sig)), nil
}

// sign signs a JWS signing input with the client's secret or key, as the
// assertion's algorithm says (RFC 7518 section 3, RFC 8037).
func (rp *RP) sign(input []byte) ([]byte, error) {
	a := &rp.auth
	if a.method == AuthClientSecretJWT {
		mac := hmac.New(a.hash.New, []byte(rp.cfg.ClientSecret))
		mac.Write(input)
		return mac.Sum(nil), nil
	}
	sig, err := jws.SignInput(a.signer, a.alg, input)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrClientAssertion, a.alg, err)
	}
	return sig, nil
}
