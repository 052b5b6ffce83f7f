package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/oidctest"
)

// apiMe stands in for the web app's GET /api/me: it verifies the bearer
// token with the provider's keys and answers {"sub", "client_id",
// "scope"}, as the web app's contract says.
func apiMe(t *testing.T, op *oidctest.Server) *httptest.Server {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256})
		if !ok || err != nil || r.URL.Path != "/api/me" {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		resp, err := http.Get(op.URL + "/jwks")
		if err != nil {
			http.Error(w, "no keys", http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		var keys jose.JSONWebKeySet
		json.NewDecoder(resp.Body).Decode(&keys)
		var payload []byte
		for _, k := range keys.Keys {
			if payload, err = jws.Verify(k); err == nil {
				break
			}
		}
		var claims struct {
			Sub      string `json:"sub"`
			ClientID string `json:"client_id"`
			Scope    string `json:"scope"`
		}
		if payload == nil || json.Unmarshal(payload, &claims) != nil {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"sub": claims.Sub, "client_id": claims.ClientID, "scope": claims.Scope})
	}))
	t.Cleanup(api.Close)
	return api
}

func TestService(t *testing.T) {
	svc := oidctest.Client{ID: "svc", Secret: "svc-secret-0123456789abcdefghijklmnop"}
	op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{svc}})
	t.Cleanup(op.Close)
	api := apiMe(t, op)
	env := map[string]string{
		"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": svc.ID, "OIDC_CLIENT_SECRET": svc.Secret,
		"OIDC_SCOPES": "reports:read", "API_URL": api.URL + "/api/me", "CALLS": "3",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, func(k string) string { return env[k] }, &out); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat(`{"client_id":"svc","scope":"reports:read","sub":"svc"}`+"\n", 3)
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if n := op.Stats().ClientCredentialsGrants; n != 1 {
		t.Errorf("token requests = %d, want 1 for 3 calls", n)
	}

	env["API_URL"] = api.URL + "/elsewhere"
	if err := run(ctx, func(k string) string { return env[k] }, &out); err == nil {
		t.Error("a 401 from the API is not an error")
	}
	if err := run(ctx, func(string) string { return "" }, &out); err == nil {
		t.Error("no configuration is not an error")
	}
}
