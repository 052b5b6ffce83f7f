package oidctest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

func TestNewServerDefaults(t *testing.T) {
	op := newOP(t, oidctest.Config{})
	if !strings.HasPrefix(op.URL, "http://127.0.0.1:") {
		t.Errorf("URL = %q, want http://127.0.0.1:port", op.URL)
	}
	if c := op.Client(); c.ID != oidctest.DefaultClient.ID || c.Secret != oidctest.DefaultClient.Secret {
		t.Errorf("Client() = %+v, want DefaultClient", c)
	}
	if n := len(oidctest.DefaultClient.Secret); n < 32 {
		t.Errorf("DefaultClient.Secret has %d bytes, want at least 32 to key HS256", n)
	}
	tok := login(t, op, op.Client(), withScope("openid profile email"))
	if tok.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want an hour", tok.ExpiresIn)
	}
	h, claims := mustVerify(t, op, tok.IDToken)
	if h.Algorithm != "RS256" {
		t.Errorf("alg = %s, want RS256", h.Algorithm)
	}
	if exp, iat := numeric(t, claims, "exp"), numeric(t, claims, "iat"); exp-iat != 3600 {
		t.Errorf("ID token lives %d s, want an hour", exp-iat)
	}
	for k, v := range oidctest.DefaultUser.Claims {
		if claims[k] != v {
			t.Errorf("%s = %v, want DefaultUser's %v", k, claims[k], v)
		}
	}
	if now := time.Now().Unix(); numeric(t, claims, "iat") < now-60 || numeric(t, claims, "iat") > now+60 {
		t.Errorf("iat %v is not now: Config.Now should default to time.Now", claims["iat"])
	}

	// Two providers have their own issuers.
	op2 := newOP(t, oidctest.Config{})
	if op2.URL == op.URL {
		t.Errorf("two providers at %s", op.URL)
	}
}

func TestNewServerUnsupportedAlg(t *testing.T) {
	for _, alg := range []string{"HS256", "none", "RS1"} {
		t.Run(alg, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewServer with SigningAlg %q did not panic", alg)
				}
			}()
			op := oidctest.NewServer(oidctest.Config{SigningAlg: alg})
			op.Close()
		})
	}
}

func TestClose(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	op.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, op.URL+"/jwks", nil)
	if r, err := send(req); err == nil {
		t.Errorf("a closed provider answered %s", r)
	}
}

func TestSetDown(t *testing.T) {
	op := newOP(t, oidctest.Config{AlwaysIssueRefreshToken: true})
	tok := login(t, op, oidctest.DefaultClient, nil)
	c := oidctest.DefaultClient
	requests := []struct {
		name string
		do   func(t *testing.T) reply
	}{
		{"discovery", func(t *testing.T) reply { return get(t, op.URL+"/.well-known/openid-configuration") }},
		{"jwks", func(t *testing.T) reply { return get(t, op.URL+"/jwks") }},
		{"authorize", func(t *testing.T) reply { return authorize(t, op, authParams(c.ID, newPKCE())) }},
		{"token", func(t *testing.T) reply { return refresh(t, op, c, tok.RefreshToken) }},
		{"userinfo", func(t *testing.T) reply { return userinfo(t, op, tok.AccessToken) }},
		{"end_session", func(t *testing.T) reply { return get(t, op.URL+"/end_session") }},
		{"revoke", func(t *testing.T) reply {
			return post(t, op.URL+"/revoke", url.Values{"token": {"x"}}, []string{c.ID, c.Secret})
		}},
		{"unknown path", func(t *testing.T) reply { return get(t, op.URL+"/nothing") }},
	}
	op.SetDown(true)
	for _, rq := range requests {
		t.Run("down/"+rq.name, func(t *testing.T) {
			if r := rq.do(t); r.Status != http.StatusServiceUnavailable {
				t.Errorf("%s while down: %s, want 503", rq.name, r)
			}
		})
	}
	if s := op.Stats(); s != (oidctest.Stats{Authorizations: 1, CodeGrants: 1}) {
		t.Errorf("Stats() while down = %+v, want only the login before", s)
	}
	op.SetDown(false)
	for _, rq := range requests {
		t.Run("up/"+rq.name, func(t *testing.T) {
			if r := rq.do(t); r.Status == http.StatusServiceUnavailable {
				t.Errorf("%s after SetDown(false): %s", rq.name, r)
			}
		})
	}
}

func TestStats(t *testing.T) {
	rc := newReceiver(t, http.StatusOK)
	c := confidential("app")
	c.BackchannelLogoutURI = rc.URL
	op := newOP(t, oidctest.Config{Clients: []oidctest.Client{c}, AlwaysIssueRefreshToken: true, RotateRefreshTokens: true})

	tok := login(t, op, c, nil)                                    // 1 authorization, 1 code grant
	authorize(t, op, authParams(c.ID, newPKCE()))                  // 1 authorization, code never redeemed
	next, err := decodeTokens(refresh(t, op, c, tok.RefreshToken)) // 1 refresh grant
	if err != nil {
		t.Fatal(err)
	}
	refresh(t, op, c, tok.RefreshToken)                            // 1 reuse, 1 failed grant
	tokenCall(t, op, c, codeForm("x", newPKCE()))                  // 1 failed grant
	userinfo(t, op, next.AccessToken)                              // 1 userinfo request
	userinfo(t, op, "unknown")                                     // 1 userinfo request, refused
	revoke(t, op, c, next.RefreshToken)                            // 1 revocation
	endSession(t, op, url.Values{"id_token_hint": {next.IDToken}}) // 1 end_session, 1 back-channel logout
	rc.next(t)

	want := oidctest.Stats{
		Authorizations:     2,
		CodeGrants:         1,
		RefreshGrants:      1,
		RefreshTokenReuses: 1,
		FailedGrants:       2,
		UserInfoRequests:   2,
		Revocations:        1,
		EndSessions:        1,
		BackchannelLogouts: 1,
	}
	if got := op.Stats(); got != want {
		t.Errorf("Stats() = %+v\nwant      %+v", got, want)
	}
}

// TestConcurrentLogins runs many whole flows at once; run with -race.
func TestConcurrentLogins(t *testing.T) {
	const n = 40
	users := []oidctest.User{oidctest.DefaultUser, {Subject: "bob"}, {Subject: "carol"}}
	clients := []oidctest.Client{confidential("a"), confidential("b"), {ID: "public"}}
	op := newOP(t, oidctest.Config{Clients: clients, Users: users, AlwaysIssueRefreshToken: true})
	set := keySet(t, op)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, u := clients[i%len(clients)], users[i%len(users)]
			tok, err := loginErr(op, c, func(q url.Values) { q.Set("login_hint", u.Subject) })
			if err != nil {
				t.Errorf("login %d: %v", i, err)
				return
			}
			if _, claims, err := verifyJWT(set, tok.IDToken); err != nil || claims["sub"] != u.Subject || claims["aud"] != c.ID {
				t.Errorf("login %d: ID token %v, %v", i, claims, err)
			}
			r, err := tokenRequest(op, c, authFor(c), refreshForm(tok.RefreshToken))
			if err != nil || r.Status != http.StatusOK {
				t.Errorf("refresh %d: %v %v", i, r, err)
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, op.URL+"/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			if r, err := send(req); err != nil || r.Status != http.StatusOK {
				t.Errorf("userinfo %d: %v %v", i, r, err)
			}
		})
	}
	// Meanwhile, the provider is reconfigured.
	wg.Go(func() {
		for range 5 {
			op.SetHooks(oidctest.Hooks{UserInfo: func(map[string]any) {}})
			op.Stats()
			op.DeliveryErrors()
			op.SetHooks(oidctest.Hooks{})
		}
	})
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("the logins took too long")
	}
	want := oidctest.Stats{Authorizations: n, CodeGrants: n, RefreshGrants: n, UserInfoRequests: n}
	if got := op.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}
