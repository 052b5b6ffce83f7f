package client_test

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

func pemOf(t testing.TB, typ string, der []byte, headers ...string) []byte {
	t.Helper()
	b := &pem.Block{Type: typ, Bytes: der, Headers: map[string]string{}}
	for i := 0; i+1 < len(headers); i += 2 {
		b.Headers[headers[i]] = headers[i+1]
	}
	return pem.EncodeToMemory(b)
}

func pkcs8(t testing.TB, key any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func sec1(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestParsePrivateKey reads each supported PEM form, and refuses each bad
// one with its own error.
func TestParsePrivateKey(t *testing.T) {
	x25519, _ := ecdh.X25519().GenerateKey(rand.Reader)
	pub, _ := x509.MarshalPKIXPublicKey(p256Key().Public())
	good := []struct {
		name string
		pem  []byte
		key  crypto.Signer
		kind string
	}{
		{"PKCS#8 RSA", pemOf(t, "PRIVATE KEY", pkcs8(t, rsaKey())), rsaKey(), "RSA 2048"},
		{"PKCS#1 RSA", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey())), rsaKey(), "RSA 2048"},
		{"PKCS#8 P-256", pemOf(t, "PRIVATE KEY", pkcs8(t, p256Key())), p256Key(), "ECDSA P-256"},
		{"SEC1 P-256", pemOf(t, "EC PRIVATE KEY", sec1(t, p256Key())), p256Key(), "ECDSA P-256"},
		{"SEC1 P-384, text around the block", append([]byte("a comment\n"), pemOf(t, "EC PRIVATE KEY", sec1(t, p384Key()))...), p384Key(), "ECDSA P-384"},
		{"PKCS#8 Ed25519", pemOf(t, "PRIVATE KEY", pkcs8(t, edKey())), edKey(), "Ed25519"},
	}
	for _, tt := range good {
		t.Run(tt.name, func(t *testing.T) {
			k, err := client.ParsePrivateKey(tt.pem)
			if err != nil {
				t.Fatal(err)
			}
			type equaler interface{ Equal(crypto.PublicKey) bool }
			if !k.Public().(equaler).Equal(tt.key.Public()) {
				t.Error("another public key")
			}
			if !strings.Contains(k.String(), tt.kind) {
				t.Errorf("String() = %s, want %s", k, tt.kind)
			}
			// It signs, and its published key ID is the thumbprint.
			var set struct{ Keys []struct{ Kid string } }
			json.Unmarshal(must(client.PublicJWKS(k, "")), &set)
			if !strings.Contains(k.String(), set.Keys[0].Kid) {
				t.Errorf("String() = %s lacks the thumbprint %s", k, set.Keys[0].Kid)
			}
		})
	}

	bad := []struct {
		name string
		pem  []byte
		want error
	}{
		{"empty", nil, client.ErrKeyNotPEM},
		{"not PEM", []byte("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQ"), client.ErrKeyNotPEM},
		{"two blocks", append(pemOf(t, "EC PRIVATE KEY", sec1(t, p256Key())), pemOf(t, "CERTIFICATE", []byte{1})...), client.ErrKeyNotPEM},
		{"PKCS#8 encrypted", pemOf(t, "ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), client.ErrKeyEncrypted},
		{"legacy encrypted PEM", pemOf(t, "RSA PRIVATE KEY", []byte{0x30, 0}, "Proc-Type", "4,ENCRYPTED", "DEK-Info", "AES-128-CBC,00"), client.ErrKeyEncrypted},
		{"PKCS#8 garbled", pemOf(t, "PRIVATE KEY", []byte("garbage")), client.ErrKeyMalformed},
		{"PKCS#1 garbled", pemOf(t, "RSA PRIVATE KEY", []byte("garbage")), client.ErrKeyMalformed},
		{"SEC1 garbled", pemOf(t, "EC PRIVATE KEY", []byte("garbage")), client.ErrKeyMalformed},
		{"PKCS#8 holding SEC1", pemOf(t, "PRIVATE KEY", sec1(t, p256Key())), client.ErrKeyMalformed},
		{"a public key", pemOf(t, "PUBLIC KEY", pub), client.ErrKeyUnsupported},
		{"a certificate", pemOf(t, "CERTIFICATE", []byte{0x30, 0}), client.ErrKeyUnsupported},
		{"an OpenSSH key", pemOf(t, "OPENSSH PRIVATE KEY", []byte("openssh-key-v1")), client.ErrKeyUnsupported},
		{"RSA of 1024 bits", pemOf(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaSmall())), client.ErrKeyUnsupported},
		{"P-521", pemOf(t, "EC PRIVATE KEY", sec1(t, p521Key())), client.ErrKeyUnsupported},
		{"X25519", pemOf(t, "PRIVATE KEY", pkcs8(t, x25519)), client.ErrKeyUnsupported},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			k, err := client.ParsePrivateKey(tt.pem)
			if !errors.Is(err, tt.want) || !errors.Is(err, client.ErrInvalidKey) || k != nil {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, other := range []error{client.ErrKeyNotPEM, client.ErrKeyEncrypted, client.ErrKeyMalformed, client.ErrKeyUnsupported} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("err = %v is also %v", err, other)
				}
			}
			if msg := err.Error(); strings.Contains(msg, "\n") {
				t.Errorf("not one line: %q", msg)
			}
			t.Log(err)
		})
	}
}

// FuzzParsePrivateKey: arbitrary input never panics, and a key it accepts
// can be published and can sign.
func FuzzParsePrivateKey(f *testing.F) {
	f.Add(pemOf(f, "PRIVATE KEY", pkcs8(f, p256Key())))
	f.Add(pemOf(f, "EC PRIVATE KEY", sec1(f, p384Key())))
	f.Add(pemOf(f, "PRIVATE KEY", pkcs8(f, edKey())))
	f.Add(pemOf(f, "RSA PRIVATE KEY", []byte{0x30, 0x03, 0x02, 0x01, 0x00}))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := client.ParsePrivateKey(data)
		if err != nil {
			if !errors.Is(err, client.ErrInvalidKey) {
				t.Fatalf("err = %v is not ErrInvalidKey", err)
			}
			return
		}
		if _, err := client.PublicJWKS(k, ""); err != nil {
			t.Fatalf("accepted key not publishable: %v", err)
		}
		var opts crypto.SignerOpts = crypto.SHA256
		digest := make([]byte, 32)
		if _, ok := k.Public().(ed25519.PublicKey); ok {
			opts = crypto.Hash(0)
		}
		if _, ok := k.Public().(*rsa.PublicKey); ok {
			opts = crypto.SHA256
		}
		if _, err := k.Sign(rand.Reader, digest, opts); err != nil {
			t.Fatalf("accepted key cannot sign: %v", err)
		}
	})
}

// TestPublicJWKSet publishes two keys, as a rotation does: the provider
// that registered the set accepts assertions of either key, under its ID,
// and refuses a key outside it.
func TestPublicJWKSet(t *testing.T) {
	current, next := p256Key(), rsaKey()
	set, err := client.PublicJWKSet(client.SigningKey{Key: current, ID: "2026-01"}, client.SigningKey{Key: next})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Keys []map[string]any
	}
	if err := json.Unmarshal(set, &got); err != nil || len(got.Keys) != 2 {
		t.Fatalf("set %s: %v", set, err)
	}
	var nextOnly struct{ Keys []struct{ Kid string } }
	json.Unmarshal(must(client.PublicJWKS(next, "")), &nextOnly)
	for i, want := range []struct{ kty, kid string }{{"EC", "2026-01"}, {"RSA", nextOnly.Keys[0].Kid}} {
		k := got.Keys[i]
		if k["kty"] != want.kty || k["kid"] != want.kid || k["use"] != "sig" || k["d"] != nil || k["p"] != nil {
			t.Errorf("key %d: %v, want a public %s key %q", i, k, want.kty, want.kid)
		}
	}

	registered := oidctest.Client{ID: "rotating", AuthMethod: string(client.AuthPrivateKeyJWT), JWKS: set}
	op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{registered}})
	t.Cleanup(op.Close)
	for _, tc := range []struct {
		name   string
		key    crypto.Signer
		id     string
		wantOK bool
	}{
		{"the current key", current, "2026-01", true},
		{"the next key, under its thumbprint", next, "", true},
		{"a key outside the set", p384Key(), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rp, err := client.New(testContext(t), client.Config{
				Issuer: op.URL, ClientID: registered.ID, RedirectURL: "http://127.0.0.1/callback",
				AuthMethod: client.AuthPrivateKeyJWT, PrivateKey: tc.key, PrivateKeyID: tc.id,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rp.Close() })
			_, err = login(t, rp, client.AuthRequest{})
			if tc.wantOK && err != nil || !tc.wantOK && err == nil {
				t.Fatalf("login: %v, want success %v", err, tc.wantOK)
			}
		})
	}

	for _, tc := range []struct {
		name string
		keys []client.SigningKey
	}{
		{"none", nil},
		{"a nil key", []client.SigningKey{{Key: current}, {}}},
		{"one key twice", []client.SigningKey{{Key: current}, {Key: current}}},
		{"two keys under one ID", []client.SigningKey{{Key: current, ID: "k"}, {Key: next, ID: "k"}}},
		{"an RSA key of 1024 bits", []client.SigningKey{{Key: current}, {Key: rsaSmall()}}},
	} {
		if set, err := client.PublicJWKSet(tc.keys...); !errors.Is(err, client.ErrInvalidKey) || set != nil {
			t.Errorf("%s: %s, %v; want ErrInvalidKey", tc.name, set, err)
		}
	}
}
