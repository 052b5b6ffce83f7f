package resource_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// FuzzAuthorization feeds arbitrary Authorization and DPoP headers and
// query strings to Authenticate: nothing may panic, and nothing forged may
// pass.
func FuzzAuthorization(f *testing.F) {
	a := newAPI(f, oidctest.Config{}, func(c *resource.Config) { c.ClientID, c.ClientSecret = "", "" })
	b := a.bound("", false)
	valid := dpopRequest(b, "GET", "/", oidctest.DPoPProof{})()
	if _, err := a.v.Authenticate(valid.Clone(valid.Context())); err != nil { // its proof is used up
		f.Fatal(err)
	}
	f.Add("Bearer abc", "", "")
	f.Add("DPoP "+b.token, valid.Header.Get("DPoP"), "")
	f.Add("bearer  a.b.c==", "x.y.z", "access_token=x")
	f.Add("Bearer =", "", "access_token")
	f.Add("DPoP", "...", "%zz&access_token")
	f.Add("Basic Zm9vOmJhcg==", "", "")
	f.Fuzz(func(t *testing.T, authz, proof, query string) {
		r := request("GET", "/", "")
		r.URL.RawQuery = query
		r.Header["Authorization"] = []string{authz}
		if proof != "" {
			r.Header["Dpop"] = []string{proof}
		}
		if tok, err := a.v.Authenticate(r); err == nil {
			t.Fatalf("accepted %q with proof %q: %+v", authz, proof, tok)
		}
	})
}

// FuzzVerifyToken feeds arbitrary strings as access tokens, and arbitrary
// JSON payloads signed with the provider's key as at+jwt: nothing may
// panic, and a signed payload is accepted only if it passes every check.
func FuzzVerifyToken(f *testing.F) {
	a := newAPI(f, oidctest.Config{}, func(c *resource.Config) { c.ClientID, c.ClientSecret = "", "" })
	now := time.Now().Unix()
	f.Add("eyJhbGciOiJub25lIn0.e30.", []byte(`{"sub":"x"}`))
	f.Add("a.b.c", []byte(`{"iss":1,"aud":[1,2],"exp":"x"}`))
	f.Add("", []byte(`{"exp":1e400,"iat":-1,"nbf":null,"cnf":{"jkt":""}}`))
	f.Add("....", []byte(`{"iss":"`+a.op.URL+`","aud":"`+oidctest.DefaultAudience+`","sub":"s","exp":`+itoa(now+60)+`,"iat":`+itoa(now)+`}`))
	f.Fuzz(func(t *testing.T, raw string, payload []byte) {
		if tok, err := a.v.VerifyToken(t.Context(), raw); err == nil {
			t.Fatalf("%q accepted: %+v", raw, tok)
		}
		var claims map[string]any
		if json.Unmarshal(payload, &claims) != nil || claims == nil {
			return
		}
		tok, err := a.v.VerifyToken(t.Context(), a.op.SignJWT(claims, "at+jwt"))
		if err != nil {
			return
		}
		aud, _ := claims["aud"].(string)
		if auds, ok := claims["aud"].([]any); ok {
			aud = ""
			if slices.Contains(auds, any(oidctest.DefaultAudience)) {
				aud = oidctest.DefaultAudience
			}
		}
		exp, _ := claims["exp"].(float64)
		if claims["iss"] != a.op.URL || aud != oidctest.DefaultAudience || tok.Subject == "" || exp == 0 || claims["iat"] == nil {
			t.Fatalf("accepted claims %v", claims)
		}
	})
}

// FuzzProof feeds arbitrary DPoP proofs with a bound token, and proofs
// whose header and claims are arbitrary JSON signed with the bound key:
// nothing may panic, and no proof without the required claims may pass.
func FuzzProof(f *testing.F) {
	a := newAPI(f, oidctest.Config{}, nil)
	b := a.bound("", false)
	f.Add("e30.e30.", []byte(`{"typ":"dpop+jwt","alg":"ES256","jwk":{"kty":"EC","crv":"P-256","x":"","y":""}}`), []byte(`{}`))
	f.Add("a.b.c", []byte(`{"jwk":{"kty":"RSA","n":"AQAB","e":"AQAB"}}`), []byte(`{"htm":"GET","htu":"https://api.example.test/"}`))
	f.Add("", []byte(`{"jwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}`), []byte(`{"iat":1e400}`))
	f.Fuzz(func(t *testing.T, proof string, header, claims []byte) {
		r := request("GET", "/", "DPoP "+b.token, proof)
		if _, err := a.v.Authenticate(r); err == nil {
			t.Fatalf("proof %q accepted", proof)
		}
		var h, c map[string]any
		if json.Unmarshal(header, &h) != nil || json.Unmarshal(claims, &c) != nil || h == nil || c == nil {
			return
		}
		signed := b.key.Proof(oidctest.DPoPProof{Method: "GET", URL: origin + "/", Edit: func(hh, cc map[string]any) {
			clear(hh)
			clear(cc)
			for k, v := range h {
				hh[k] = v
			}
			for k, v := range c {
				cc[k] = v
			}
		}})
		if _, err := a.v.Authenticate(request("GET", "/", "DPoP "+b.token, signed)); err == nil {
			if c["ath"] == nil || c["jti"] == nil || c["htm"] != "GET" || c["iat"] == nil || h["typ"] == nil {
				t.Fatalf("proof with header %v and claims %v accepted", h, c)
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
