package client_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/internal/jws"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestDPoPKeyRoundTrip(t *testing.T) {
	for _, alg := range []string{"", "ES256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			k, err := client.NewDPoPKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			if want := map[string]string{"": "ES256"}[alg]; want != "" && k.Algorithm() != want || want == "" && k.Algorithm() != alg {
				t.Fatalf("Algorithm = %s", k.Algorithm())
			}
			raw, _ := k.MarshalBinary()
			back, err := client.ParseDPoPKey(raw)
			if err != nil {
				t.Fatal(err)
			}
			if back.Thumbprint() != k.Thumbprint() || back.Algorithm() != k.Algorithm() {
				t.Fatalf("round trip changed the key: %v, %v", back, k)
			}
			// The thumbprint is RFC 7638's, as go-jose computes it.
			sum, err := (&jose.JSONWebKey{Key: k.Public()}).Thumbprint(crypto.SHA256)
			if err != nil || base64.RawURLEncoding.EncodeToString(sum) != k.Thumbprint() {
				t.Fatalf("thumbprint %s, go-jose says %x (%v)", k.Thumbprint(), sum, err)
			}
			// It redacts itself.
			secret := base64.RawURLEncoding.EncodeToString(raw[1:])
			var logged bytes.Buffer
			slog.New(slog.NewTextHandler(&logged, nil)).Info("key", "k", k)
			js, _ := json.Marshal(k)
			for _, s := range []string{k.String(), fmt.Sprintf("%#v", k), fmt.Sprintf("%v", k), string(js), logged.String()} {
				if strings.Contains(s, secret) || strings.Contains(s, fmt.Sprintf("%x", raw[1:])) || !strings.Contains(s, "redacted") {
					t.Errorf("not redacted: %s", s)
				}
			}
		})
	}
}

// TestParseDPoPKey: each malformed compact key is refused with ErrDPoPKey.
func TestParseDPoPKey(t *testing.T) {
	es, _ := client.NewDPoPKey("ES256")
	good, _ := es.MarshalBinary()
	tests := map[string][]byte{
		"empty":                  nil,
		"algorithm only":         {1},
		"unknown algorithm":      append([]byte{9}, good[1:]...),
		"P-256 scalar too short": good[:32],
		"P-256 scalar too long":  append(append([]byte{}, good...), 0),
		"P-256 scalar zero":      append([]byte{1}, make([]byte, 32)...),
		"P-256 scalar over n":    append([]byte{1}, bytes.Repeat([]byte{0xff}, 32)...),
		"P-384 scalar of P-256":  append([]byte{2}, good[1:]...),
		"Ed25519 seed too short": append([]byte{3}, make([]byte, 31)...),
		"Ed25519 seed too long":  append([]byte{3}, make([]byte, 33)...),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			k, err := client.ParseDPoPKey(data)
			if !errors.Is(err, client.ErrDPoPKey) || !errors.Is(err, client.ErrDPoP) {
				t.Fatalf("ParseDPoPKey = %v, %v; want ErrDPoPKey", k, err)
			}
		})
	}
	if _, err := client.NewDPoPKey("RS256"); !errors.Is(err, client.ErrDPoPKey) {
		t.Fatalf("NewDPoPKey(RS256) = %v, want ErrDPoPKey", err)
	}
}

// proofServer records the DPoP proofs it receives; answer decides each
// answer (n counts requests from 1).
type proofServer struct {
	*httptest.Server
	mu     sync.Mutex // guards proofs and bodies
	proofs []string
	bodies []string
}

func newProofServer(t *testing.T, answer func(n int, w http.ResponseWriter)) *proofServer {
	ps := &proofServer{}
	ps.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ps.mu.Lock()
		ps.proofs = append(ps.proofs, r.Header.Get("DPoP"))
		ps.bodies = append(ps.bodies, string(body))
		n := len(ps.proofs)
		ps.mu.Unlock()
		if got := r.Header.Get("Authorization"); got != "DPoP the-token" {
			t.Errorf("Authorization %q", got)
		}
		answer(n, w)
	}))
	t.Cleanup(ps.Close)
	return ps
}

// decodeProof verifies a proof's signature with the key of its header and
// returns its header and claims.
func decodeProof(t *testing.T, proof string) (jws.Header, map[string]any) {
	t.Helper()
	tok, err := jws.Parse(proof)
	if err != nil {
		t.Fatalf("proof: %v", err)
	}
	var key jose.JSONWebKey
	if err := key.UnmarshalJSON(tok.Header.JWK); err != nil || !key.IsPublic() {
		t.Fatalf("proof's jwk: %v (public %v)", err, key.IsPublic())
	}
	if err := tok.Verify(key.Key); err != nil {
		t.Fatalf("proof's signature: %v", err)
	}
	var claims map[string]any
	json.Unmarshal(tok.Payload, &claims)
	return tok.Header, claims
}

func nonceChallenge(nonce string) func(int, http.ResponseWriter) {
	return func(n int, w http.ResponseWriter) {
		w.Header().Set("DPoP-Nonce", fmt.Sprintf("%s-%d", nonce, n))
		if n == 1 {
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "ok")
	}
}

// TestDPoPRoundTrip: a proof per request, with the claims RFC 9449 section
// 4.2 asks for; a use_dpop_nonce 401 is retried once with the nonce, a new
// jti and the body again; the nonce is kept for that origin only.
func TestDPoPRoundTrip(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, nil)
	key, _ := client.NewDPoPKey("")
	ps := newProofServer(t, nonceChallenge("n"))
	req, _ := http.NewRequest(http.MethodPost, ps.URL+"/api/items?page=2#frag", strings.NewReader("the body"))
	resp, err := rp.DPoPRoundTrip(http.DefaultTransport, req, key, "the-token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(ps.proofs) != 2 {
		t.Fatalf("status %d after %d requests, want 200 after 2", resp.StatusCode, len(ps.proofs))
	}
	if ps.bodies[1] != "the body" {
		t.Fatalf("the retry's body %q", ps.bodies[1])
	}
	sum := sha256.Sum256([]byte("the-token"))
	var jtis []any
	for i, proof := range ps.proofs {
		h, c := decodeProof(t, proof)
		if h.Typ != "dpop+jwt" || h.Alg != "ES256" {
			t.Errorf("proof %d header %+v", i, h)
		}
		if c["htm"] != "POST" || c["htu"] != ps.URL+"/api/items" || c["ath"] != base64.RawURLEncoding.EncodeToString(sum[:]) || c["iat"] == nil || c["jti"] == "" {
			t.Errorf("proof %d claims %v", i, c)
		}
		if want := map[int]any{0: nil, 1: "n-1"}[i]; c["nonce"] != want {
			t.Errorf("proof %d nonce %v, want %v", i, c["nonce"], want)
		}
		jtis = append(jtis, c["jti"])
	}
	if jtis[0] == jtis[1] {
		t.Fatal("the retry reused the jti")
	}

	// The origin's nonce is remembered: the next request carries the
	// latest at once. Another origin's requests do not get it.
	req, _ = http.NewRequest(http.MethodGet, ps.URL+"/other", nil)
	resp, _ = rp.DPoPRoundTrip(http.DefaultTransport, req, key, "the-token")
	resp.Body.Close()
	if _, c := decodeProof(t, ps.proofs[2]); c["nonce"] != "n-2" || len(ps.proofs) != 3 {
		t.Fatalf("next request: nonce %v after %d requests", c["nonce"], len(ps.proofs))
	}
	other := newProofServer(t, func(int, http.ResponseWriter) {})
	req, _ = http.NewRequest(http.MethodGet, other.URL, nil)
	resp, _ = rp.DPoPRoundTrip(http.DefaultTransport, req, key, "the-token")
	resp.Body.Close()
	if _, c := decodeProof(t, other.proofs[0]); c["nonce"] != nil {
		t.Fatalf("another origin got nonce %v", c["nonce"])
	}
}

// TestDPoPRoundTripRetriesOnce: a server that keeps asking for a new nonce
// gets two requests, and the caller the second 401; a 401 without a nonce,
// or with another error, is not retried; a body that cannot be sent again
// is not retried.
func TestDPoPRoundTripRetriesOnce(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, nil)
	key, _ := client.NewDPoPKey("")
	tests := map[string]struct {
		answer   func(int, http.ResponseWriter)
		body     io.Reader
		requests int
	}{
		"always a new nonce": {answer: func(n int, w http.ResponseWriter) {
			w.Header().Set("DPoP-Nonce", fmt.Sprint("n", n))
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			w.WriteHeader(http.StatusUnauthorized)
		}, requests: 2},
		"no nonce header": {answer: func(n int, w http.ResponseWriter) {
			w.Header().Set("WWW-Authenticate", `DPoP error="use_dpop_nonce"`)
			w.WriteHeader(http.StatusUnauthorized)
		}, requests: 1},
		"invalid_token": {answer: func(n int, w http.ResponseWriter) {
			w.Header().Set("DPoP-Nonce", "n")
			w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token"`)
			w.WriteHeader(http.StatusUnauthorized)
		}, requests: 1},
		"a Bearer challenge": {answer: func(n int, w http.ResponseWriter) {
			w.Header().Set("DPoP-Nonce", "n")
			w.Header().Set("WWW-Authenticate", `Bearer error="use_dpop_nonce"`)
			w.WriteHeader(http.StatusUnauthorized)
		}, requests: 1},
		"body not replayable": {answer: nonceChallenge("n"), body: io.MultiReader(strings.NewReader("x")), requests: 1},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			ps := newProofServer(t, tc.answer)
			req, _ := http.NewRequest(http.MethodPut, ps.URL, tc.body)
			resp, err := rp.DPoPRoundTrip(http.DefaultTransport, req, key, "the-token")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || len(ps.proofs) != tc.requests {
				t.Fatalf("status %d after %d requests, want 401 after %d", resp.StatusCode, len(ps.proofs), tc.requests)
			}
		})
	}
}

// dpopLogin logs in through the provider with a DPoP flow and returns the
// tokens.
func dpopLogin(t *testing.T, op *oidctest.Server, rp *client.RP) *client.Tokens {
	t.Helper()
	u, flow, err := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{Scopes: []string{"openid", "offline_access"}})
	if err != nil {
		t.Fatal(err)
	}
	if flow.DPoPKey == nil || !strings.Contains(u, "dpop_jkt="+flow.DPoPKey.Thumbprint()) {
		t.Fatalf("flow key %v, URL %s", flow.DPoPKey, u)
	}
	tokens, err := rp.Callback(testContext(t), flow, authorize(t, u))
	if err != nil {
		t.Fatal(err)
	}
	return tokens
}

// TestDPoPTokens: with Config.DPoP, the code exchange (after the
// provider's nonce challenge), refresh and userinfo carry proofs of the
// login's key, and the tokens are DPoP tokens bound to it; refreshing
// with another key, or none, fails; a bound token sent as Bearer is
// rejected.
func TestDPoPTokens(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{DPoPNonce: true, AlwaysIssueRefreshToken: true, RotateRefreshTokens: true},
		func(c *client.Config) { c.DPoP = true })
	tokens := dpopLogin(t, op, rp)
	if tokens.TokenType != "DPoP" || tokens.DPoPKey == nil {
		t.Fatalf("tokens %v, key %v", tokens, tokens.DPoPKey)
	}
	if st := op.Stats(); st.DPoPProofs != 1 || st.DPoPNonceChallenges != 1 || st.CodeGrants != 1 {
		t.Fatalf("stats %+v: want one nonce challenge, then one proof and grant", st)
	}
	if _, err := rp.UserInfoDPoP(testContext(t), tokens.DPoPKey, tokens.AccessToken, tokens.IDToken.Subject); err != nil {
		t.Fatalf("UserInfoDPoP: %v", err)
	}
	if _, err := rp.UserInfo(testContext(t), tokens.AccessToken, tokens.IDToken.Subject); !errors.Is(err, client.ErrAccessTokenRejected) {
		t.Fatalf("UserInfo with a bound token as Bearer: %v", err)
	}
	other, _ := client.NewDPoPKey("")
	if _, err := rp.RefreshDPoP(testContext(t), other, tokens.RefreshToken, tokens.RawIDToken); !errors.Is(err, client.ErrInvalidGrant) {
		t.Fatalf("refresh with another key: %v", err)
	}
	if _, err := rp.Refresh(testContext(t), tokens.RefreshToken, tokens.RawIDToken); !errors.Is(err, client.ErrInvalidGrant) {
		t.Fatalf("refresh without a key: %v", err)
	}
	refreshed, err := rp.RefreshDPoP(testContext(t), tokens.DPoPKey, tokens.RefreshToken, tokens.RawIDToken)
	if err != nil || refreshed.TokenType != "DPoP" || refreshed.DPoPKey != tokens.DPoPKey {
		t.Fatalf("RefreshDPoP = %v, %v", refreshed, err)
	}
	op.RotateDPoPNonce()
	if _, err := rp.UserInfoDPoP(testContext(t), tokens.DPoPKey, refreshed.AccessToken, tokens.IDToken.Subject); err != nil {
		t.Fatalf("UserInfoDPoP after the nonce rotated: %v", err)
	}
}

// TestDPoPNotBound: when the provider advertises DPoP, a Bearer token
// where DPoP was asked for fails with ErrDPoPNotBound; from one that does
// not, it is taken unbound; a DPoP token where none was asked for is
// refused; a provider whose proof algorithms the client cannot sign is
// refused at New.
func TestDPoPNotBound(t *testing.T) {
	bearer := oidctest.Hooks{TokenResponse: func(_ string, resp map[string]any) { resp["token_type"] = "Bearer" }}
	t.Run("advertised", func(t *testing.T) {
		op, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.DPoP = true })
		op.SetHooks(bearer)
		u, flow, _ := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{})
		if _, err := rp.Callback(testContext(t), flow, authorize(t, u)); !errors.Is(err, client.ErrDPoPNotBound) {
			t.Fatalf("Callback = %v, want ErrDPoPNotBound", err)
		}
	})
	t.Run("not advertised", func(t *testing.T) {
		op := oidctest.NewServer(oidctest.Config{})
		t.Cleanup(op.Close)
		op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { delete(d, "dpop_signing_alg_values_supported") },
			TokenResponse: bearer.TokenResponse})
		rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: op.Client().ID, ClientSecret: op.Client().Secret,
			RedirectURL: "http://127.0.0.1/callback", DPoP: true})
		if err != nil {
			t.Fatal(err)
		}
		defer rp.Close()
		u, flow, _ := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{})
		tokens, err := rp.Callback(testContext(t), flow, authorize(t, u))
		if err != nil || tokens.TokenType != "Bearer" || tokens.DPoPKey != nil {
			t.Fatalf("Callback = %v (key %v), %v", tokens, tokens.DPoPKey, err)
		}
	})
	t.Run("DPoP unasked", func(t *testing.T) {
		op, rp := newRP(t, oidctest.Config{}, nil)
		op.SetHooks(oidctest.Hooks{TokenResponse: func(_ string, resp map[string]any) { resp["token_type"] = "DPoP" }})
		u, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
		if _, err := rp.Callback(testContext(t), flow, authorize(t, u)); !errors.Is(err, client.ErrProviderResponse) {
			t.Fatalf("Callback = %v, want ErrProviderResponse", err)
		}
	})
	t.Run("algorithms", func(t *testing.T) {
		for algs, want := range map[string]string{"RS256 PS256": "", "EdDSA RS256": "EdDSA", "ES384": "ES384", "RS256 ES256 EdDSA": "ES256"} {
			op := oidctest.NewServer(oidctest.Config{})
			t.Cleanup(op.Close)
			op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["dpop_signing_alg_values_supported"] = strings.Fields(algs) }})
			rp, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: op.Client().ID, ClientSecret: op.Client().Secret,
				RedirectURL: "http://127.0.0.1/callback", DPoP: true})
			if want == "" {
				if !errors.Is(err, client.ErrInvalidConfig) {
					t.Errorf("%s: New = %v, want ErrInvalidConfig", algs, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", algs, err)
			}
			_, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
			if flow.DPoPKey.Algorithm() != want {
				t.Errorf("%s: key %s, want %s", algs, flow.DPoPKey.Algorithm(), want)
			}
			rp.Close()
		}
	})
}

// TestDPoPTokenEndpointNonce: use_dpop_nonce from the token endpoint is
// retried once, with a new client assertion and proof; without a nonce in
// the answer, it is not retried.
func TestDPoPTokenEndpointNonce(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{DPoPNonce: true}, func(c *client.Config) {
		c.DPoP = true
		c.AuthMethod = client.AuthClientSecretJWT
	})
	dpopLogin(t, op, rp)
	if st := op.Stats(); st.DPoPNonceChallenges != 1 || st.ClientAssertions != 2 || st.AssertionReplays != 0 || st.FailedGrants != 1 {
		t.Fatalf("stats %+v: a challenge, then a second, fresh assertion accepted (no jti replay)", st)
	}
	op.SetHooks(oidctest.Hooks{TokenError: func(string) (int, string) { return 400, "use_dpop_nonce" }})
	u, flow, _ := rp.AuthCodeURLContext(testContext(t), client.AuthRequest{})
	before := op.Stats().FailedGrants
	_, err := rp.Callback(testContext(t), flow, authorize(t, u))
	var te *client.TokenError
	if !errors.As(err, &te) || te.Code != "use_dpop_nonce" || op.Stats().FailedGrants-before != 1 {
		t.Fatalf("Callback = %v after %d requests, want one use_dpop_nonce TokenError", err, op.Stats().FailedGrants-before)
	}
}

// TestDPoPFlowCarriesKey: a Flow's compact form keeps its DPoP key, and a
// Flow without one keeps the compact form builds before DPoP wrote.
func TestDPoPFlowCarriesKey(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.DPoP = true })
	_, flow, err := rp.AuthCodeURL(client.AuthRequest{ReturnTo: "/x"})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := flow.MarshalBinary()
	var back client.Flow
	if err := back.UnmarshalBinary(b); err != nil || back.DPoPKey == nil || back.DPoPKey.Thumbprint() != flow.DPoPKey.Thumbprint() || back.State != flow.State {
		t.Fatalf("UnmarshalBinary = %v, %+v", err, back)
	}
	b[len(b)-1] ^= 0xff // the key's last byte: another scalar, or none
	if err := back.UnmarshalBinary(b[:len(b)-2]); !errors.Is(err, client.ErrMalformedFlow) {
		t.Fatalf("truncated key: %v", err)
	}
	flow.DPoPKey = nil
	b, _ = flow.MarshalBinary()
	if b[0] != 1 {
		t.Fatalf("a flow without a key has version %d, want 1", b[0])
	}
}

func TestParseDPoPNonce(t *testing.T) {
	tests := []struct {
		values []string
		want   string
		ok     bool
	}{
		{[]string{"eyJ7S_zG.eyJH0-Z.HX4w-7v"}, "eyJ7S_zG.eyJH0-Z.HX4w-7v", true},
		{nil, "", false},
		{[]string{""}, "", false},
		{[]string{"a", "b"}, "", false},
		{[]string{"has space"}, "", false},
		{[]string{`quote"d`}, "", false},
		{[]string{`back\slash`}, "", false},
		{[]string{"tab\t"}, "", false},
		{[]string{"é"}, "", false},
		{[]string{strings.Repeat("n", 512)}, strings.Repeat("n", 512), true},
		{[]string{strings.Repeat("n", 513)}, "", false},
	}
	for _, tc := range tests {
		got, ok := client.ParseDPoPNonce(http.Header{"Dpop-Nonce": tc.values})
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseDPoPNonce(%q) = %q, %v; want %q, %v", tc.values, got, ok, tc.want, tc.ok)
		}
	}
}

func TestDPoPError(t *testing.T) {
	tests := []struct {
		header []string
		code   string
		ok     bool
	}{
		{[]string{`DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"`}, "use_dpop_nonce", true},
		{[]string{`DPoP algs="ES256 PS256", error=invalid_token`}, "invalid_token", true},
		{[]string{`Bearer realm="x", DPoP error="use_dpop_nonce"`}, "use_dpop_nonce", true},
		{[]string{`Bearer realm="x"`, `dpop Error="use_dpop_nonce"`}, "use_dpop_nonce", true},
		{[]string{`Bearer error="use_dpop_nonce"`}, "", false},
		{[]string{`DPoP realm="a, b", error="invalid_token"`}, "invalid_token", true},
		{[]string{`DPoP error="esc\"aped"`}, `esc"aped`, true},
		{[]string{`DPoP`}, "", true},
		{[]string{`Newauth abc==, DPoP error="use_dpop_nonce"`}, "use_dpop_nonce", true},
		{[]string{`DPoP error="unterminated`}, "", true},
		{[]string{`DPoP error=`}, "", true},
		{[]string{strings.Repeat("x", 5000) + `, DPoP error="use_dpop_nonce"`}, "", false},
		{nil, "", false},
	}
	for _, tc := range tests {
		code, ok := client.DPoPError(http.Header{"Www-Authenticate": tc.header})
		if code != tc.code || ok != tc.ok {
			t.Errorf("DPoPError(%q) = %q, %v; want %q, %v", tc.header, code, ok, tc.code, tc.ok)
		}
	}
}

// FuzzDPoPNonce: whatever the header, nothing panics, and a nonce accepted
// is 1 to 512 characters of NQCHAR.
func FuzzDPoPNonce(f *testing.F) {
	for _, s := range []string{"abc", "", "a b", `"`, strings.Repeat("z", 600), "\x00", "nonce-ü"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		nonce, ok := client.ParseDPoPNonce(http.Header{"Dpop-Nonce": {v}})
		if !ok {
			return
		}
		if nonce != v || len(nonce) == 0 || len(nonce) > 512 || strings.ContainsAny(nonce, "\"\\ \t") {
			t.Fatalf("accepted %q as %q", v, nonce)
		}
		for i := 0; i < len(nonce); i++ {
			if nonce[i] < 0x21 || nonce[i] > 0x7e {
				t.Fatalf("accepted %q", v)
			}
		}
	})
}

// FuzzWWWAuthenticate: whatever the header, nothing panics; a DPoP
// challenge written with any token as its error is read back.
func FuzzWWWAuthenticate(f *testing.F) {
	for _, s := range []string{
		`DPoP error="use_dpop_nonce"`, `Bearer realm="a,b", DPoP algs="ES256", error=invalid_token`,
		`DPoP error="\"\\"`, `,,,DPoP ,error="x"`, `DPoP abc==`, `DPoP error="`, "DPoP error=\x00",
	} {
		f.Add(s, "use_dpop_nonce")
	}
	f.Fuzz(func(t *testing.T, header, code string) {
		client.DPoPError(http.Header{"Www-Authenticate": {header}})
		if code == "" || len(code) > 100 || strings.IndexFunc(code, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
		}) >= 0 {
			return
		}
		for _, v := range []string{`DPoP error="` + code + `"`, `Bearer realm="x", DPoP algs="ES256", error=` + code} {
			if got, ok := client.DPoPError(http.Header{"Www-Authenticate": {v}}); !ok || got != code {
				t.Fatalf("DPoPError(%q) = %q, %v", v, got, ok)
			}
		}
	})
}
