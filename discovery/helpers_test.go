package discovery

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/internal/testutil"
)

// testTimeout bounds every wait of a test: a context, a poll, a goroutine.
const testTimeout = 5 * time.Second

// testContext returns a context that ends with the test or after
// testutil.Timeout.
func testContext(t testing.TB) context.Context { return testutil.Context(t) }

// clock is the tests' clock (testutil.Clock), which can also freeze a
// caller of Now at a known point (trapNext).
type clock struct {
	*testutil.Clock
	mu   sync.Mutex // guards trap
	trap *clockTrap
}

// clockTrap holds one call of clock.Now, to freeze its caller at a known point.
type clockTrap struct {
	entered chan struct{} // closed when a call is caught
	release chan struct{} // closed to let it return
}

func newClock() *clock {
	return &clock{Clock: testutil.NewClock(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	trap := c.trap
	c.trap = nil
	c.mu.Unlock()
	if trap != nil {
		close(trap.entered)
		<-trap.release
	}
	return c.Clock.Now()
}

// trapNext makes the next call of Now block until the trap is released.
func (c *clock) trapNext() *clockTrap {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.trap = &clockTrap{entered: make(chan struct{}), release: make(chan struct{})}
	return c.trap
}

// disarm removes trap if no call has sprung it, and reports whether it did.
func (c *clock) disarm(trap *clockTrap) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.trap == trap {
		c.trap = nil
		return true
	}
	return false
}

// fakeOP is a hand-written OpenID Provider: an httptest server that serves a
// discovery document at <issuer>/.well-known/openid-configuration and a key
// set at /jwks, counts the requests for each and can be told to misbehave.
type fakeOP struct {
	srv    *httptest.Server
	issuer string // srv.URL, the issuer the default document names

	docHits, jwksHits atomic.Int64

	mu         sync.Mutex     // guards the fields below
	doc        map[string]any // the discovery document, served as JSON
	docBody    []byte         // if non-nil, served instead of doc
	docStatus  int            // if non-zero, the status of the document response
	docHeader  http.Header    // added to the document response
	jwks       []jose.JSONWebKey
	jwksBody   []byte // if non-nil, served instead of jwks
	jwksStatus int
	jwksHeader http.Header
	redirects  map[string]string // path → Location of a 302 answered instead
	paths      []string          // the path of every request, in order
	gate       chan struct{}     // if non-nil, requests wait until it is closed
	arrived    chan string       // if non-nil, gets each request's path on arrival
}

func newFakeOP(t testing.TB) *fakeOP {
	t.Helper()
	return startFakeOP(t, httptest.NewServer)
}

// newFakeTLSOP is newFakeOP serving https; the client of op.config trusts
// its certificate.
func newFakeTLSOP(t testing.TB) *fakeOP {
	t.Helper()
	return startFakeOP(t, httptest.NewTLSServer)
}

func startFakeOP(t testing.TB, start func(http.Handler) *httptest.Server) *fakeOP {
	t.Helper()
	op := &fakeOP{}
	op.srv = start(op)
	op.issuer = op.srv.URL
	op.doc = op.defaultDoc(op.issuer)
	op.jwks = []jose.JSONWebKey{} // "keys": [], not null
	// Registered after the server, so it runs first: requests held at the
	// gate must be let go before srv.Close waits for them.
	t.Cleanup(op.srv.Close)
	t.Cleanup(op.release)
	return op
}

// defaultDoc is a minimal valid discovery document for issuer.
func (op *fakeOP) defaultDoc(issuer string) map[string]any {
	return map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                op.issuer + "/authorize",
		"token_endpoint":                        op.issuer + "/token",
		"userinfo_endpoint":                     op.issuer + "/userinfo",
		"jwks_uri":                              op.issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA", "PS256"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
}

// edit runs fn with op's fields locked.
func (op *fakeOP) edit(fn func()) {
	op.mu.Lock()
	defer op.mu.Unlock()
	fn()
}

// hold makes requests wait at the gate until release, and returns a channel
// on which every request announces its path as it arrives.
func (op *fakeOP) hold() <-chan string {
	op.mu.Lock()
	defer op.mu.Unlock()
	op.gate = make(chan struct{})
	op.arrived = make(chan string, 100)
	return op.arrived
}

// release lets held requests go; later requests are not held.
func (op *fakeOP) release() {
	op.mu.Lock()
	defer op.mu.Unlock()
	if op.gate != nil {
		close(op.gate)
		op.gate = nil
	}
}

func (op *fakeOP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	isDoc := strings.HasSuffix(r.URL.Path, WellKnownPath)
	isJWKS := r.URL.Path == "/jwks"
	switch {
	case isDoc:
		op.docHits.Add(1)
	case isJWKS:
		op.jwksHits.Add(1)
	}
	op.mu.Lock()
	op.paths = append(op.paths, r.URL.Path)
	gate, arrived := op.gate, op.arrived
	op.mu.Unlock()
	if arrived != nil {
		select {
		case arrived <- r.URL.Path:
		default:
		}
	}
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}

	op.mu.Lock()
	defer op.mu.Unlock()
	if loc, ok := op.redirects[r.URL.Path]; ok {
		http.Redirect(w, r, loc, http.StatusFound)
		return
	}
	var (
		body   []byte
		status int
		header http.Header
		err    error
	)
	switch {
	case isDoc:
		body, status, header = op.docBody, op.docStatus, op.docHeader
		if body == nil {
			body, err = json.Marshal(op.doc)
		}
	case isJWKS:
		body, status, header = op.jwksBody, op.jwksStatus, op.jwksHeader
		if body == nil {
			body, err = json.Marshal(jose.JSONWebKeySet{Keys: op.jwks})
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for name, values := range header {
		w.Header()[name] = values
	}
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
	}
	w.Write(body)
}

// publish replaces the provider's key set.
func (op *fakeOP) publish(keys ...testKey) {
	jwks := make([]jose.JSONWebKey, len(keys))
	for i, k := range keys {
		jwks[i] = k.jwk()
	}
	op.edit(func() { op.jwks = jwks })
}

// config is a Config for op with a fake clock and a bounded client.
func (op *fakeOP) config(clk *clock) Config {
	client := op.srv.Client()
	client.Timeout = testTimeout
	return Config{Issuer: op.issuer, HTTPClient: client, Now: clk.Now}
}

// mustNew discovers op, failing the test on error; the provider is closed
// when the test ends.
func mustNew(t testing.TB, cfg Config) *Provider {
	t.Helper()
	p, err := New(testContext(t), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitFor polls cond every millisecond until it holds, failing the test
// after testTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitIdle waits until p has no background refresh under way.
func waitIdle(t testing.TB, p *Provider) {
	t.Helper()
	waitFor(t, "background refreshes to end", func() bool {
		p.bg.mu.Lock()
		defer p.bg.mu.Unlock()
		return len(p.bg.running) == 0
	})
}

// backgroundRunning reports whether a background refresh named name is under way.
func backgroundRunning(p *Provider, name string) bool {
	p.bg.mu.Lock()
	defer p.bg.mu.Unlock()
	return p.bg.running[name]
}

// waitingContext closes entered the first time its Done method is called.
// flight.Group.Do calls Done only after the caller has started or joined the
// shared call, as it starts to wait for the result; so once entered is closed,
// the caller is one of the call's waiters.
type waitingContext struct {
	context.Context
	once    sync.Once
	entered chan struct{}
}

func newWaitingContext(ctx context.Context) *waitingContext {
	return &waitingContext{Context: ctx, entered: make(chan struct{})}
}

func (c *waitingContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.entered) })
	return c.Context.Done()
}

// testKey is a signing key and its public JWK.
type testKey struct {
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
	kid  string
}

// jwk is the key's public JWK as a provider publishes it.
func (k testKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// keyPool holds keys generated once per test binary: RSA key generation is
// slow, under the race detector especially.
var keyPool = sync.OnceValue(func() map[string]crypto.Signer {
	rsa1, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	rsa2, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	ec256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	ec256b, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	ec384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		panic(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return map[string]crypto.Signer{
		"rsa1": rsa1, "rsa2": rsa2,
		"ec256": ec256, "ec256b": ec256b, "ec384": ec384,
		"ed25519": ed,
	}
})

// key returns the pooled key name as a signing key for alg with key ID kid.
func key(name string, alg jose.SignatureAlgorithm, kid string) testKey {
	priv, ok := keyPool()[name]
	if !ok {
		panic("no test key " + name)
	}
	return testKey{alg: alg, priv: priv, kid: kid}
}

// sign returns payload signed by k as a compact JWS whose header names kid
// (none when kid is empty).
func sign(t testing.TB, k testKey, kid, payload string) string {
	t.Helper()
	return signWith(t, k.alg, k.priv, kid, payload)
}

// signWith signs payload with any key go-jose takes, such as an HMAC secret.
func signWith(t testing.TB, alg jose.SignatureAlgorithm, priv any, kid, payload string) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: priv}, opts)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	jws, err := signer.Sign([]byte(payload))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("CompactSerialize: %v", err)
	}
	return s
}
