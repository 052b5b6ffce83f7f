package client_test

import (
	"context"
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
