package interop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

// Client authentication by client assertions (RFC 7523): the example web app
// as a private_key_jwt client and as a client_secret_jwt client of
// oidc-provider, which pins each client to its method and signing algorithm.

// clientKey is the private_key_jwt client's key: a PEM file for the app, and
// its public JWK for the provider, built here by hand rather than by the
// library, so that the app's default key ID (the RFC 7638 thumbprint) is
// checked against a computation of its own.
type clientKey struct {
	PEMFile string
	JWK     map[string]string
	Kid     string
	Alg     string // the one algorithm the provider accepts for the client
	KidSet  bool   // the app is given the kid (OIDC_PRIVATE_KEY_ID), else it derives it
}

// newClientKey makes a key of typ in dir: "ec" (P-256, PKCS#8, ES256),
// "rsa" (2048 bits, PKCS#1, RS256, its kid given to the app) or "ed25519"
// (PKCS#8, EdDSA).
func newClientKey(t testing.TB, dir, typ string) clientKey {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	var (
		block   *pem.Block
		members map[string]string // the RFC 7638 required members
		k       clientKey
	)
	switch typ {
	case "", "ec":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := priv.PublicKey.ECDH()
		if err != nil {
			t.Fatal(err)
		}
		point := pub.Bytes() // 0x04 || X || Y
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		members = map[string]string{"crv": "P-256", "kty": "EC", "x": b64(point[1:33]), "y": b64(point[33:])}
		k.Alg = "ES256"
	case "rsa":
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}
		members = map[string]string{"e": b64(big.NewInt(int64(priv.E)).Bytes()), "kty": "RSA", "n": b64(priv.N.Bytes())}
		k.Alg, k.Kid, k.KidSet = "RS256", "interop-rsa-"+rand.Text()[:6], true
	case "ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(priv)
		if err != nil {
			t.Fatal(err)
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		members = map[string]string{"crv": "Ed25519", "kty": "OKP", "x": b64(pub)}
		k.Alg = "EdDSA"
	default:
		t.Fatalf("no key type %q", typ)
	}
	if !k.KidSet {
		canonical, err := json.Marshal(members) // sorted keys, no spaces: RFC 7638 section 3
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(canonical)
		k.Kid = b64(sum[:])
	}
	k.JWK = map[string]string{"kid": k.Kid, "use": "sig", "alg": k.Alg}
	for name, v := range members {
		k.JWK[name] = v
	}
	k.PEMFile = filepath.Join(dir, "client-key.pem")
	if err := os.WriteFile(k.PEMFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// jwtApp is an app to start once the provider runs.
type jwtApp struct {
	app  **webapp
	base string
	env  webappEnv
}

// jwtClients registers the client-assertion clients cfg asks for, on
// ports[0] and ports[1], and returns their registrations and the apps to
// start as them.
func (s *stack) jwtClients(t testing.TB, cfg stackConfig, ports []int) ([]clientMetadata, []jwtApp) {
	var clients []clientMetadata
	var apps []jwtApp
	if cfg.PrivateKeyJWT {
		base, redirect, postLogout, backchannel := webappURLs(ports[0])
		s.PrivateKey = newClientKey(t, t.TempDir(), cfg.PrivateKeyType)
		jwks, err := json.Marshal(map[string]any{"keys": []map[string]string{s.PrivateKey.JWK}})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, clientMetadata{
			ClientID:                 privateKeyJWTID,
			TokenEndpointAuthMethod:  "private_key_jwt",
			TokenEndpointAuthSigning: s.PrivateKey.Alg,
			JWKS:                     jwks,
			IDTokenSignedAlg:         "RS256",
			RedirectURIs:             []string{redirect},
			PostLogoutRedirectURIs:   []string{postLogout},
			BackchannelLogoutURI:     backchannel,
		})
		env := webappEnv{
			ClientID: privateKeyJWTID, AuthMethod: "private_key_jwt", PrivateKeyFile: s.PrivateKey.PEMFile,
			RedirectURL: redirect, PostLogoutRedirectURL: postLogout, ListenAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]),
		}
		if s.PrivateKey.KidSet {
			env.PrivateKeyID = s.PrivateKey.Kid
		}
		apps = append(apps, jwtApp{app: &s.PrivateKeyJWT, base: base, env: env})
	}
	if cfg.ClientSecretJWT {
		base, redirect, postLogout, backchannel := webappURLs(ports[1])
		secret := rand.Text() + rand.Text() // 52 bytes: HS256 needs 32
		clients = append(clients, clientMetadata{
			ClientID:                 clientSecretJWTID,
			ClientSecret:             secret,
			TokenEndpointAuthMethod:  "client_secret_jwt",
			TokenEndpointAuthSigning: "HS256",
			IDTokenSignedAlg:         "ES256",
			RedirectURIs:             []string{redirect},
			PostLogoutRedirectURIs:   []string{postLogout},
			BackchannelLogoutURI:     backchannel,
		})
		apps = append(apps, jwtApp{app: &s.ClientSecretJWT, base: base, env: webappEnv{
			ClientID: clientSecretJWTID, ClientSecret: secret, AuthMethod: "client_secret_jwt",
			RedirectURL: redirect, PostLogoutRedirectURL: postLogout, ListenAddr: fmt.Sprintf("127.0.0.1:%d", ports[1]),
		}})
	}
	return clients, apps
}

// assertionMethods are the client-assertion clients' methods.
var assertionMethods = map[string]string{privateKeyJWTID: "private_key_jwt", clientSecretJWTID: "client_secret_jwt"}

// wantAuthMethod checks that every grant the provider gave clientID was
// authenticated with method.
func wantAuthMethod(t testing.TB, p *provider, clientID, method string) {
	t.Helper()
	grants := p.Events(func(ev providerEvent) bool { return ev.Event == "grant.success" && ev.ClientID == clientID })
	if len(grants) == 0 {
		t.Errorf("no grants for %s", clientID)
	}
	for _, g := range grants {
		if g.AuthMethod != method {
			t.Errorf("%s grant for %s authenticated with %q, want %s", g.GrantType, clientID, g.AuthMethod, method)
		}
	}
	if errs := p.Events(func(ev providerEvent) bool { return ev.Event == "grant.error" || ev.Event == "revocation.error" }); len(errs) != 0 {
		t.Errorf("provider's errors: %+v", errs)
	}
}

// TestHTTPLoginPrivateKeyJWT logs in as the private_key_jwt client with
// each kind of key: the app signs its assertions with the algorithm the
// provider pins for the client (ES256, RS256, EdDSA), under the key ID the
// provider has, the thumbprint unless the app is given one. The app serves
// the same public key at /auth/jwks.json.
func TestHTTPLoginPrivateKeyJWT(t *testing.T) {
	t.Parallel()
	for _, typ := range []string{"ec", "rsa", "ed25519"} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			s := startStack(t, stackConfig{PrivateKeyJWT: true, PrivateKeyType: typ})
			testLogin(ctx, t, s, s.PrivateKeyJWT, privateKeyJWTID)
			wantAuthMethod(t, s.Provider, privateKeyJWTID, assertionMethods[privateKeyJWTID])

			var set struct {
				Keys []map[string]any `json:"keys"`
			}
			if status := getJSON(ctx, t, oidctest.NewBrowser(), s.PrivateKeyJWT, "/auth/jwks.json", &set); status != http.StatusOK || len(set.Keys) != 1 {
				t.Fatalf("GET /auth/jwks.json: %d %v", status, set)
			}
			for name, want := range s.PrivateKey.JWK {
				if got := set.Keys[0][name]; got != want && name != "alg" {
					t.Errorf("/auth/jwks.json %s = %v, want %s", name, got, want)
				}
			}
		})
	}
}

// TestHTTPLoginClientSecretJWT logs in as the client_secret_jwt client.
func TestHTTPLoginClientSecretJWT(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startStack(t, stackConfig{ClientSecretJWT: true})
	testLogin(ctx, t, s, s.ClientSecretJWT, clientSecretJWTID)
	wantAuthMethod(t, s.Provider, clientSecretJWTID, assertionMethods[clientSecretJWTID])
	if status := getJSON(ctx, t, oidctest.NewBrowser(), s.ClientSecretJWT, "/auth/jwks.json", nil); status != http.StatusNotFound {
		t.Errorf("GET /auth/jwks.json without a key: %d, want 404", status)
	}
}

// TestHTTPLogoutRevokesWithAssertion logs out as each client-assertion
// client: the app revokes the refresh token at the provider's revocation
// endpoint, authenticated by an assertion like its token requests.
func TestHTTPLogoutRevokesWithAssertion(t *testing.T) {
	t.Parallel()
	for _, clientID := range []string{privateKeyJWTID, clientSecretJWTID} {
		t.Run(clientID, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			s := startStack(t, stackConfig{
				Scopes:          "openid profile email offline_access",
				PrivateKeyJWT:   clientID == privateKeyJWTID,
				ClientSecretJWT: clientID == clientSecretJWTID,
			})
			app := s.app(clientID)
			login := uniqueLogin("rey")
			b, _, _ := s.login(ctx, t, app, login)
			s.logout(ctx, t, b, app, clientID)
			if revoked := s.Provider.Events(func(ev providerEvent) bool {
				return ev.Event == "refresh_token.destroyed" && ev.ClientID == clientID && ev.Sub == login
			}); len(revoked) != 1 || app.Logged("revoking the refresh token at logout failed") {
				t.Errorf("refresh tokens revoked at logout: %+v, want 1", revoked)
			}
			wantAuthMethod(t, s.Provider, clientID, assertionMethods[clientID])
		})
	}
}
