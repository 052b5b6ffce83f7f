package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"strings"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// browser plays the user's browser in the examples: it follows the
// authorization URL to the provider and returns the query the provider
// redirects back to the callback with.
func browser(authURL string) url.Values {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		log.Fatal(err)
	}
	return loc.Query()
}

// Discover a provider by its issuer URL.
func ExampleNew() {
	op := oidctest.NewServer(oidctest.Config{}) // stands in for https://accounts.example.com
	defer op.Close()

	rp, err := client.New(context.Background(), client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL:  "https://app.example.com/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()

	md := rp.Provider().Metadata()
	fmt.Println("token endpoint:", strings.TrimPrefix(md.TokenEndpoint, op.URL))
	fmt.Println("PKCE S256:", md.SupportsPKCE())
	// Output:
	// token endpoint: /token
	// PKCE S256: true
}

// Build the URL that starts a login, and the Flow to keep until the callback.
func ExampleRP_AuthCodeURL() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(context.Background(), client.Config{
		Issuer: op.URL, ClientID: "oidctest-client", ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL: "https://app.example.com/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}

	authURL, flow, err := rp.AuthCodeURL(client.AuthRequest{LoginHint: "alice@example.com", ReturnTo: "/reports"})
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(authURL)
	q := u.Query()
	fmt.Println(q.Get("response_type"), q.Get("scope"), q.Get("code_challenge_method"))
	fmt.Println("state sent:", q.Get("state") == flow.State, "nonce sent:", q.Get("nonce") == flow.Nonce)
	fmt.Println("return to:", flow.ReturnTo)
	// Output:
	// code openid profile email S256
	// state sent: true nonce sent: true
	// return to: /reports
}

// Complete the login at the callback: check the response, exchange the code
// and verify the ID token.
func ExampleRP_Callback() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(context.Background(), client.Config{
		Issuer: op.URL, ClientID: "oidctest-client", ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL: "https://app.example.com/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}

	authURL, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
	query := browser(authURL) // in a handler: r.URL.Query()

	tokens, err := rp.Callback(context.Background(), flow, query)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	tokens.IDToken.Claims(&claims)
	fmt.Println("subject:", tokens.IDToken.Subject)
	fmt.Println("email:", claims.Email)
	// Output:
	// subject: alice
	// email: alice@example.com
}

// Redeem a refresh token for fresh tokens. The provider here rotates refresh
// tokens, so the new one must replace the old.
func ExampleRP_Refresh() {
	op := oidctest.NewServer(oidctest.Config{RotateRefreshTokens: true})
	defer op.Close()
	rp, err := client.New(context.Background(), client.Config{
		Issuer: op.URL, ClientID: "oidctest-client", ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL: "https://app.example.com/auth/callback",
		Scopes:      []string{"openid", "offline_access"},
	})
	if err != nil {
		log.Fatal(err)
	}
	authURL, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
	tokens, err := rp.Callback(context.Background(), flow, browser(authURL))
	if err != nil {
		log.Fatal(err)
	}

	fresh, err := rp.Refresh(context.Background(), tokens.RefreshToken, tokens.RawIDToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("new access token:", fresh.AccessToken != tokens.AccessToken)
	fmt.Println("refresh token rotated:", fresh.RefreshToken != tokens.RefreshToken)
	fmt.Println("same user:", fresh.IDToken.Subject == tokens.IDToken.Subject)
	// Output:
	// new access token: true
	// refresh token rotated: true
	// same user: true
}

// Fetch the user's claims from the userinfo endpoint.
func ExampleRP_UserInfo() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(context.Background(), client.Config{
		Issuer: op.URL, ClientID: "oidctest-client", ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL: "https://app.example.com/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	authURL, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
	tokens, err := rp.Callback(context.Background(), flow, browser(authURL))
	if err != nil {
		log.Fatal(err)
	}

	info, err := rp.UserInfo(context.Background(), tokens.AccessToken, tokens.IDToken.Subject)
	if err != nil {
		log.Fatal(err)
	}
	var claims struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	info.Claims(&claims)
	fmt.Println(claims.Name, "<"+claims.Email+">")
	// Output:
	// Alice Example <alice@example.com>
}

// Send the user to the provider to log out there too.
func ExampleRP_EndSessionURL() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(context.Background(), client.Config{
		Issuer: op.URL, ClientID: "oidctest-client", ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL: "https://app.example.com/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	logoutURL, err := rp.EndSessionURL("eyJ...the ID token", "https://app.example.com/", "")
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(logoutURL)
	fmt.Println(u.Path, u.Query().Get("post_logout_redirect_uri"))
	// Output:
	// /end_session https://app.example.com/
}

// Authenticate with a private key instead of a client secret
// (private_key_jwt, RFC 7523): each token request carries a new assertion
// signed with the key. The provider verifies it with the client's public
// key, registered as its "jwks" or fetched from its "jwks_uri" (see
// PublicJWKS).
func ExampleConfig_privateKeyJWT() {
	pemData := examplePEM() // in an app: os.ReadFile("client-key.pem")
	key, err := client.ParsePrivateKey(pemData)
	if err != nil {
		log.Fatal(err) // ErrKeyNotPEM, ErrKeyEncrypted, ErrKeyMalformed, ErrKeyUnsupported
	}
	jwks, err := client.PublicJWKS(key, "")
	if err != nil {
		log.Fatal(err)
	}
	op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{{
		ID: "my-app", AuthMethod: oidctest.AuthPrivateKeyJWT, JWKS: jwks,
	}}})
	defer op.Close()

	rp, err := client.New(context.Background(), client.Config{
		Issuer:      op.URL,
		ClientID:    "my-app",
		PrivateKey:  key, // or any crypto.Signer, such as a key in a KMS
		RedirectURL: "https://app.example.com/auth/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	authURL, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
	tokens, err := rp.Callback(context.Background(), flow, browser(authURL))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("auth method:", rp.Config().AuthMethod)
	fmt.Println("subject:", tokens.IDToken.Subject)
	fmt.Println("assertions the provider verified:", op.Stats().ClientAssertions)
	// Output:
	// auth method: private_key_jwt
	// subject: alice
	// assertions the provider verified: 1
}

// Publish the client's public key for a provider that fetches it from the
// client's jwks_uri.
func ExamplePublicJWKS() {
	key, err := client.ParsePrivateKey(examplePEM())
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := client.PublicJWKS(key, "") // kid: the key's RFC 7638 thumbprint
	if err != nil {
		log.Fatal(err)
	}
	// In a handler: w.Header().Set("Content-Type", "application/json"); w.Write(jwks)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(jwks, &set)
	k := set.Keys[0]
	fmt.Println(k["kty"], k["crv"], k["use"], k["d"] == nil)
	fmt.Println("kid named in the key's description:", strings.Contains(key.String(), k["kid"].(string)))
	// Output:
	// EC P-256 sig true
	// kid named in the key's description: true
}

// Rotate the client's key: publish the next key next to the current one,
// and sign with the next key once the provider has fetched the set again.
func ExamplePublicJWKSet() {
	current, err := client.ParsePrivateKey(examplePEM())
	if err != nil {
		log.Fatal(err)
	}
	next, err := client.ParsePrivateKey(examplePEM())
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := client.PublicJWKSet(
		client.SigningKey{Key: current, ID: "2026-06"}, // Config.PrivateKey today
		client.SigningKey{Key: next, ID: "2026-12"},    // Config.PrivateKey after the switch
	)
	if err != nil {
		log.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	json.Unmarshal(jwks, &set)
	fmt.Println(set.Keys[0].Kid, set.Keys[1].Kid)
	// Output:
	// 2026-06 2026-12
}

// examplePEM makes a P-256 key in PKCS#8 PEM, as openssl genpkey writes it.
func examplePEM() []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		log.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
