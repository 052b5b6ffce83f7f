package interop_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
)

// TestPrivateKeyRotation registers a client whose jwks is
// client.PublicJWKSet of two keys, as during a rotation: oidc-provider
// accepts the client-credentials assertions signed with either (under its
// kid) and refuses those of a key outside the set.
func TestPrivateKeyRotation(t *testing.T) {
	t.Parallel()
	needProvider(t)
	current, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, next, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks, err := client.PublicJWKSet(client.SigningKey{Key: current, ID: "2026-06"}, client.SigningKey{Key: next})
	if err != nil {
		t.Fatal(err)
	}
	const id = "interop-rotating"
	p := startProvider(t, providerConfig{Clients: []clientMetadata{{
		ClientID:                id,
		TokenEndpointAuthMethod: "private_key_jwt",
		JWKS:                    jwks,
		RedirectURIs:            []string{},
		GrantTypes:              []string{"client_credentials"},
	}}})
	outsider, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		key    crypto.Signer
		kid    string
		wantOK bool
	}{
		{"the current key", current, "2026-06", true},
		{"the next key, under its thumbprint", next, "", true},
		{"a key outside the set", outsider, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t, 20*time.Second)
			rp, err := client.New(ctx, client.Config{
				Issuer: p.Issuer, ClientID: id, AuthMethod: client.AuthPrivateKeyJWT,
				PrivateKey: tc.key, PrivateKeyID: tc.kid, InsecureAllowHTTP: true,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rp.Close() })
			src, err := rp.ClientCredentialsSource(client.ClientCredentialsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := src.TokenContext(ctx)
			switch {
			case tc.wantOK && (err != nil || tok.AccessToken == ""):
				t.Fatalf("client credentials with %s: %v", tc.name, err)
			case !tc.wantOK && err == nil:
				t.Fatalf("client credentials with %s: a token, want invalid_client", tc.name)
			case !tc.wantOK:
				var te *client.TokenError
				if !errors.As(err, &te) || te.Code != "invalid_client" {
					t.Fatalf("client credentials with %s: %v, want invalid_client", tc.name, err)
				}
			}
		})
	}
	if evs := p.Events(grant("client_credentials", id)); len(evs) != 2 {
		t.Errorf("client_credentials grants %+v, want 2", evs)
	}
}
