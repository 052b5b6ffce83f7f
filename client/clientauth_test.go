package client_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// Test keys, made once: RSA key generation is slow.
var (
	rsaKey   = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 2048)) })
	p256Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) })
	p384Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P384(), rand.Reader)) })
	edKey    = sync.OnceValue(func() ed25519.PrivateKey { _, k, err := ed25519.GenerateKey(rand.Reader); return must(k, err) })
	rsaSmall = sync.OnceValue(func() *rsa.PrivateKey { return must(rsa.GenerateKey(rand.Reader, 1024)) })
	p521Key  = sync.OnceValue(func() *ecdsa.PrivateKey { return must(ecdsa.GenerateKey(elliptic.P521(), rand.Reader)) })
)

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// hsmKey is a key the RP can only ask to sign, as with a key in an HSM or a
// KMS: a crypto.Signer and nothing else.
type hsmKey struct {
	key   crypto.Signer
	mu    sync.Mutex // guards signs and down
	signs int
	down  error // if not nil, Sign fails with it
}

func (h *hsmKey) Public() crypto.PublicKey { return h.key.Public() }

func (h *hsmKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	h.mu.Lock()
	h.signs++
	down := h.down
	h.mu.Unlock()
	if down != nil {
		return nil, down
	}
	return h.key.Sign(r, digest, opts)
}

// recorder is a transport that keeps a copy of each request to the
// provider's token and revocation endpoints before sending it on.
type recorder struct {
	mu   sync.Mutex // guards sent
	sent []sentRequest
}

type sentRequest struct {
	path   string
	header http.Header
	form   url.Values
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.sent = append(rec.sent, sentRequest{path: req.URL.Path, header: req.Header.Clone(), form: form})
		rec.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (rec *recorder) requests() []sentRequest {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.sent)
}

// decodedAssertion is a client assertion taken apart.
type decodedAssertion struct {
	header    map[string]any
	claims    map[string]json.RawMessage
	signature []byte
}

func decodeAssertion(t *testing.T, raw string) decodedAssertion {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a compact JWS", raw)
	}
	var d decodedAssertion
	for i, dst := range []any{&d.header, &d.claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("assertion part %d: %v", i, err)
		}
	}
	var err error
	if d.signature, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d decodedAssertion) number(t *testing.T, name string) int64 {
	t.Helper()
	var n int64
	if err := json.Unmarshal(d.claims[name], &n); err != nil {
		t.Fatalf("claim %s = %s: %v", name, d.claims[name], err)
	}
	return n
}

func (d decodedAssertion) str(t *testing.T, name string) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(d.claims[name], &s); err != nil {
		t.Fatalf("claim %s = %s is not a string: %v", name, d.claims[name], err)
	}
	return s
}

// TestClientAssertionAuth logs in, refreshes and revokes as a client that
// authenticates with client assertions, for each kind of key, against
// oidctest, which verifies each assertion. Then it reads what was sent:
// exactly one client authentication per request, and an assertion with the
// claims and header RFC 7523 and RFC 7523bis ask for, a new one each time.
func TestClientAssertionAuth(t *testing.T) {
	hsm := &hsmKey{key: p256Key()}
	tests := []struct {
		name      string
		method    client.AuthMethod
		key       crypto.Signer
		keyID     string   // Config.PrivateKeyID
		algs      []string // the provider's token_endpoint_auth_signing_alg_values_supported; nil: oidctest's
		wantAlg   string   // of the assertions
		wantSig   int      // signature length; 0: not checked
		tokenAud  bool     // Config.AssertionAudienceTokenEndpoint
		wantSigns *hsmKey
	}{
		{name: "RSA", method: client.AuthPrivateKeyJWT, key: rsaKey(), wantAlg: "RS256", wantSig: 256},
		{name: "RSA, provider lists only PS256", method: client.AuthPrivateKeyJWT, key: rsaKey(), algs: []string{"PS256", "ES256"}, wantAlg: "PS256", wantSig: 256},
		{name: "RSA, provider lists none", method: client.AuthPrivateKeyJWT, key: rsaKey(), algs: []string{}, wantAlg: "RS256", wantSig: 256},
		{name: "P-256", method: client.AuthPrivateKeyJWT, key: p256Key(), wantAlg: "ES256", wantSig: 64},
		{name: "P-384", method: client.AuthPrivateKeyJWT, key: p384Key(), wantAlg: "ES384", wantSig: 96},
		{name: "Ed25519", method: client.AuthPrivateKeyJWT, key: edKey(), wantAlg: "EdDSA", wantSig: 64},
		{name: "Ed25519, provider lists only the fully-specified name", method: client.AuthPrivateKeyJWT, key: edKey(), algs: []string{"Ed25519"}, wantAlg: "Ed25519", wantSig: 64},
		{name: "key in an HSM, kid configured", method: client.AuthPrivateKeyJWT, key: hsm, keyID: "hsm-key-2026", wantAlg: "ES256", wantSig: 64, wantSigns: hsm},
		{name: "aud the token endpoint", method: client.AuthPrivateKeyJWT, key: p256Key(), wantAlg: "ES256", tokenAud: true},
		{name: "client_secret_jwt", method: client.AuthClientSecretJWT, wantAlg: "HS256", wantSig: 32},
		{name: "client_secret_jwt, provider lists HS384 first", method: client.AuthClientSecretJWT, algs: []string{"HS384", "HS256"}, wantAlg: "HS256", wantSig: 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registered := oidctest.Client{ID: "assertive", AuthMethod: string(tt.method)}
			if tt.method == client.AuthClientSecretJWT {
				registered.Secret = "a-client-secret-of-forty-bytes-012345678"
			} else {
				jwks, err := client.PublicJWKS(tt.key, tt.keyID)
				if err != nil {
					t.Fatal(err)
				}
				registered.JWKS = jwks
			}
			op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{registered}, AlwaysIssueRefreshToken: true})
			t.Cleanup(op.Close)
			if tt.algs != nil {
				op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) {
					if len(tt.algs) == 0 {
						delete(d, "token_endpoint_auth_signing_alg_values_supported")
					} else {
						d["token_endpoint_auth_signing_alg_values_supported"] = tt.algs
					}
				}})
			}
			now := time.Now().Truncate(time.Second)
			rec := &recorder{}
			rp, err := client.New(testContext(t), client.Config{
				Issuer: op.URL, ClientID: registered.ID, ClientSecret: registered.Secret,
				RedirectURL: "http://127.0.0.1/callback", AuthMethod: tt.method,
				PrivateKey: tt.key, PrivateKeyID: tt.keyID, AssertionAudienceTokenEndpoint: tt.tokenAud,
				HTTPClient: &http.Client{Transport: rec, Timeout: 10 * time.Second},
				Now:        func() time.Time { return now },
			})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			t.Cleanup(func() { rp.Close() })

			tokens, err := login(t, rp, client.AuthRequest{})
			if err != nil {
				t.Fatalf("login: %v", err)
			}
			if _, err := rp.Refresh(testContext(t), tokens.RefreshToken, tokens.RawIDToken); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if err := rp.Revoke(testContext(t), tokens.RefreshToken, "refresh_token"); err != nil {
				t.Fatalf("Revoke: %v", err)
			}
			if s := op.Stats(); s.ClientAssertions != 3 || s.FailedGrants != 0 {
				t.Fatalf("provider stats %+v, want 3 assertions accepted", s)
			}

			wantKid := tt.keyID
			if wantKid == "" && tt.key != nil {
				wantKid = rp.Config().PrivateKeyID
				var set struct{ Keys []struct{ Kid string } }
				json.Unmarshal(must(client.PublicJWKS(tt.key, "")), &set)
				if wantKid == "" || wantKid != set.Keys[0].Kid {
					t.Errorf("default key ID %q, want the thumbprint %q", wantKid, set.Keys[0].Kid)
				}
			}
			wantAud := op.URL
			if tt.tokenAud {
				wantAud = op.URL + "/token"
			}
			sent := rec.requests()
			if paths := []string{sent[0].path, sent[1].path, sent[2].path}; len(sent) != 3 || !slices.Equal(paths, []string{"/token", "/token", "/revoke"}) {
				t.Fatalf("requests sent: %+v", sent)
			}
			jtis := map[string]bool{}
			for _, s := range sent {
				switch {
				case s.header.Get("Authorization") != "":
					t.Errorf("%s: an Authorization header with an assertion", s.path)
				case s.form.Has("client_secret"):
					t.Errorf("%s: a client_secret with an assertion", s.path)
				case s.form.Get("client_id") != registered.ID:
					t.Errorf("%s: client_id %q", s.path, s.form.Get("client_id"))
				case s.form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
					t.Errorf("%s: client_assertion_type %q", s.path, s.form.Get("client_assertion_type"))
				case len(s.form["client_assertion"]) != 1:
					t.Fatalf("%s: %d assertions", s.path, len(s.form["client_assertion"]))
				}
				a := decodeAssertion(t, s.form.Get("client_assertion"))
				if a.header["alg"] != tt.wantAlg || a.header["typ"] != "JWT" {
					t.Errorf("header %v, want alg %s", a.header, tt.wantAlg)
				}
				if kid, has := a.header["kid"]; tt.method == client.AuthPrivateKeyJWT && kid != wantKid || tt.method == client.AuthClientSecretJWT && has {
					t.Errorf("header kid %v, want %q", kid, wantKid)
				}
				if tt.wantSig != 0 && len(a.signature) != tt.wantSig {
					t.Errorf("signature of %d bytes, want %d", len(a.signature), tt.wantSig)
				}
				if iss, sub := a.str(t, "iss"), a.str(t, "sub"); iss != registered.ID || sub != registered.ID {
					t.Errorf("iss %q sub %q, want the client ID", iss, sub)
				}
				if aud := a.str(t, "aud"); aud != wantAud { // a string, never an array
					t.Errorf("aud %q, want %q", aud, wantAud)
				}
				iat, exp := a.number(t, "iat"), a.number(t, "exp")
				if iat != now.Unix() || exp <= iat || exp-iat > 300 {
					t.Errorf("iat %d exp %d, want iat %d and exp at most 5 minutes later", iat, exp, now.Unix())
				}
				jti := a.str(t, "jti")
				if len(jti) < 22 || jtis[jti] {
					t.Errorf("jti %q short or reused", jti)
				}
				jtis[jti] = true
			}
			if tt.wantSigns != nil && tt.wantSigns.signs != 3 {
				t.Errorf("the HSM signed %d times, want 3", tt.wantSigns.signs)
			}
		})
	}
}

// TestClientAssertionRetry: a request tried again carries a new assertion.
// The provider records each assertion's jti before it fails the grant, so
// sending the first again would be refused as a replay.
func TestClientAssertionRetry(t *testing.T) {
	registered := oidctest.Client{ID: "pkj", AuthMethod: oidctest.AuthPrivateKeyJWT, JWKS: must(client.PublicJWKS(p256Key(), ""))}
	op, rp := newRP(t, oidctest.Config{Clients: []oidctest.Client{registered}, AlwaysIssueRefreshToken: true}, func(c *client.Config) {
		c.ClientSecret, c.PrivateKey = "", p256Key()
	})
	tokens, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return 503, "temporarily_unavailable" }})
	if _, err := rp.Refresh(testContext(t), tokens.RefreshToken, tokens.RawIDToken); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("first try: %v", err)
	}
	op.SetHooks(oidctest.Hooks{})
	if _, err := rp.Refresh(testContext(t), tokens.RefreshToken, tokens.RawIDToken); err != nil {
		t.Fatalf("second try: %v", err)
	}
	if s := op.Stats(); s.ClientAssertions != 3 || s.AssertionReplays != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// TestClientAssertionSignerFails: a key in an HSM that fails makes the
// request fail with ErrClientAssertion, before anything is sent.
func TestClientAssertionSignerFails(t *testing.T) {
	hsm := &hsmKey{key: rsaKey()}
	registered := oidctest.Client{ID: "pkj", AuthMethod: oidctest.AuthPrivateKeyJWT, JWKS: must(client.PublicJWKS(hsm, ""))}
	op, rp := newRP(t, oidctest.Config{Clients: []oidctest.Client{registered}, AlwaysIssueRefreshToken: true}, func(c *client.Config) {
		c.ClientSecret, c.PrivateKey = "", hsm
	})
	tokens, err := login(t, rp, client.AuthRequest{})
	if err != nil {
		t.Fatal(err)
	}
	errDown := errors.New("hsm: unreachable")
	hsm.mu.Lock()
	hsm.down = errDown
	hsm.mu.Unlock()
	_, err = rp.Refresh(testContext(t), tokens.RefreshToken, "")
	if !errors.Is(err, client.ErrClientAssertion) || !errors.Is(err, errDown) {
		t.Fatalf("err = %v, want ErrClientAssertion wrapping the signer's", err)
	}
	if err := rp.Revoke(testContext(t), tokens.RefreshToken, ""); !errors.Is(err, client.ErrClientAssertion) {
		t.Fatalf("Revoke: err = %v", err)
	}
	if s := op.Stats(); s.RefreshGrants != 0 || s.FailedGrants != 0 || s.Revocations != 0 {
		t.Fatalf("something was sent: %+v", s)
	}
}

// TestClientAuthConfig refuses, at New, configurations that cannot
// authenticate: each is ErrInvalidConfig.
func TestClientAuthConfig(t *testing.T) {
	secret := oidctest.DefaultClient.Secret // 34 bytes
	tests := []struct {
		name string
		cfg  client.Config
		doc  func(map[string]any) // edits the provider's metadata
		also error
	}{
		{name: "private_key_jwt without a key", cfg: client.Config{AuthMethod: client.AuthPrivateKeyJWT}},
		{name: "client_secret_jwt without a secret", cfg: client.Config{AuthMethod: client.AuthClientSecretJWT}},
		{name: "client_secret_jwt with a short secret", cfg: client.Config{AuthMethod: client.AuthClientSecretJWT, ClientSecret: strings.Repeat("s", 31)}},
		{name: "RSA of 1024 bits", cfg: client.Config{PrivateKey: rsaSmall()}, also: client.ErrKeyUnsupported},
		{name: "P-521", cfg: client.Config{PrivateKey: p521Key()}, also: client.ErrKeyUnsupported},
		{name: "a key for Basic", cfg: client.Config{AuthMethod: client.AuthClientSecretBasic, ClientSecret: secret, PrivateKey: p256Key()}},
		{name: "a key and a secret, no method", cfg: client.Config{ClientSecret: secret, PrivateKey: p256Key()}},
		{name: "a secret for private_key_jwt", cfg: client.Config{AuthMethod: client.AuthPrivateKeyJWT, ClientSecret: secret, PrivateKey: p256Key()}},
		{name: "a key ID without a key", cfg: client.Config{PrivateKeyID: "k"}},
		{name: "RSA, provider signs only ES256", cfg: client.Config{PrivateKey: rsaKey()},
			doc: func(d map[string]any) { d["token_endpoint_auth_signing_alg_values_supported"] = []string{"ES256"} }},
		{name: "P-384, provider signs only ES256", cfg: client.Config{PrivateKey: p384Key()},
			doc: func(d map[string]any) {
				d["token_endpoint_auth_signing_alg_values_supported"] = []string{"ES256", "RS256"}
			}},
		{name: "client_secret_jwt, provider signs only RS256", cfg: client.Config{AuthMethod: client.AuthClientSecretJWT, ClientSecret: secret},
			doc: func(d map[string]any) { d["token_endpoint_auth_signing_alg_values_supported"] = []string{"RS256"} }},
		{name: "client_secret_jwt, HS512 needs a longer secret", cfg: client.Config{AuthMethod: client.AuthClientSecretJWT, ClientSecret: secret},
			doc: func(d map[string]any) { d["token_endpoint_auth_signing_alg_values_supported"] = []string{"HS512"} }},
		{name: "provider without private_key_jwt", cfg: client.Config{PrivateKey: p256Key()},
			doc: func(d map[string]any) { d["token_endpoint_auth_methods_supported"] = []string{"client_secret_basic"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := oidctest.NewServer(oidctest.Config{})
			defer op.Close()
			if tt.doc != nil {
				op.SetHooks(oidctest.Hooks{Discovery: tt.doc})
			}
			cfg := tt.cfg
			cfg.Issuer, cfg.ClientID, cfg.RedirectURL = op.URL, "c", "http://127.0.0.1/cb"
			rp, err := client.New(testContext(t), cfg)
			if !errors.Is(err, client.ErrInvalidConfig) {
				rp.Close()
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			if tt.also != nil && !errors.Is(err, tt.also) {
				t.Errorf("err = %v, want also %v", err, tt.also)
			}
		})
	}

	t.Run("a key alone means private_key_jwt, its kid the thumbprint", func(t *testing.T) {
		_, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.ClientSecret, c.PrivateKey = "", edKey() })
		cfg := rp.Config()
		var set struct{ Keys []struct{ Kid string } }
		json.Unmarshal(must(client.PublicJWKS(edKey(), "")), &set)
		if cfg.AuthMethod != client.AuthPrivateKeyJWT || cfg.PrivateKeyID != set.Keys[0].Kid {
			t.Fatalf("config %v", cfg)
		}
	})
}

// TestPublicJWKS publishes each kind of key: the public half only, its kid,
// and "use":"sig".
func TestPublicJWKS(t *testing.T) {
	for _, key := range []crypto.Signer{rsaKey(), p256Key(), p384Key(), edKey()} {
		t.Run(fmt.Sprintf("%T", key), func(t *testing.T) {
			b, err := client.PublicJWKS(key, "kid-1")
			if err != nil {
				t.Fatal(err)
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("%s: %v", b, err)
			}
			k := set.Keys[0]
			if k["kid"] != "kid-1" || k["use"] != "sig" || k["kty"] == nil {
				t.Errorf("JWK %v", k)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Errorf("JWK has the private member %s", private)
				}
			}
		})
	}
	for _, bad := range []crypto.Signer{rsaSmall(), p521Key(), nil} {
		if _, err := client.PublicJWKS(bad, ""); !errors.Is(err, client.ErrInvalidKey) {
			t.Errorf("%T: err = %v", bad, err)
		}
	}
}

// TestPrivateKeyRedacted prints a configuration with a private key, and a
// parsed key, every way a log might: the private scalar never shows.
func TestPrivateKeyRedacted(t *testing.T) {
	parsed, err := client.ParsePrivateKey(pemOf(t, "PRIVATE KEY", pkcs8(t, p256Key())))
	if err != nil {
		t.Fatal(err)
	}
	cfg := client.Config{ClientID: "c", AuthMethod: client.AuthPrivateKeyJWT, PrivateKey: p256Key()}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "cfg", cfg, "key", parsed, "keyValue", *parsed)
	j1, _ := json.Marshal(cfg)
	j2, _ := json.Marshal(parsed)
	out := fmt.Sprintf("%v %+v %#v %v %+v %#v %v %s", cfg, cfg, cfg, parsed, parsed, parsed, *parsed, *parsed) + string(j1) + string(j2) + logged.String()
	d := p256Key().D
	for _, secret := range []string{d.String(), d.Text(16), base64.RawURLEncoding.EncodeToString(d.Bytes())} {
		if strings.Contains(out, secret) {
			t.Fatalf("private key printed:\n%s", out)
		}
	}
	if !strings.Contains(out, "[redacted]") || !strings.Contains(out, "ECDSA P-256") {
		t.Errorf("no redaction marker or key type:\n%s", out)
	}
}
