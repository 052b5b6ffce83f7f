package resource_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// origin is the external origin of the API under test.
const origin = "https://api.example.test"

// clock is real time plus an offset the test moves (testutil.RealClock),
// so that the replay cache, which keeps real time, agrees with it.
type clock = testutil.Clock

func testContext(t testing.TB) context.Context { return testutil.Context(t) }

// api is a provider and a Verifier of its tokens.
type api struct {
	op    *oidctest.Server
	v     *resource.Verifier
	clock *clock
}

// newAPI starts a provider and a Verifier for DefaultAudience at origin,
// introspecting as the provider's default client; edit changes its Config.
func newAPI(t testing.TB, pcfg oidctest.Config, edit func(*resource.Config)) *api {
	t.Helper()
	c := testutil.RealClock()
	if pcfg.Now == nil {
		pcfg.Now = c.Now
	}
	op := oidctest.NewServer(pcfg)
	t.Cleanup(op.Close)
	p, err := discovery.New(testContext(t), discovery.Config{Issuer: op.URL, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	cfg := resource.Config{
		Provider:     p,
		Audience:     oidctest.DefaultAudience,
		Origin:       origin,
		ClientID:     op.Client().ID,
		ClientSecret: op.Client().Secret,
		Now:          c.Now,
		Logger:       slog.New(slog.DiscardHandler),
	}
	if edit != nil {
		edit(&cfg)
	}
	v, err := resource.New(testContext(t), cfg)
	if err != nil {
		t.Fatalf("resource.New: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return &api{op: op, v: v, clock: c}
}

// request is a GET of path on the API with an Authorization header (none
// if authz is "") and DPoP proofs.
func request(method, path, authz string, proofs ...string) *http.Request {
	r := httptest.NewRequest(method, origin+path, nil)
	r.RequestURI = r.URL.RequestURI() // as a server receives it, in origin form
	if authz != "" {
		r.Header.Set("Authorization", authz)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

// answer is what Require answered.
type answer struct {
	status     int
	challenges []string // WWW-Authenticate values
	body       map[string]string
	header     http.Header
	token      *resource.Token // what the handler saw, if it ran
}

// challenge returns the challenge of scheme, or "".
func (a answer) challenge(scheme string) string {
	for _, c := range a.challenges {
		if c == scheme || strings.HasPrefix(c, scheme+" ") {
			return c
		}
	}
	return ""
}

// serve sends r through Require(scopes) to a handler that records the token.
func (a *api) serve(r *http.Request, scopes ...string) answer {
	return serveHandler(func(next http.Handler) http.Handler { return a.v.Require(next, scopes...) }, r)
}

// serveHandler sends r through the middleware require makes, to a handler
// that records the token.
func serveHandler(require func(http.Handler) http.Handler, r *http.Request) answer {
	var got answer
	h := require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.token, _ = resource.TokenFrom(r.Context())
		w.WriteHeader(http.StatusOK)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	got.status = rec.Code
	got.header = rec.Header()
	got.challenges = rec.Header().Values("WWW-Authenticate")
	if rec.Code != http.StatusOK {
		json.Unmarshal(rec.Body.Bytes(), &got.body)
	}
	return got
}

// check asserts that a request made by mk fails Authenticate with want
// (nil: succeeds) and that Require answers another such request with
// status. mk is called twice: DPoP proofs are used once.
func (a *api) check(t *testing.T, mk func() *http.Request, want error, status int) (*resource.Token, answer) {
	t.Helper()
	tok, err := a.v.Authenticate(mk())
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("Authenticate: err = %v, want %v", err, want)
	}
	if want != nil && tok != nil {
		t.Fatalf("Authenticate returned a token with an error")
	}
	if got := resource.ErrorStatus(err); want != nil && got != status {
		t.Fatalf("ErrorStatus = %d, want %d", got, status)
	}
	ans := a.serve(mk())
	if ans.status != status {
		t.Fatalf("Require answered %d (%v %v), want %d", ans.status, ans.challenges, ans.body, status)
	}
	if status == http.StatusOK && ans.token == nil {
		t.Fatal("the handler got no token")
	}
	return tok, ans
}

// b64json is v as JSON, base64url-encoded: a JWS part.
func b64json(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}
