package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// writeKeys writes PEM files to a temporary directory and returns their
// paths by name: "ec" (SEC1 P-256) and "p384" (PKCS#8 P-384), which work,
// and "rsa1024", "public", "encrypted", "garbage" and "missing", which do not.
func writeKeys(t *testing.T) map[string]string {
	t.Helper()
	dir := t.TempDir()
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	sec1, _ := x509.MarshalECPrivateKey(ec)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(p384)
	pub, _ := x509.MarshalPKIXPublicKey(ec.Public())
	files := map[string][]byte{
		"ec":        pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"p384":      pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"rsa1024":   pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(small)}),
		"public":    pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"encrypted": pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{0x30, 0}}),
		"garbage":   []byte("not a key\n"),
	}
	paths := map[string]string{"missing": filepath.Join(dir, "missing.pem")}
	for name, data := range files {
		paths[name] = filepath.Join(dir, name+".pem")
		if err := os.WriteFile(paths[name], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// TestEmbeddedProviderAuthMethods: with no OIDC_ISSUER, the embedded
// provider registers the app with whatever method is configured, and the
// login and /userinfo work; /auth/jwks.json serves the key when there is one.
func TestEmbeddedProviderAuthMethods(t *testing.T) {
	keys := writeKeys(t)
	tests := []struct {
		name     string
		vars     map[string]string
		wantJWKS bool
	}{
		{"default", map[string]string{}, false},
		{"client_secret_basic", map[string]string{"OIDC_AUTH_METHOD": "client_secret_basic"}, false},
		{"client_secret_post", map[string]string{"OIDC_AUTH_METHOD": "client_secret_post"}, false},
		{"client_secret_jwt", map[string]string{"OIDC_AUTH_METHOD": "client_secret_jwt"}, false},
		{"private_key_jwt", map[string]string{"OIDC_AUTH_METHOD": "private_key_jwt", "OIDC_PRIVATE_KEY_FILE": keys["ec"]}, true},
		{"private_key_jwt by default, PKCS#8 P-384, kid set", map[string]string{"OIDC_PRIVATE_KEY_FILE": keys["p384"], "OIDC_PRIVATE_KEY_ID": "app-key-1"}, true},
		{"none", map[string]string{"OIDC_AUTH_METHOD": "none"}, false},
		{"none, with a key published", map[string]string{"OIDC_AUTH_METHOD": "none", "OIDC_PRIVATE_KEY_FILE": keys["ec"]}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := startApp(t, tt.vars)
			b := oidctest.NewBrowser()
			if p, err := b.Get(testContext(t), app+"/auth/login"); err != nil || p.StatusCode != http.StatusOK {
				t.Fatalf("login: %v %v", p, err)
			}
			var info map[string]any
			if status := get(t, b, app+"/userinfo", &info); status != http.StatusOK || info["sub"] != "demo" {
				t.Fatalf("/userinfo: %d %v", status, info)
			}
			p, err := b.Get(testContext(t), app+"/auth/jwks.json")
			if err != nil {
				t.Fatal(err)
			}
			if !tt.wantJWKS {
				if p.StatusCode != http.StatusNotFound {
					t.Fatalf("/auth/jwks.json without a key: %d", p.StatusCode)
				}
				return
			}
			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if p.StatusCode != http.StatusOK || json.Unmarshal(p.Body, &set) != nil || len(set.Keys) != 1 || set.Keys[0]["d"] != nil {
				t.Fatalf("/auth/jwks.json: %d %s", p.StatusCode, p.Body)
			}
			if want := tt.vars["OIDC_PRIVATE_KEY_ID"]; want != "" && set.Keys[0]["kid"] != want {
				t.Errorf("kid %v, want %s", set.Keys[0]["kid"], want)
			}
		})
	}
}

// TestPrivateKeyJWTRefresh: the app as a private_key_jwt client of a
// provider: login, then refreshes past expiry, each token request with a
// new client assertion.
func TestPrivateKeyJWTRefresh(t *testing.T) {
	keys := writeKeys(t)
	key, err := client.ParsePrivateKey(must(os.ReadFile(keys["ec"])))
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := client.PublicJWKS(key, "")
	if err != nil {
		t.Fatal(err)
	}
	op := oidctest.NewServer(oidctest.Config{
		AccessTokenTTL: time.Second, RotateRefreshTokens: true,
		Clients: []oidctest.Client{{ID: "pkj-app", AuthMethod: oidctest.AuthPrivateKeyJWT, JWKS: jwks}},
	})
	defer op.Close()
	app := startApp(t, map[string]string{
		"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": "pkj-app", "OIDC_PRIVATE_KEY_FILE": keys["ec"],
		"OIDC_SCOPES": "openid offline_access",
	})
	b := oidctest.NewBrowser()
	if p, err := b.Get(testContext(t), app+"/auth/login"); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", p, err)
	}
	for round := 1; round <= 2; round++ {
		time.Sleep(1100 * time.Millisecond)
		if status := get(t, b, app+"/userinfo", nil); status != http.StatusOK {
			t.Fatalf("round %d: /userinfo past expiry: %d", round, status)
		}
	}
	if s := op.Stats(); s.RefreshGrants != 2 || s.ClientAssertions != 3 || s.FailedGrants != 0 {
		t.Fatalf("provider stats %+v", s)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
