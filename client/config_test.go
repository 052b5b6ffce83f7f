package client_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/oidctest"
)

func TestConfigValidation(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	valid := client.Config{Issuer: op.URL, ClientID: "c", RedirectURL: "https://app.example.com/cb"}
	tests := []struct {
		name string
		edit func(*client.Config)
		want error
	}{
		{"valid", func(*client.Config) {}, nil},
		{"no client ID", func(c *client.Config) { c.ClientID = "" }, client.ErrInvalidConfig},
		{"no issuer", func(c *client.Config) { c.Issuer = "" }, client.ErrInvalidConfig},
		{"no redirect (no authorization-code flow)", func(c *client.Config) { c.RedirectURL = "" }, nil},
		{"relative redirect", func(c *client.Config) { c.RedirectURL = "/cb" }, client.ErrInvalidConfig},
		{"redirect with fragment", func(c *client.Config) { c.RedirectURL = "https://a/cb#x" }, client.ErrInvalidConfig},
		{"redirect of another scheme", func(c *client.Config) { c.RedirectURL = "javascript:alert(1)" }, client.ErrInvalidConfig},
		{"basic without secret", func(c *client.Config) { c.AuthMethod = client.AuthClientSecretBasic }, client.ErrInvalidConfig},
		{"post without secret", func(c *client.Config) { c.AuthMethod = client.AuthClientSecretPost }, client.ErrInvalidConfig},
		{"none with secret", func(c *client.Config) { c.AuthMethod, c.ClientSecret = client.AuthNone, "s" }, client.ErrInvalidConfig},
		{"unknown method", func(c *client.Config) { c.AuthMethod = "private_key_jwt" }, client.ErrInvalidConfig},
		{"HMAC without secret", func(c *client.Config) { c.HMACSignatures = true }, client.ErrInvalidConfig},
		{"negative skew", func(c *client.Config) { c.ClockSkew = -time.Second }, client.ErrInvalidConfig},
		{"huge skew", func(c *client.Config) { c.ClockSkew = time.Hour }, client.ErrInvalidConfig},
		{"http issuer off loopback", func(c *client.Config) { c.Issuer = "http://op.example.com" }, discovery.ErrInvalidConfig},
		{"unreachable issuer", func(c *client.Config) { c.Issuer = "http://127.0.0.1:1" }, discovery.ErrFetch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			rp, err := client.New(testContext(t), cfg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err == nil {
				rp.Close()
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	_, rp := newRP(t, oidctest.Config{}, func(c *client.Config) { c.Scopes = []string{"email"} })
	cfg := rp.Config()
	if cfg.AuthMethod != client.AuthClientSecretBasic || cfg.ClockSkew != time.Minute || cfg.Scopes[0] != "openid" {
		t.Fatalf("defaults: %v", cfg)
	}
	_, rp = newRP(t, oidctest.Config{Clients: []oidctest.Client{{ID: "pub"}}}, func(c *client.Config) { c.ClientID, c.ClientSecret = "pub", "" })
	if cfg := rp.Config(); cfg.AuthMethod != client.AuthNone || strings.Join(cfg.Scopes, " ") != "openid profile email" {
		t.Fatalf("defaults: %v", cfg)
	}
}

// TestProviderIncompatible refuses providers that cannot serve the client.
func TestProviderIncompatible(t *testing.T) {
	tests := []struct {
		name string
		doc  func(map[string]any)
	}{
		{"no code response type", func(d map[string]any) { d["response_types_supported"] = []string{"id_token"} }},
		{"auth method not offered", func(d map[string]any) { d["token_endpoint_auth_methods_supported"] = []string{"private_key_jwt"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := oidctest.NewServer(oidctest.Config{})
			defer op.Close()
			op.SetHooks(oidctest.Hooks{Discovery: tt.doc})
			_, err := client.New(testContext(t), client.Config{Issuer: op.URL, ClientID: "c", ClientSecret: "s", RedirectURL: "http://127.0.0.1/cb"})
			if !errors.Is(err, client.ErrInvalidConfig) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

// TestSecretsRedacted prints configurations and tokens every way a log might.
func TestSecretsRedacted(t *testing.T) {
	cfg := client.Config{ClientID: "c", ClientSecret: "s3cr3t-value"}
	tokens := &client.Tokens{AccessToken: "access-value", RefreshToken: "refresh-value", RawIDToken: "idtoken-value", TokenType: "Bearer"}
	var logged strings.Builder
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	log.Info("x", "cfg", cfg, "tokens", tokens)
	j, _ := json.Marshal(cfg)
	out := fmt.Sprint(cfg) + fmt.Sprintf("%+v %#v %v %+v %#v %v %#v", cfg, cfg, tokens, tokens, tokens, *tokens, *tokens) + string(j) + logged.String()
	for _, odd := range []string{"ctl\x01\x7f", "bad \xff utf-8", `quote " and \`} {
		b, err := json.Marshal(client.Config{ClientID: odd})
		var back map[string]string
		if err != nil || json.Unmarshal(b, &back) != nil || back["client_id"] != strings.ToValidUTF8(odd, "\uFFFD") {
			t.Errorf("MarshalJSON(%q) = %s, %v", odd, b, err)
		}
	}
	for _, secret := range []string{"s3cr3t-value", "access-value", "refresh-value", "idtoken-value"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q printed:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "[redacted]") {
		t.Error("no redaction marker")
	}
}
