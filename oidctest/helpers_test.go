package oidctest_test

// Helpers that speak the protocol by hand: the provider is tested as a black
// box over HTTP, without the library's client package, so that it can catch
// the client's misreadings instead of sharing them.

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512 for at_hash
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/oidctest"
)

// callback is the redirect URI of the tests' clients.
const callback = "http://127.0.0.1/callback"

// asymmetricAlgs are the algorithms a provider may sign with (Config.SigningAlg).
var asymmetricAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// httpClient follows no redirects, so every hop can be checked, and bounds
// each request in time.
var httpClient = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// newOP starts a provider that is closed when the test ends.
func newOP(t testing.TB, cfg oidctest.Config) *oidctest.Server {
	t.Helper()
	op := oidctest.NewServer(cfg)
	t.Cleanup(op.Close)
	return op
}

// confidential is a registered client with a secret long enough for HS256.
func confidential(id string) oidctest.Client {
	return oidctest.Client{ID: id, Secret: id + "-secret-0123456789abcdefghijklmnop"}
}

// clock is the tests' Config.Now, moved by hand.
type clock = testutil.Clock

func newClock() *clock { return testutil.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) }

// reply is an HTTP answer with its body read.
type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// JSON decodes the body as a JSON object.
func (r reply) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r)
	}
	return m
}

// Location returns the parsed Location header, or nil.
func (r reply) Location() *url.URL {
	loc := r.Header.Get("Location")
	if loc == "" {
		return nil
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil
	}
	return u
}

func send(req *http.Request) (reply, error) {
	resp, err := httpClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: body}, err
}

// get sends a GET, following no redirect.
func get(t testing.TB, rawURL string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	r, err := send(req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// post sends a form. basic, if not nil, holds a client ID and secret that
// are form-urlencoded into HTTP Basic credentials (RFC 6749 section 2.3.1).
func post(t testing.TB, rawURL string, form url.Values, basic []string, header ...string) reply {
	t.Helper()
	r, err := postErr(rawURL, form, basic, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func postErr(rawURL string, form url.Values, basic []string, header ...string) (reply, error) {
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return send(req)
}

// pkce is a PKCE verifier and its S256 challenge (RFC 7636).
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	b := make([]byte, 32)
	rand.Read(b)
	return pkceFor(base64.RawURLEncoding.EncodeToString(b))
}

func pkceFor(verifier string) pkce {
	sum := sha256.Sum256([]byte(verifier))
	return pkce{verifier, base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authParams is a correct authorization request for client.
func authParams(clientID string, p pkce) url.Values {
	return url.Values{
		"client_id":             {clientID},
		"redirect_uri":          {callback},
		"response_type":         {"code"},
		"scope":                 {"openid"},
		"state":                 {"state-123"},
		"nonce":                 {"nonce-456"},
		"code_challenge":        {p.challenge},
		"code_challenge_method": {"S256"},
	}
}

// authorize sends an authorization request, following no redirect.
func authorize(t testing.TB, op *oidctest.Server, q url.Values) reply {
	t.Helper()
	return get(t, op.URL+"/authorize?"+q.Encode())
}

// codeFrom returns the code of an authorization response, or an error
// saying what came instead.
func codeFrom(r reply) (string, error) {
	loc := r.Location()
	if r.Status != http.StatusFound || loc == nil {
		return "", fmt.Errorf("authorization answered %s, want a redirect", r)
	}
	code := loc.Query().Get("code")
	if code == "" {
		return "", fmt.Errorf("redirect %s has no code", loc)
	}
	return code, nil
}

// tokens is a successful token response.
type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// auth is how a client authenticates at the token endpoint.
type auth int

const (
	authBasic auth = iota // client_secret_basic
	authPost              // client_secret_post
	authNone              // client_id only: a public client
)

// tokenRequest posts form to the token endpoint as client.
func tokenRequest(op *oidctest.Server, c oidctest.Client, how auth, form url.Values) (reply, error) {
	form = cloneValues(form)
	var basic []string
	switch how {
	case authBasic:
		basic = []string{c.ID, c.Secret}
	case authPost:
		form.Set("client_id", c.ID)
		form.Set("client_secret", c.Secret)
	case authNone:
		form.Set("client_id", c.ID)
	}
	return postErr(op.URL+"/token", form, basic)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// codeForm is the token request that redeems code.
func codeForm(code string, p pkce) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {callback},
		"code_verifier": {p.verifier},
	}
}

func refreshForm(rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
}

// authFor is how a client of the tests authenticates: public clients send
// their client_id alone.
func authFor(c oidctest.Client) auth {
	if c.Secret == "" {
		return authNone
	}
	return authBasic
}

// loginErr runs a whole code flow for c; edit, if not nil, changes the
// authorization request. It is safe to call from many goroutines.
func loginErr(op *oidctest.Server, c oidctest.Client, edit func(url.Values)) (tokens, error) {
	p := newPKCE()
	q := authParams(c.ID, p)
	if edit != nil {
		edit(q)
	}
	req, err := http.NewRequest(http.MethodGet, op.URL+"/authorize?"+q.Encode(), nil)
	if err != nil {
		return tokens{}, err
	}
	r, err := send(req)
	if err != nil {
		return tokens{}, err
	}
	code, err := codeFrom(r)
	if err != nil {
		return tokens{}, err
	}
	form := codeForm(code, p)
	form.Set("redirect_uri", q.Get("redirect_uri"))
	r, err = tokenRequest(op, c, authFor(c), form)
	if err != nil {
		return tokens{}, err
	}
	return decodeTokens(r)
}

func decodeTokens(r reply) (tokens, error) {
	if r.Status != http.StatusOK {
		return tokens{}, fmt.Errorf("token endpoint answered %s", r)
	}
	var tok tokens
	if err := json.Unmarshal(r.Body, &tok); err != nil {
		return tokens{}, err
	}
	return tok, nil
}

// login runs a whole code flow for c and returns the tokens.
func login(t testing.TB, op *oidctest.Server, c oidctest.Client, edit func(url.Values)) tokens {
	t.Helper()
	tok, err := loginErr(op, c, edit)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// withScope sets the scope of an authorization request.
func withScope(scope string) func(url.Values) {
	return func(q url.Values) { q.Set("scope", scope) }
}

// refresh redeems a refresh token.
func refresh(t testing.TB, op *oidctest.Server, c oidctest.Client, rt string) reply {
	t.Helper()
	r, err := tokenRequest(op, c, authFor(c), refreshForm(rt))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantOAuthError checks an RFC 6749 section 5.2 error answer.
func wantOAuthError(t testing.TB, r reply, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status = %s, want %d %s", r, status, code)
	}
	if got := r.JSON(t)["error"]; got != code {
		t.Errorf("error = %v, want %s (%s)", got, code, r)
	}
}

// keySet fetches the provider's published keys.
func keySet(t testing.TB, op *oidctest.Server) jose.JSONWebKeySet {
	t.Helper()
	r := get(t, op.URL+"/jwks")
	if r.Status != http.StatusOK {
		t.Fatalf("jwks: %s", r)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(r.Body, &set); err != nil {
		t.Fatal(err)
	}
	return set
}

// errUnknownKid says a token's kid is not in the key set.
var errUnknownKid = errors.New("kid not in the key set")

// verifyJWT checks raw's signature with the key its kid names in set and
// returns its header and claims. Only asymmetric algorithms are accepted, as
// a relying party does. A bad signature is jose.ErrCryptoFailure.
func verifyJWT(set jose.JSONWebKeySet, raw string) (jose.Header, map[string]any, error) {
	jws, err := jose.ParseSignedCompact(raw, asymmetricAlgs)
	if err != nil {
		return jose.Header{}, nil, err
	}
	h := jws.Signatures[0].Header
	keys := set.Key(h.KeyID)
	if len(keys) == 0 {
		return h, nil, fmt.Errorf("%w: %q", errUnknownKid, h.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return h, nil, err
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return h, nil, err
	}
	return h, claims, nil
}

// mustVerify verifies raw against the provider's current key set.
func mustVerify(t testing.TB, op *oidctest.Server, raw string) (jose.Header, map[string]any) {
	t.Helper()
	h, claims, err := verifyJWT(keySet(t, op), raw)
	if err != nil {
		t.Fatalf("token does not verify with /jwks: %v", err)
	}
	return h, claims
}

// unverifiedParts decodes a compact JWT's header and claims without
// checking anything.
func unverifiedParts(t testing.TB, raw string) (header, claims map[string]any, sig string) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %q", raw)
	}
	decode := func(s string) map[string]any {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("bad base64url in JWT: %v", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("bad JSON in JWT: %v", err)
		}
		return m
	}
	return decode(parts[0]), decode(parts[1]), parts[2]
}

// atHash is the at_hash of an access token for alg (OpenID Connect Core
// 3.1.3.6), computed independently of the provider.
func atHash(alg jose.SignatureAlgorithm, accessToken string) string {
	h := crypto.SHA256
	switch alg {
	case jose.RS384, jose.PS384, jose.ES384:
		h = crypto.SHA384
	case jose.RS512, jose.PS512, jose.ES512, jose.EdDSA:
		h = crypto.SHA512 // Ed25519 hashes with SHA-512, as go-oidc checks
	}
	d := h.New()
	d.Write([]byte(accessToken))
	sum := d.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// numeric reads a JSON number claim as Unix seconds.
func numeric(t testing.TB, claims map[string]any, name string) int64 {
	t.Helper()
	f, ok := claims[name].(float64)
	if !ok {
		t.Fatalf("claim %s = %#v, want a number", name, claims[name])
	}
	return int64(f)
}

// userinfo asks the userinfo endpoint with a Bearer header.
func userinfo(t testing.TB, op *oidctest.Server, accessToken string) reply {
	t.Helper()
	return get(t, op.URL+"/userinfo", "Authorization", "Bearer "+accessToken)
}
