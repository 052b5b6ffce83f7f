package resource_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// bound is a DPoP key and an access token bound to it.
type bound struct {
	key   *oidctest.DPoPKey
	token string
}

func (a *api) bound(alg string, opaque bool) bound {
	k := oidctest.NewDPoPKey(alg)
	o := oidctest.AccessTokenOptions{JKT: k.Thumbprint()}
	if opaque {
		return bound{k, a.op.OpaqueAccessToken(o)}
	}
	return bound{k, a.op.AccessToken(o)}
}

// dpopRequest returns a maker of requests presenting b's token with the
// DPoP scheme and a fresh proof for method origin+path, edited by p.
func dpopRequest(b bound, method, path string, p oidctest.DPoPProof) func() *http.Request {
	return func() *http.Request {
		if p.Method == "" {
			p.Method = method
		}
		if p.URL == "" {
			p.URL = origin + path
		}
		if p.AccessToken == "" {
			p.AccessToken = b.token
		}
		return request(method, path, "DPoP "+b.token, b.key.Proof(p))
	}
}

// TestDPoPProofViolations presents a DPoP-bound token with a proof
// breaking each check of RFC 9449 section 4.3 and 7.1.
func TestDPoPProofViolations(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	b := a.bound("ES256", false)
	other := oidctest.NewDPoPKey("ES256")
	editHeader := func(f func(h map[string]any)) oidctest.DPoPProof {
		return oidctest.DPoPProof{Edit: func(h, _ map[string]any) { f(h) }}
	}
	editClaims := func(f func(c map[string]any)) oidctest.DPoPProof {
		return oidctest.DPoPProof{Edit: func(_, c map[string]any) { f(c) }}
	}
	tests := []struct {
		name string
		mk   func() *http.Request
		want error
	}{
		{"valid", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{}), nil},
		{"htu with a query and fragment", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{URL: origin + "/v1/things?a=1#f"}), nil},
		{"htu with upper-case host and default port", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{URL: "HTTPS://API.example.test:443/v1/things"}), nil},
		{"request with a query", dpopRequest(b, "GET", "/v1/things?page=2", oidctest.DPoPProof{URL: origin + "/v1/things"}), nil},
		{"forged Host header: htu is still our origin", func() *http.Request {
			r := dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{})()
			r.Host = "evil.example"
			return r
		}, nil},
		{"POST", dpopRequest(b, "POST", "/v1/things", oidctest.DPoPProof{}), nil},
		{"request target in absolute form", func() *http.Request {
			r := dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{})()
			r.RequestURI = "https://api.example.test/v1/things?x=1"
			return r
		}, nil},
		{"htu with an escaped path of another spelling", dpopRequest(b, "GET", "/v1/th%69ngs", oidctest.DPoPProof{URL: origin + "/v1/things"}), resource.ErrProofURL},
		{"no proof", func() *http.Request { return request("GET", "/v1/things", "DPoP "+b.token) }, resource.ErrProofMissing},
		{"two proofs", func() *http.Request {
			p := oidctest.DPoPProof{Method: "GET", URL: origin + "/v1/things", AccessToken: b.token}
			return request("GET", "/v1/things", "DPoP "+b.token, b.key.Proof(p), b.key.Proof(p))
		}, resource.ErrProofMalformed},
		{"proof over MaxTokenLength", func() *http.Request {
			return request("GET", "/v1/things", "DPoP "+b.token, strings.Repeat("a", 16<<10+1))
		}, resource.ErrProofMalformed},
		{"not a JWS", func() *http.Request { return request("GET", "/v1/things", "DPoP "+b.token, "proof") }, resource.ErrProofMalformed},
		{"typ JWT", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) { h["typ"] = "JWT" })), resource.ErrProofType},
		{"no typ", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) { delete(h, "typ") })), resource.ErrProofType},
		{"alg none", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) { h["alg"] = "none" })), resource.ErrProofAlgorithm},
		{"alg HS256", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) { h["alg"] = "HS256" })), resource.ErrProofAlgorithm},
		{"alg of another key type", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) { h["alg"] = "RS256" })), resource.ErrProofKey},
		{"no jwk", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) { delete(h, "jwk") })), resource.ErrProofKey},
		{"private key in the jwk", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) {
			h["jwk"].(map[string]any)["d"] = "AAAA"
		})), resource.ErrProofKey},
		{"jwk point off the curve", dpopRequest(b, "GET", "/v1/things", editHeader(func(h map[string]any) {
			h["jwk"].(map[string]any)["y"] = h["jwk"].(map[string]any)["x"]
		})), resource.ErrProofKey},
		{"jwk of another key than the token's", dpopRequest(bound{other, b.token}, "GET", "/v1/things", oidctest.DPoPProof{}), resource.ErrProofThumbprint},
		{"bad signature", func() *http.Request {
			r := dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{})()
			p := r.Header.Get("DPoP")
			i := strings.LastIndexByte(p, '.') + 2
			c := byte('A')
			if p[i] == 'A' {
				c = 'B'
			}
			r.Header.Set("DPoP", p[:i]+string(c)+p[i+1:])
			return r
		}, resource.ErrProofSignature},
		{"htm of another method", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{Method: "POST"}), resource.ErrProofMethod},
		{"htu of another path", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{URL: origin + "/v1/other"}), resource.ErrProofURL},
		{"htu of another origin", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{URL: "https://evil.example/v1/things"}), resource.ErrProofURL},
		{"htu of the forged Host", func() *http.Request {
			r := dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{URL: "https://evil.example/v1/things"})()
			r.Host = "evil.example"
			return r
		}, resource.ErrProofURL},
		{"htu over http", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{URL: "http://api.example.test/v1/things"}), resource.ErrProofURL},
		{"iat too old", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{IssuedAt: time.Now().Add(-2 * time.Minute)}), resource.ErrProofTime},
		{"iat in the future", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{IssuedAt: time.Now().Add(2 * time.Minute)}), resource.ErrProofTime},
		{"no iat", dpopRequest(b, "GET", "/v1/things", editClaims(func(c map[string]any) { delete(c, "iat") })), resource.ErrProofMalformed},
		{"no jti", dpopRequest(b, "GET", "/v1/things", editClaims(func(c map[string]any) { delete(c, "jti") })), resource.ErrProofMalformed},
		{"jti too long", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{JTI: strings.Repeat("j", 257)}), resource.ErrProofMalformed},
		{"ath of another token", dpopRequest(b, "GET", "/v1/things", oidctest.DPoPProof{AccessToken: "another-token"}), resource.ErrProofTokenHash},
		{"no ath", dpopRequest(b, "GET", "/v1/things", editClaims(func(c map[string]any) { delete(c, "ath") })), resource.ErrProofTokenHash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusOK
			if tt.want != nil {
				status = http.StatusUnauthorized
			}
			tok, ans := a.check(t, tt.mk, tt.want, status)
			if tt.want == nil {
				if tok.JKT != b.key.Thumbprint() {
					t.Fatalf("JKT = %q", tok.JKT)
				}
				return
			}
			if !errors.Is(tt.want, resource.ErrInvalidProof) || !errors.Is(tt.want, resource.ErrInvalidToken) {
				t.Fatalf("%v does not match ErrInvalidProof and ErrInvalidToken", tt.want)
			}
			c := ans.challenge("DPoP")
			if !strings.Contains(c, `error="invalid_dpop_proof"`) || !strings.Contains(c, `algs="`) {
				t.Errorf("DPoP challenge %q", c)
			}
			if bc := ans.challenge("Bearer"); bc != "Bearer" {
				t.Errorf("Bearer challenge %q, want a bare one", bc)
			}
			if ans.body["error"] != "invalid_dpop_proof" {
				t.Errorf("body %v", ans.body)
			}
		})
	}
}

// TestDPoPReplay checks that a proof works once: its jti is remembered.
func TestDPoPReplay(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	b := a.bound("", false)
	r := dpopRequest(b, "GET", "/x", oidctest.DPoPProof{})()
	if ans := a.serve(r.Clone(context.Background())); ans.status != http.StatusOK {
		t.Fatalf("first use: %d", ans.status)
	}
	if _, err := a.v.Authenticate(r.Clone(context.Background())); !errors.Is(err, resource.ErrProofReplay) {
		t.Fatalf("replay: %v", err)
	}
	// A proof failing another check does not use its jti up.
	p := oidctest.DPoPProof{Method: "GET", URL: origin + "/x", AccessToken: b.token, JTI: "j1"}
	wrong := p
	wrong.Method = "PUT"
	if _, err := a.v.Authenticate(request("GET", "/x", "DPoP "+b.token, b.key.Proof(wrong))); !errors.Is(err, resource.ErrProofMethod) {
		t.Fatal(err)
	}
	if _, err := a.v.Authenticate(request("GET", "/x", "DPoP "+b.token, b.key.Proof(p))); err != nil {
		t.Fatalf("jti used up by a failed proof: %v", err)
	}
}

// TestDPoPTokens checks the token side of DPoP: every proof algorithm, an
// opaque bound token (cnf.jkt from introspection), a bearer token sent with
// DPoP, a bound token sent as Bearer, and DPoP off.
func TestDPoPTokens(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, nil)
	for _, alg := range []string{"ES256", "ES384", "ES512", "RS256", "PS256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			a.check(t, dpopRequest(a.bound(alg, false), "GET", "/", oidctest.DPoPProof{}), nil, http.StatusOK)
		})
	}
	t.Run("opaque", func(t *testing.T) {
		b := a.bound("", true)
		tok, _ := a.check(t, dpopRequest(b, "GET", "/", oidctest.DPoPProof{}), nil, http.StatusOK)
		if !tok.Introspected || tok.JKT != b.key.Thumbprint() {
			t.Fatalf("token %+v", tok)
		}
	})
	t.Run("bearer token with the DPoP scheme", func(t *testing.T) {
		k := oidctest.NewDPoPKey("")
		_, ans := a.check(t, dpopRequest(bound{k, a.op.AccessToken(oidctest.AccessTokenOptions{})}, "GET", "/", oidctest.DPoPProof{}),
			resource.ErrNotBound, http.StatusUnauthorized)
		if c := ans.challenge("DPoP"); !strings.Contains(c, `error="invalid_token"`) {
			t.Errorf("DPoP challenge %q", c)
		}
	})
	t.Run("bound token as Bearer", func(t *testing.T) {
		b := a.bound("", false)
		_, ans := a.check(t, bearer(b.token), resource.ErrDPoPRequired, http.StatusUnauthorized)
		if c := ans.challenge("Bearer"); !strings.Contains(c, `error="invalid_token"`) {
			t.Errorf("Bearer challenge %q", c)
		}
		if c := ans.challenge("DPoP"); !strings.HasPrefix(c, "DPoP algs=") {
			t.Errorf("DPoP challenge %q", c)
		}
		if _, err := a.v.VerifyToken(testContext(t), b.token); !errors.Is(err, resource.ErrDPoPRequired) {
			t.Errorf("VerifyToken: %v", err)
		}
	})
	t.Run("DPoP off", func(t *testing.T) {
		off := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.Origin = "" })
		b := off.bound("", false)
		off.check(t, dpopRequest(b, "GET", "/", oidctest.DPoPProof{}), resource.ErrNoToken, http.StatusUnauthorized)
		_, ans := off.check(t, bearer(b.token), resource.ErrDPoPRequired, http.StatusUnauthorized)
		if len(ans.challenges) != 1 {
			t.Errorf("challenges %q, want Bearer only", ans.challenges)
		}
	})
}

// TestDPoPNonce checks resource-server nonces (RFC 9449 section 9): a
// proof without a current nonce is answered use_dpop_nonce with one.
func TestDPoPNonce(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.DPoPNonceKey = key; c.DPoPNonceLifetime = time.Minute })
	b := a.bound("", false)
	ans := a.serve(dpopRequest(b, "GET", "/", oidctest.DPoPProof{})())
	nonce := ans.header.Get("DPoP-Nonce")
	if ans.status != http.StatusUnauthorized || !strings.Contains(ans.challenge("DPoP"), `error="use_dpop_nonce"`) || nonce == "" ||
		ans.body["error"] != "use_dpop_nonce" {
		t.Fatalf("without a nonce: %d %q %v nonce %q", ans.status, ans.challenges, ans.body, nonce)
	}
	if _, err := a.v.Authenticate(dpopRequest(b, "GET", "/", oidctest.DPoPProof{})()); !errors.Is(err, resource.ErrProofNonce) {
		t.Fatalf("err = %v", err)
	}
	a.check(t, dpopRequest(b, "GET", "/", oidctest.DPoPProof{Nonce: nonce}), nil, http.StatusOK)
	a.check(t, dpopRequest(b, "GET", "/", oidctest.DPoPProof{Nonce: nonce + "x"}), resource.ErrProofNonce, http.StatusUnauthorized)
	// Another instance with the same key accepts it.
	other := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.DPoPNonceKey = key })
	ob := other.bound("", false)
	other.check(t, dpopRequest(ob, "GET", "/", oidctest.DPoPProof{Nonce: nonce}), nil, http.StatusOK)
	a.clock.Advance(time.Minute)
	a.check(t, dpopRequest(b, "GET", "/", oidctest.DPoPProof{Nonce: nonce, IssuedAt: a.clock.Now()}), resource.ErrProofNonce, http.StatusUnauthorized)
}

// failingReplay is a replay cache that is down.
type failingReplay struct{}

func (failingReplay) Use(context.Context, string, time.Time) (bool, error) {
	return false, errors.New("replay store down")
}

func TestDPoPReplayCacheDown(t *testing.T) {
	a := newAPI(t, oidctest.Config{}, func(c *resource.Config) { c.Replay = failingReplay{} })
	a.check(t, dpopRequest(a.bound("", false), "GET", "/", oidctest.DPoPProof{}), resource.ErrUnavailable, http.StatusServiceUnavailable)
}
