package oidctest_test

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

func TestClientCredentialsGrant(t *testing.T) {
	c := confidential("svc")
	public := oidctest.Client{ID: "cli"}
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c, public}})

	r := post(t, op.URL+"/token", url.Values{
		"grant_type": {"client_credentials"}, "scope": {"openid read write"},
		"resource": {"https://api.example.com/"},
	}, []string{c.ID, c.Secret})
	if r.Status != http.StatusOK {
		t.Fatalf("client_credentials: %s", r)
	}
	body := r.JSON(t)
	if body["scope"] != "read write" || body["refresh_token"] != nil || body["id_token"] != nil {
		t.Errorf("answer = %v, want scope without openid, no refresh or ID token", body)
	}
	_, claims := mustVerify(t, op, body["access_token"].(string))
	if claims["sub"] != c.ID || claims["client_id"] != c.ID || claims["aud"] != "https://api.example.com/" {
		t.Errorf("claims = %v, want sub and client_id %s, aud the resource", claims, c.ID)
	}
	if got := userinfo(t, op, body["access_token"].(string)); got.Status != http.StatusUnauthorized {
		t.Errorf("userinfo with a client's token: %s, want 401", got)
	}
	if n := op.Stats().ClientCredentialsGrants; n != 1 {
		t.Errorf("ClientCredentialsGrants = %d, want 1", n)
	}

	r = post(t, op.URL+"/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {public.ID}}, nil)
	wantOAuthError(t, r, http.StatusBadRequest, "unauthorized_client")
}

func TestDeviceGrant(t *testing.T) {
	clk := newClock()
	c := confidential("tv")
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}, Now: clk.Now, DeviceInterval: 2 * time.Second})
	start := func(t *testing.T) (deviceCode, userCode string, body map[string]any) {
		t.Helper()
		r := post(t, op.URL+"/device_authorization", url.Values{"scope": {"openid profile"}}, []string{c.ID, c.Secret})
		if r.Status != http.StatusOK {
			t.Fatalf("device_authorization: %s", r)
		}
		body = r.JSON(t)
		return body["device_code"].(string), body["user_code"].(string), body
	}
	poll := func(t *testing.T, deviceCode string) reply {
		t.Helper()
		return post(t, op.URL+"/token", url.Values{"grant_type": {oidctest.DeviceGrantType}, "device_code": {deviceCode}}, []string{c.ID, c.Secret})
	}

	t.Run("approved", func(t *testing.T) {
		dc, uc, body := start(t)
		if body["verification_uri"] != op.URL+"/device" || body["verification_uri_complete"] != op.URL+"/device?user_code="+url.QueryEscape(uc) ||
			body["interval"] != 2.0 || body["expires_in"] != 600.0 {
			t.Errorf("answer = %v", body)
		}
		wantOAuthError(t, poll(t, dc), http.StatusBadRequest, "authorization_pending")
		wantOAuthError(t, poll(t, dc), http.StatusBadRequest, "slow_down") // no time passed
		clk.Advance(7 * time.Second)                                       // 2 s + 5 s after slow_down
		if err := op.ApproveDevice(uc); err != nil {
			t.Fatal(err)
		}
		r := poll(t, dc)
		if r.Status != http.StatusOK || r.JSON(t)["id_token"] == nil {
			t.Fatalf("after approval: %s, want tokens with an ID token", r)
		}
		clk.Advance(10 * time.Second)
		wantOAuthError(t, poll(t, dc), http.StatusBadRequest, "invalid_grant") // used once
	})
	t.Run("denied", func(t *testing.T) {
		dc, uc, _ := start(t)
		if err := op.DenyDevice(uc); err != nil {
			t.Fatal(err)
		}
		wantOAuthError(t, poll(t, dc), http.StatusBadRequest, "access_denied")
		if err := op.ApproveDevice(uc); !errors.Is(err, oidctest.ErrUnknownUserCode) {
			t.Errorf("ApproveDevice after denial: %v, want ErrUnknownUserCode", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		dc, _, _ := start(t)
		clk.Advance(11 * time.Minute)
		wantOAuthError(t, poll(t, dc), http.StatusBadRequest, "expired_token")
	})
	t.Run("verification page", func(t *testing.T) {
		dc, uc, _ := start(t)
		if r := get(t, op.URL+"/device?user_code="+url.QueryEscape(uc)); r.Status != http.StatusOK {
			t.Fatalf("verification page: %s", r)
		}
		clk.Advance(3 * time.Second)
		if r := poll(t, dc); r.Status != http.StatusOK {
			t.Fatalf("after the page approved: %s", r)
		}
		if r := get(t, op.URL+"/device?user_code=NOPE-NOPE"); r.Status != http.StatusBadRequest {
			t.Errorf("unknown code: %s, want 400", r)
		}
	})
}

func TestTokenExchangeGrant(t *testing.T) {
	c := confidential("api-a")
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}})
	user := login(t, op, c, withScope("openid profile read"))
	exchange := func(form url.Values) reply {
		form.Set("grant_type", oidctest.TokenExchangeGrantType)
		return post(t, op.URL+"/token", form, []string{c.ID, c.Secret})
	}

	r := exchange(url.Values{
		"subject_token": {user.AccessToken}, "subject_token_type": {oidctest.TokenTypeAccessToken},
		"audience": {"api-b"}, "scope": {"read"},
	})
	if r.Status != http.StatusOK {
		t.Fatalf("exchange: %s", r)
	}
	body := r.JSON(t)
	if body["issued_token_type"] != oidctest.TokenTypeAccessToken || body["token_type"] != "Bearer" || body["scope"] != "read" {
		t.Errorf("answer = %v", body)
	}
	_, claims := mustVerify(t, op, body["access_token"].(string))
	if claims["sub"] != oidctest.DefaultUser.Subject || claims["aud"] != "api-b" || claims["client_id"] != c.ID {
		t.Errorf("claims = %v", claims)
	}

	r = exchange(url.Values{"subject_token": {user.IDToken}, "subject_token_type": {oidctest.TokenTypeIDToken}, "requested_token_type": {oidctest.TokenTypeJWT}})
	if r.Status != http.StatusOK || r.JSON(t)["issued_token_type"] != oidctest.TokenTypeJWT {
		t.Errorf("exchange of the ID token: %s", r)
	}
	wantOAuthError(t, exchange(url.Values{"subject_token": {user.AccessToken}, "subject_token_type": {oidctest.TokenTypeAccessToken}, "scope": {"admin"}}),
		http.StatusBadRequest, "invalid_scope")
	wantOAuthError(t, exchange(url.Values{"subject_token": {"forged"}, "subject_token_type": {oidctest.TokenTypeAccessToken}}),
		http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, exchange(url.Values{"subject_token": {user.AccessToken}}), http.StatusBadRequest, "invalid_request")
	if n := op.Stats().TokenExchanges; n != 2 {
		t.Errorf("TokenExchanges = %d, want 2", n)
	}
}

func TestLoopbackRedirectAnyPort(t *testing.T) {
	c := oidctest.Client{ID: "cli", RedirectURIs: []string{"http://127.0.0.1/callback"}}
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}})
	for uri, ok := range map[string]bool{
		"http://127.0.0.1:53117/callback": true,
		"http://127.0.0.1/callback":       true,
		"http://127.0.0.1:53117/other":    false,
		"http://localhost:53117/callback": false,
		"https://127.0.0.1:1/callback":    false,
	} {
		q := authParams(c.ID, newPKCE())
		q.Set("redirect_uri", uri)
		r := authorize(t, op, q)
		if got := r.Status == http.StatusFound; got != ok {
			t.Errorf("%s: %s, accepted = %v, want %v", uri, r, got, ok)
		}
	}
}
