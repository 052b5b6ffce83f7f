package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
)

// apiGet GETs /api/me with an Authorization header (none if "") and extra
// headers as name, value pairs; it returns the status and the JSON body.
func apiGet(t *testing.T, rawURL, authz string, kv ...string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(testContext(t), "GET", rawURL, nil)
	if authz != "" {
		req.Header.Set("Authorization", authz)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]string
	json.Unmarshal(body, &m)
	return resp.StatusCode, m
}

// TestAPIMe checks GET /api/me: JWT, opaque and DPoP-bound access tokens
// for the audience (the client ID by default), required scopes, tokens in
// the query string refused, and the app's own session accepted.
func TestAPIMe(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	vars := providerVars(op, "")
	vars["OIDC_API_SCOPES"] = "api:read"
	app := startApp(t, vars)
	aud := []string{op.Client().ID}
	jwt := op.AccessToken(oidctest.AccessTokenOptions{Audience: aud, Scope: "api:read other", ClientID: "mobile"})
	status, body := apiGet(t, app+"/api/me", "Bearer "+jwt)
	if status != http.StatusOK || body["sub"] != "alice" || body["client_id"] != "mobile" || body["scope"] != "api:read other" {
		t.Fatalf("JWT: %d %v", status, body)
	}
	opaque := op.OpaqueAccessToken(oidctest.AccessTokenOptions{Audience: aud, Scope: "api:read"})
	if status, body := apiGet(t, app+"/api/me", "Bearer "+opaque); status != http.StatusOK || body["sub"] != "alice" {
		t.Fatalf("opaque: %d %v", status, body)
	}
	key := oidctest.NewDPoPKey("")
	bound := op.AccessToken(oidctest.AccessTokenOptions{Audience: aud, Scope: "api:read", JKT: key.Thumbprint()})
	proof := key.Proof(oidctest.DPoPProof{Method: "GET", URL: app + "/api/me", AccessToken: bound})
	if status, body := apiGet(t, app+"/api/me", "DPoP "+bound, "DPoP", proof); status != http.StatusOK || body["sub"] != "alice" {
		t.Fatalf("DPoP: %d %v", status, body)
	}
	if status, _ := apiGet(t, app+"/api/me", "DPoP "+bound, "DPoP", proof); status != http.StatusUnauthorized {
		t.Fatalf("DPoP proof replayed: %d", status)
	}
	for _, tt := range []struct {
		name, url, authz string
		status           int
	}{
		{"no token", app + "/api/me", "", http.StatusUnauthorized},
		{"another audience", app + "/api/me", "Bearer " + op.AccessToken(oidctest.AccessTokenOptions{Scope: "api:read"}), http.StatusUnauthorized},
		{"missing scope", app + "/api/me", "Bearer " + op.AccessToken(oidctest.AccessTokenOptions{Audience: aud}), http.StatusForbidden},
		{"token in the query string", app + "/api/me?access_token=" + url.QueryEscape(jwt), "", http.StatusBadRequest},
	} {
		if status, body := apiGet(t, tt.url, tt.authz); status != tt.status || body["error_description"] == "" {
			t.Errorf("%s: %d %v, want %d", tt.name, status, body, tt.status)
		}
	}

	// The app's own pages call it with the session cookie.
	b := oidctest.NewBrowser()
	if _, err := b.Get(testContext(t), app+"/auth/login"); err != nil {
		t.Fatal(err)
	}
	var me map[string]string
	if status := get(t, b, app+"/api/me", &me); status != http.StatusOK || me["sub"] != "alice" || me["client_id"] != "" {
		t.Fatalf("with the session: %d %v", status, me)
	}
}

// TestAPIConfig checks OIDC_API_AUDIENCE and a bad OIDC_API_INTROSPECTION_CACHE.
func TestAPIConfig(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	vars := providerVars(op, "")
	vars["OIDC_API_AUDIENCE"] = "https://api.example.test"
	app := startApp(t, vars)
	tok := op.AccessToken(oidctest.AccessTokenOptions{Audience: []string{"https://api.example.test"}})
	if status, _ := apiGet(t, app+"/api/me", "Bearer "+tok); status != http.StatusOK {
		t.Fatalf("OIDC_API_AUDIENCE: %d", status)
	}
	vars = providerVars(op, "")
	vars["OIDC_API_INTROSPECTION_CACHE"] = "soon"
	if _, err := configFromEnv(env(vars)); err == nil || !strings.Contains(err.Error(), "OIDC_API_INTROSPECTION_CACHE") {
		t.Fatalf("bad OIDC_API_INTROSPECTION_CACHE: %v", err)
	}
}

// TestAPIMeProviders: with several providers, GET /api/me takes the access
// tokens of each (checked with that provider's keys), introspects opaque
// tokens at the first provider only, and refuses a third issuer's.
func TestAPIMeProviders(t *testing.T) {
	vars := map[string]string{"OIDC_PROVIDERS": "a,b"}
	ops := map[string]*oidctest.Server{}
	for i, name := range []string{"a", "b"} {
		op := oidctest.NewServer(oidctest.Config{SigningAlg: []string{"RS256", "ES256"}[i]})
		t.Cleanup(op.Close)
		ops[name] = op
		p := envPrefix(name)
		vars[p+"ISSUER"], vars[p+"CLIENT_ID"], vars[p+"CLIENT_SECRET"] = op.URL, op.Client().ID, op.Client().Secret
	}
	vars["OIDC_API_AUDIENCE"] = oidctest.DefaultAudience
	app := startApp(t, vars)
	for name, op := range ops {
		jwt := op.AccessToken(oidctest.AccessTokenOptions{Subject: "user-of-" + name})
		if status, body := apiGet(t, app+"/api/me", "Bearer "+jwt); status != http.StatusOK || body["sub"] != "user-of-"+name {
			t.Errorf("%s's JWT: %d %v", name, status, body)
		}
	}
	a, b := ops["a"], ops["b"]
	if status, body := apiGet(t, app+"/api/me", "Bearer "+a.OpaqueAccessToken(oidctest.AccessTokenOptions{})); status != http.StatusOK || body["sub"] != "alice" {
		t.Errorf("a's opaque token: %d %v", status, body)
	}
	introspections := b.Stats().Introspections
	if status, _ := apiGet(t, app+"/api/me", "Bearer "+b.OpaqueAccessToken(oidctest.AccessTokenOptions{})); status != http.StatusUnauthorized {
		t.Errorf("b's opaque token (introspected at a only): %d, want 401", status)
	}
	if n := b.Stats().Introspections; n != introspections {
		t.Errorf("b was asked to introspect %d tokens, want none", n-introspections)
	}
	other := oidctest.NewServer(oidctest.Config{SigningAlg: "ES384"})
	defer other.Close()
	if status, body := apiGet(t, app+"/api/me", "Bearer "+other.AccessToken(oidctest.AccessTokenOptions{})); status != http.StatusUnauthorized || body["error"] != "invalid_token" {
		t.Errorf("a third issuer's JWT: %d %v, want 401 invalid_token", status, body)
	}
	forged := a.AccessToken(oidctest.AccessTokenOptions{Edit: func(c map[string]any) { c["iss"] = b.URL }})
	if status, _ := apiGet(t, app+"/api/me", "Bearer "+forged); status != http.StatusUnauthorized {
		t.Errorf("a's signature under b's iss: %d, want 401", status)
	}
}
