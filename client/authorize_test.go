package client_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestAuthCodeURL(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	raw, flow, err := rp.AuthCodeURL(client.AuthRequest{
		Prompt:    "login consent",
		MaxAge:    90*time.Second + 500*time.Millisecond,
		ACRValues: []string{"urn:mace:incommon:iap:silver", "mfa"},
		LoginHint: "alice@example.com",
		UILocales: []string{"fr-CA", "en"},
		Claims:    `{"id_token":{"email":{"essential":true}}}`,
		Extra:     url.Values{"resource": {"https://api.example.com/"}},
		ReturnTo:  "/after",
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(flow.Verifier))
	want := map[string]string{
		"client_id":             oidctest.DefaultClient.ID,
		"redirect_uri":          "http://127.0.0.1/callback",
		"response_type":         "code",
		"scope":                 "openid profile email",
		"state":                 flow.State,
		"nonce":                 flow.Nonce,
		"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
		"code_challenge_method": "S256",
		"prompt":                "login consent",
		"max_age":               "90",
		"acr_values":            "urn:mace:incommon:iap:silver mfa",
		"login_hint":            "alice@example.com",
		"ui_locales":            "fr-CA en",
		"claims":                `{"id_token":{"email":{"essential":true}}}`,
		"resource":              "https://api.example.com/",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(q) != len(want) {
		t.Errorf("URL has %d parameters, want %d: %s", len(q), len(want), raw)
	}
	if u.Scheme+"://"+u.Host+u.Path != op.URL+"/authorize" {
		t.Errorf("endpoint: %s", raw)
	}
	if len(flow.State) < 43 || len(flow.Nonce) < 43 || len(flow.Verifier) < 43 || flow.MaxAge != 90*time.Second || flow.ReturnTo != "/after" {
		t.Errorf("flow = %+v", flow)
	}
	// Each request gets fresh secrets.
	_, again, _ := rp.AuthCodeURL(client.AuthRequest{})
	if again.State == flow.State || again.Nonce == flow.Nonce || again.Verifier == flow.Verifier {
		t.Error("secrets reused across requests")
	}
	// Per-request scopes; offline access asks for consent (OpenID Connect
	// Core 11) unless the caller chose a prompt.
	raw, _, _ = rp.AuthCodeURL(client.AuthRequest{Scopes: []string{"email", "offline_access"}})
	if q := mustQuery(t, raw); q.Get("scope") != "openid email offline_access" || q.Get("prompt") != "consent" {
		t.Errorf("scope = %q, prompt = %q", q.Get("scope"), q.Get("prompt"))
	}
	raw, _, _ = rp.AuthCodeURL(client.AuthRequest{Scopes: []string{"offline_access"}, Prompt: "login"})
	if q := mustQuery(t, raw); q.Get("prompt") != "login" {
		t.Errorf("prompt = %q", q.Get("prompt"))
	}
	raw, _, _ = rp.AuthCodeURL(client.AuthRequest{})
	if q := mustQuery(t, raw); q.Has("prompt") {
		t.Errorf("prompt = %q without offline_access", q.Get("prompt"))
	}
}

func TestAuthCodeURLRejects(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, nil)
	for _, req := range []client.AuthRequest{
		{MaxAge: -time.Second},
		{Extra: url.Values{"state": {"mine"}}},
		{Extra: url.Values{"redirect_uri": {"https://evil.example.com"}}},
		{Extra: url.Values{"code_challenge_method": {"plain"}}},
	} {
		if _, _, err := rp.AuthCodeURL(req); !errors.Is(err, client.ErrInvalidConfig) {
			t.Errorf("%+v: err = %v", req, err)
		}
	}
}

func TestFlowEncoding(t *testing.T) {
	f := client.Flow{State: "s", Nonce: "n", Verifier: "v", MaxAge: time.Minute, IssuedAt: time.UnixMilli(1700000000123), ReturnTo: "/x?y=1"}
	b, err := f.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var g client.Flow
	if err := g.UnmarshalBinary(b); err != nil || g.State != f.State || g.Nonce != f.Nonce || g.Verifier != f.Verifier ||
		g.MaxAge != f.MaxAge || !g.IssuedAt.Equal(f.IssuedAt) || g.ReturnTo != f.ReturnTo {
		t.Fatalf("round trip: %+v, %v", g, err)
	}
	j, _ := json.Marshal(f)
	var h client.Flow
	if err := json.Unmarshal(j, &h); err != nil || h.State != "s" {
		t.Fatalf("JSON round trip: %s %v", j, err)
	}
	for _, bad := range [][]byte{nil, {}, {2}, b[:len(b)-1], append(b, 0), {1, 200}} {
		if err := g.UnmarshalBinary(bad); !errors.Is(err, client.ErrMalformedFlow) {
			t.Errorf("%v: err = %v", bad, err)
		}
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// TestFlowSecretsAlphabet: state, nonce and verifier are 43 characters of
// the unreserved alphabet RFC 7636 section 4.1 allows a code_verifier. (A
// verifier ending in a NUL byte once passed every test against oidctest and
// failed against oidc-provider.)
func TestFlowSecretsAlphabet(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, nil)
	for range 200 {
		_, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
		for _, s := range []string{flow.State, flow.Nonce, flow.Verifier} {
			if len(s) != 43 {
				t.Fatalf("%q: %d characters", s, len(s))
			}
			for _, c := range []byte(s) {
				if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
					t.Fatalf("%q has %q", s, c)
				}
			}
		}
	}
}
