package client_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// FuzzCallback feeds arbitrary callback queries to ParseAuthResponse and
// Callback. Nothing may panic, and no query without the flow's state may
// succeed.
func FuzzCallback(f *testing.F) {
	f.Add("code=abc&state=the-state&iss=x")
	f.Add("error=access_denied&error_description=%ZZ&state=the-state")
	f.Add("code=a&code=b&state=the-state")
	f.Add("state=the-state&iss=" + url.QueryEscape("http://127.0.0.1"))
	f.Add(";;&&==%00")
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(testContextF(f), client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret, RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		f.Fatal(err)
	}
	flow := client.Flow{State: "the-state", Nonce: "n", Verifier: "v"}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		client.ParseAuthResponse(q)
		tokens, err := rp.Callback(t.Context(), flow, q)
		if err == nil || tokens != nil {
			t.Fatalf("query %q accepted", raw)
		}
	})
}

// FuzzVerifyIDToken feeds arbitrary strings as ID tokens, and arbitrary
// JSON payloads signed with the provider's real key. Nothing may panic, and
// a payload is only accepted if it passes every claim check.
func FuzzVerifyIDToken(f *testing.F) {
	f.Add("eyJhbGciOiJub25lIn0.e30.", []byte(`{"sub":"x"}`))
	f.Add("a.b.c", []byte(`{"iss":1,"aud":[1,2],"exp":"x"}`))
	f.Add("", []byte(`{"exp":1e400,"iat":-1,"auth_time":null}`))
	f.Add("....", []byte(`[]`))
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(testContextF(f), client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string, payload []byte) {
		if tok, err := rp.VerifyIDToken(t.Context(), raw, client.IDTokenChecks{Nonce: "n"}); err == nil {
			t.Fatalf("%q accepted: %+v", raw, tok)
		}
		var claims map[string]any
		if json.Unmarshal(payload, &claims) != nil {
			return
		}
		signed := op.SignJWT(claims, "JWT")
		tok, err := rp.VerifyIDToken(t.Context(), signed, client.IDTokenChecks{Nonce: "n"})
		if err == nil && (tok.Subject == "" || tok.Issuer != op.URL || tok.Nonce != "n") {
			t.Fatalf("payload %s accepted: %+v", payload, tok)
		}
	})
}

// FuzzTokenResponse serves arbitrary bodies and statuses from the token
// endpoint. Nothing may panic; a refresh succeeds only with a Bearer access
// token, and fails with one of the package's classified errors.
func FuzzTokenResponse(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":"r","scope":"openid"}`))
	f.Add(200, []byte(`{"access_token":"a","token_type":"bearer","expires_in":null,"id_token":"x.y.z"}`))
	f.Add(200, []byte(`{"access_token":"a","token_type":"Bearer","expires_in":"60"}`))
	f.Add(200, []byte(`{"error":"invalid_grant","error_description":1}`))
	f.Add(400, []byte(`{"error":"invalid_grant"}`))
	f.Add(400, []byte(`{"error":["x"]}`))
	f.Add(500, []byte(`<html>`))
	f.Add(200, []byte(`{"access_token":"a","token_type":"Bearer","expires_in":1e400}`))
	var status int
	var body []byte
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}))
	defer fake.Close()
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { d["token_endpoint"] = fake.URL }})
	rp, err := client.New(testContextF(f), client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret, RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s int, b []byte) {
		status, body = 200+s%400, b // the fuzz function runs one input at a time
		if status < 200 {
			status += 400
		}
		tok, err := rp.Refresh(t.Context(), "rt", "")
		if err == nil {
			if tok.AccessToken == "" || tok.TokenType != "Bearer" {
				t.Fatalf("%d %q accepted: %+v", status, b, tok)
			}
			return
		}
		var te *client.TokenError
		if !errors.Is(err, client.ErrProviderResponse) && !errors.Is(err, client.ErrProviderUnavailable) && !errors.As(err, &te) &&
			!errors.Is(err, client.ErrMalformedToken) && !errors.Is(err, client.ErrInvalidSignature) && !errors.Is(err, client.ErrUnsupportedAlgorithm) {
			t.Fatalf("%d %q: unclassified error %v", status, b, err)
		}
	})
}
