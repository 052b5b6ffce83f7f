package oidctest_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

// push sends q to the PAR endpoint as c (Basic) and returns the answer.
func push(t *testing.T, op *oidctest.Server, c oidctest.Client, q url.Values) reply {
	t.Helper()
	return post(t, op.URL+"/par", q, []string{c.ID, c.Secret})
}

// TestPAR: a pushed request's request_uri stands for its parameters once;
// unpushed requests are refused where PAR is required; what cannot be
// pushed is refused.
func TestPAR(t *testing.T) {
	c := confidential("par-client")
	strict := c
	strict.ID, strict.RequirePushedAuthorizationRequests = "strict-client", true
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c, strict}})
	p := newPKCE()

	r := push(t, op, c, authParams(c.ID, p))
	if r.Status != http.StatusCreated {
		t.Fatalf("push: %s", r)
	}
	uri, _ := r.JSON(t)["request_uri"].(string)
	front := url.Values{"client_id": {c.ID}, "request_uri": {uri}}
	code, err := codeFrom(authorize(t, op, front))
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := tokenRequest(op, c, authBasic, codeForm(code, p)); err != nil || resp.Status != http.StatusOK {
		t.Fatalf("code of a pushed request: %v %v", resp, err)
	}
	if r := authorize(t, op, front); r.Status != http.StatusBadRequest {
		t.Fatalf("request_uri used twice: %s", r)
	}
	if st := op.Stats(); st.PushedRequests != 1 {
		t.Fatalf("stats %+v", st)
	}

	// Another client's request_uri.
	r = push(t, op, c, authParams(c.ID, p))
	uri, _ = r.JSON(t)["request_uri"].(string)
	if r := authorize(t, op, url.Values{"client_id": {strict.ID}, "request_uri": {uri}}); r.Status != http.StatusBadRequest {
		t.Fatalf("another client's request_uri: %s", r)
	}

	// A client that must push.
	loc := authorize(t, op, authParams(strict.ID, p)).Location()
	if loc == nil || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("unpushed request of a client that must push: %v", loc)
	}

	for name, edit := range map[string]func(url.Values){
		"request_uri pushed":  func(q url.Values) { q.Set("request_uri", "urn:x") },
		"redirect_uri absent": func(q url.Values) { q.Del("redirect_uri") },
		"parameter repeated":  func(q url.Values) { q.Add("scope", "openid") },
	} {
		q := authParams(c.ID, p)
		edit(q)
		if r := push(t, op, c, q); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_request" {
			t.Errorf("%s: %s", name, r)
		}
	}
	if r := post(t, op.URL+"/par", authParams(c.ID, p), []string{c.ID, "wrong"}); r.Status != http.StatusUnauthorized {
		t.Errorf("wrong secret: %s", r)
	}
}

// TestPARExpires: a request_uri is valid for a minute.
func TestPARExpires(t *testing.T) {
	clk := newClock()
	c := confidential("par-client")
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}, Now: clk.Now})
	r := push(t, op, c, authParams(c.ID, newPKCE()))
	uri, _ := r.JSON(t)["request_uri"].(string)
	if exp := r.JSON(t)["expires_in"]; exp != float64(60) {
		t.Fatalf("expires_in %v", exp)
	}
	clk.Advance(61 * time.Second)
	if r := authorize(t, op, url.Values{"client_id": {c.ID}, "request_uri": {uri}}); r.Status != http.StatusBadRequest {
		t.Fatalf("expired request_uri: %s", r)
	}
}

// TestFormPost: response_mode=form_post answers with a page that posts
// the response to the redirect URI.
func TestFormPost(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	q := authParams(oidctest.DefaultClient.ID, newPKCE())
	q.Set("response_mode", "form_post")
	r := authorize(t, op, q)
	body := string(r.Body)
	if r.Status != http.StatusOK || !strings.Contains(body, `<form method="post" action="`+callback+`">`) ||
		!strings.Contains(body, `name="code"`) || !strings.Contains(body, `name="state" value="state-123"`) || !strings.Contains(body, ".submit()") {
		t.Fatalf("form_post answer: %s", r)
	}
	q.Set("response_mode", "fragment")
	if loc := authorize(t, op, q).Location(); loc == nil || loc.Query().Get("error") != "invalid_request" {
		t.Fatalf("unknown response_mode: %v", loc)
	}
}

// dpopCode logs in with dpop_jkt set to key's thumbprint and returns the
// code and its PKCE verifier.
func dpopCode(t *testing.T, op *oidctest.Server, c oidctest.Client, jkt string) (string, pkce) {
	t.Helper()
	p := newPKCE()
	q := authParams(c.ID, p)
	if jkt != "" {
		q.Set("dpop_jkt", jkt)
	}
	code, err := codeFrom(authorize(t, op, q))
	if err != nil {
		t.Fatal(err)
	}
	return code, p
}

// TestDPoPTokenEndpoint: a valid proof binds the tokens (token_type DPoP,
// cnf.jkt), and each malformed or misused proof is refused with
// invalid_dpop_proof; without the server's nonce, use_dpop_nonce and the
// nonce.
func TestDPoPTokenEndpoint(t *testing.T) {
	c := confidential("dpop-client")
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}, AlwaysIssueRefreshToken: true})
	key := oidctest.NewDPoPKey("")
	tokenURL := op.URL + "/token"
	proof := func(edit func(*oidctest.DPoPProof)) string {
		p := oidctest.DPoPProof{Method: "POST", URL: tokenURL}
		if edit != nil {
			edit(&p)
		}
		return key.Proof(p)
	}
	redeem := func(code string, p pkce, header ...string) reply {
		t.Helper()
		return post(t, tokenURL, codeForm(code, p), []string{c.ID, c.Secret}, header...)
	}

	code, p := dpopCode(t, op, c, key.Thumbprint())
	r := redeem(code, p, "DPoP", proof(nil))
	if r.Status != http.StatusOK || r.JSON(t)["token_type"] != "DPoP" {
		t.Fatalf("code with a proof: %s", r)
	}
	at, _ := r.JSON(t)["access_token"].(string)
	_, claims := mustVerify(t, op, at)
	if cnf, _ := claims["cnf"].(map[string]any); cnf["jkt"] != key.Thumbprint() {
		t.Fatalf("access token cnf %v, want jkt %s", claims["cnf"], key.Thumbprint())
	}
	rt, _ := r.JSON(t)["refresh_token"].(string)
	other := oidctest.NewDPoPKey("")
	if r := post(t, tokenURL, refreshForm(rt), []string{c.ID, c.Secret}, "DPoP", other.Proof(oidctest.DPoPProof{Method: "POST", URL: tokenURL})); r.Status != http.StatusBadRequest {
		t.Fatalf("refresh with another key: %s", r)
	}
	if r := post(t, tokenURL, refreshForm(rt), []string{c.ID, c.Secret}); r.Status != http.StatusBadRequest {
		t.Fatalf("refresh without a proof: %s", r)
	}

	code, p = dpopCode(t, op, c, key.Thumbprint())
	if r := redeem(code, p, "DPoP", other.Proof(oidctest.DPoPProof{Method: "POST", URL: tokenURL})); r.Status != http.StatusBadRequest {
		t.Fatalf("code bound by dpop_jkt, proof of another key: %s", r)
	}

	replayed := proof(nil)
	code, p = dpopCode(t, op, c, "")
	redeem(code, p, "DPoP", replayed)
	for name, bad := range map[string]string{
		"replayed jti": replayed,
		"wrong htm":    proof(func(p *oidctest.DPoPProof) { p.Method = "GET" }),
		"wrong htu":    proof(func(p *oidctest.DPoPProof) { p.URL = op.URL + "/userinfo" }),
		"old iat":      proof(func(p *oidctest.DPoPProof) { p.IssuedAt = time.Now().Add(-5 * time.Minute) }),
		"typ JWT":      proof(func(p *oidctest.DPoPProof) { p.Edit = func(h, _ map[string]any) { h["typ"] = "JWT" } }),
		"no jti":       proof(func(p *oidctest.DPoPProof) { p.Edit = func(_, c map[string]any) { delete(c, "jti") } }),
		"private jwk": proof(func(p *oidctest.DPoPProof) {
			p.Edit = func(h, _ map[string]any) { h["jwk"].(map[string]any)["d"] = "AAAA" }
		}),
		"not a JWT": "not.a.jwt",
	} {
		code, p := dpopCode(t, op, c, "")
		if r := redeem(code, p, "DPoP", bad); r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "invalid_dpop_proof" {
			t.Errorf("%s: %s", name, r)
		}
	}
}

// TestDPoPNonce: with Config.DPoPNonce, a proof without the nonce, or with
// an old one, is answered use_dpop_nonce with the nonce: 400 at the token
// endpoint, 401 with a DPoP challenge at userinfo.
func TestDPoPNonce(t *testing.T) {
	c := confidential("dpop-client")
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}, DPoPNonce: true})
	key := oidctest.NewDPoPKey("")
	tokenURL := op.URL + "/token"
	code, p := dpopCode(t, op, c, "")
	r := post(t, tokenURL, codeForm(code, p), []string{c.ID, c.Secret}, "DPoP", key.Proof(oidctest.DPoPProof{Method: "POST", URL: tokenURL}))
	nonce := r.Header.Get("DPoP-Nonce")
	if r.Status != http.StatusBadRequest || r.JSON(t)["error"] != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("proof without a nonce: %s, nonce %q", r, nonce)
	}
	r = post(t, tokenURL, codeForm(code, p), []string{c.ID, c.Secret}, "DPoP", key.Proof(oidctest.DPoPProof{Method: "POST", URL: tokenURL, Nonce: nonce}))
	if r.Status != http.StatusOK {
		t.Fatalf("proof with the nonce: %s", r)
	}
	at, _ := r.JSON(t)["access_token"].(string)
	op.RotateDPoPNonce()
	call := func(proof string, scheme string) reply {
		t.Helper()
		return get(t, op.URL+"/userinfo", "Authorization", scheme+" "+at, "DPoP", proof)
	}
	r = call(key.Proof(oidctest.DPoPProof{Method: "GET", URL: op.URL + "/userinfo", AccessToken: at, Nonce: nonce}), "DPoP")
	newNonce := r.Header.Get("DPoP-Nonce")
	if r.Status != http.StatusUnauthorized || !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="use_dpop_nonce"`) || newNonce == "" || newNonce == nonce {
		t.Fatalf("userinfo with an old nonce: %s %q %q", r, r.Header.Get("WWW-Authenticate"), newNonce)
	}
	if r := call(key.Proof(oidctest.DPoPProof{Method: "GET", URL: op.URL + "/userinfo", AccessToken: at, Nonce: newNonce}), "DPoP"); r.Status != http.StatusOK {
		t.Fatalf("userinfo with the new nonce: %s", r)
	}
	if r := call(key.Proof(oidctest.DPoPProof{Method: "GET", URL: op.URL + "/userinfo", AccessToken: "another", Nonce: newNonce}), "DPoP"); r.Status != http.StatusUnauthorized {
		t.Fatalf("proof with another token's ath: %s", r)
	}
	if r := call("", "Bearer"); r.Status != http.StatusUnauthorized {
		t.Fatalf("bound token as Bearer: %s", r)
	}
}
