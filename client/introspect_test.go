package client_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestIntrospect(t *testing.T) {
	op, rp := newRP(t, oidctest.Config{}, nil)
	tok := op.OpaqueAccessToken(oidctest.AccessTokenOptions{Scope: "read"})
	body, err := rp.Introspect(testContext(t), tok, "access_token")
	var answer struct {
		Active bool   `json:"active"`
		Scope  string `json:"scope"`
	}
	if err != nil || json.Unmarshal(body, &answer) != nil || !answer.Active || answer.Scope != "read" {
		t.Fatalf("Introspect: %s, %v", body, err)
	}
	if body, err := rp.Introspect(testContext(t), "unknown", ""); err != nil || string(body) != "{\"active\":false}\n" {
		t.Fatalf("unknown token: %s, %v", body, err)
	}
	op.SetDown(true)
	if _, err := rp.Introspect(testContext(t), tok, ""); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Fatalf("provider down: %v", err)
	}
	op.SetDown(false)

	_, wrong := newRP(t, oidctest.Config{}, func(c *client.Config) { c.ClientSecret = "wrong-secret-0123456789abcdefghij" })
	var te *client.TokenError
	if _, err := wrong.Introspect(testContext(t), tok, ""); !errors.As(err, &te) || te.Code != "invalid_client" {
		t.Fatalf("wrong secret: %v", err)
	}
	op.SetHooks(oidctest.Hooks{Discovery: func(d map[string]any) { delete(d, "introspection_endpoint") }})
	rp.Provider().Refresh(testContext(t))
	if _, err := rp.Introspect(testContext(t), tok, ""); !errors.Is(err, client.ErrNoEndpoint) {
		t.Fatalf("no endpoint: %v", err)
	}
}
