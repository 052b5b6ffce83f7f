package client_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// fakeEndpoints returns an RP whose device authorization and token
// endpoints answer with *status and *body.
func fakeEndpoints(f *testing.F, status *int, body *[]byte) *client.RP {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(*status)
		w.Write(*body)
	}))
	f.Cleanup(fake.Close)
	op := oidctest.NewServer(oidctest.Config{})
	f.Cleanup(op.Close)
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) {
		d["token_endpoint"] = fake.URL
		d["device_authorization_endpoint"] = fake.URL
	}})
	rp, err := client.New(testContextF(f), client.Config{Issuer: op.URL, ClientID: oidctest.DefaultClient.ID, ClientSecret: oidctest.DefaultClient.Secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rp.Close() })
	return rp
}

// FuzzDeviceAuthorizationResponse serves arbitrary device authorization
// responses. Nothing may panic; an accepted one has every required member,
// printable codes and http(s) URIs; a refused one a classified error.
func FuzzDeviceAuthorizationResponse(f *testing.F) {
	f.Add(200, []byte(`{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://op/device","verification_uri_complete":"https://op/device?c=1","expires_in":600,"interval":5}`))
	f.Add(200, []byte(`{"device_code":"d","user_code":"A","verification_url":"https://op/device","expires_in":600}`))
	f.Add(200, []byte(`{"device_code":"d","user_code":"\u001b[31m","verification_uri":"https://op/device","expires_in":600}`))
	f.Add(200, []byte(`{"device_code":"d","user_code":"A","verification_uri":"javascript:x","expires_in":600}`))
	f.Add(200, []byte(`{"device_code":"d","user_code":"A","verification_uri":"https://op/","expires_in":"600","interval":-1}`))
	f.Add(400, []byte(`{"error":"invalid_client"}`))
	var status int
	var body []byte
	rp := fakeEndpoints(f, &status, &body)
	f.Fuzz(func(t *testing.T, s int, b []byte) {
		status, body = 200+s%400, b
		if status < 200 {
			status += 400
		}
		auth, err := rp.DeviceAuthorization(t.Context(), client.DeviceRequest{})
		if err == nil {
			if auth.DeviceCode == "" || auth.UserCode == "" || auth.VerificationURI == "" || auth.Interval < 0 || auth.Expiry.IsZero() {
				t.Fatalf("%d %q accepted: %#v", status, b, auth)
			}
			for _, r := range auth.UserCode + auth.VerificationURI + auth.VerificationURIComplete {
				if r < ' ' || r == 0x7f {
					t.Fatalf("%q accepted with a control character: %#v", b, auth)
				}
			}
			return
		}
		var te *client.TokenError
		if !errors.Is(err, client.ErrProviderResponse) && !errors.Is(err, client.ErrProviderUnavailable) && !errors.As(err, &te) {
			t.Fatalf("%d %q: unclassified error %v", status, b, err)
		}
	})
}

// FuzzTokenExchangeResponse serves arbitrary token exchange responses.
// Nothing may panic; an accepted one has a token and its issued type.
func FuzzTokenExchangeResponse(f *testing.F) {
	f.Add(200, []byte(`{"access_token":"a","issued_token_type":"urn:ietf:params:oauth:token-type:access_token","token_type":"Bearer","expires_in":60}`))
	f.Add(200, []byte(`{"access_token":"a","issued_token_type":"urn:ietf:params:oauth:token-type:jwt","token_type":"N_A"}`))
	f.Add(200, []byte(`{"access_token":"a","token_type":"Bearer"}`))
	f.Add(200, []byte(`{"access_token":"a","issued_token_type":7,"token_type":"Bearer"}`))
	f.Add(400, []byte(`{"error":"invalid_target"}`))
	var status int
	var body []byte
	rp := fakeEndpoints(f, &status, &body)
	f.Fuzz(func(t *testing.T, s int, b []byte) {
		status, body = 200+s%400, b
		if status < 200 {
			status += 400
		}
		tok, err := rp.ExchangeToken(t.Context(), client.ExchangeRequest{SubjectToken: "s"})
		if err == nil {
			if tok.Token == "" || tok.IssuedTokenType == "" || tok.TokenType == "" {
				t.Fatalf("%d %q accepted: %v", status, b, tok)
			}
			return
		}
		var te *client.TokenError
		if !errors.Is(err, client.ErrProviderResponse) && !errors.Is(err, client.ErrProviderUnavailable) && !errors.As(err, &te) {
			t.Fatalf("%d %q: unclassified error %v", status, b, err)
		}
	})
}
