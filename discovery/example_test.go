package discovery_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcrp/oidcrp/discovery"
)

// exampleProvider serves a discovery document and a key set holding key
// (if not nil) on 127.0.0.1, as a development provider would.
func exampleProvider(key *rsa.PublicKey) *httptest.Server {
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                   srv.URL,
			"authorization_endpoint":   srv.URL + "/authorize",
			"token_endpoint":           srv.URL + "/token",
			"jwks_uri":                 srv.URL + "/jwks",
			"response_types_supported": []string{"code"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		keys := []jose.JSONWebKey{}
		if key != nil {
			keys = append(keys, jose.JSONWebKey{Key: key, KeyID: "key-1", Algorithm: "RS256", Use: "sig"})
		}
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	})
	return srv
}

func ExampleNew() {
	op := exampleProvider(nil)
	defer op.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	provider, err := discovery.New(ctx, discovery.Config{Issuer: op.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()

	u, err := url.Parse(provider.Metadata().TokenEndpoint)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Path)
	// Output: /token
}

func ExampleProvider_KeySet() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	op := exampleProvider(&key.PublicKey)
	defer op.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	provider, err := discovery.New(ctx, discovery.Config{Issuer: op.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer provider.Close()

	// The provider signs an ID token for client "my-client"...
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "key-1"))
	if err != nil {
		log.Fatal(err)
	}
	claims, _ := json.Marshal(map[string]any{
		"iss": op.URL,
		"sub": "alice",
		"aud": "my-client",
		"iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix(),
	})
	signed, err := signer.Sign(claims)
	if err != nil {
		log.Fatal(err)
	}
	rawIDToken, err := signed.CompactSerialize()
	if err != nil {
		log.Fatal(err)
	}

	// ...which go-oidc verifies with the discovered key set.
	verifier := oidc.NewVerifier(op.URL, provider.KeySet(), &oidc.Config{ClientID: "my-client"})
	idToken, err := verifier.Verify(ctx, rawIDToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(idToken.Subject)
	// Output: alice
}
