package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// A service calls an API as itself: a cached token source that asks the
// provider once, and again shortly before the token expires. No redirect
// URL is needed.
func ExampleRP_ClientCredentialsSource() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	rp, err := client.New(context.Background(), client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()

	src, err := rp.ClientCredentialsSource(client.ClientCredentialsRequest{
		Scopes:    []string{"reports:read"},
		Resources: []string{"https://api.example.com/"},
	})
	if err != nil {
		log.Fatal(err)
	}
	api := &http.Client{Transport: &oauth2.Transport{Source: src}, Timeout: 30 * time.Second}
	_ = api // api.Get("https://api.example.com/reports") sends the token

	for range 3 {
		if _, err := src.Token(); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("token requests:", op.Stats().ClientCredentialsGrants)
	// Output:
	// token requests: 1
}

// A device without a browser logs its user in: it shows a code, the user
// enters it at the provider on their phone, and the device polls.
func ExampleRP_DeviceAuthorization() {
	op := oidctest.NewServer(oidctest.Config{DeviceInterval: 10 * time.Millisecond})
	defer op.Close()
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()

	auth, err := rp.DeviceAuthorization(ctx, client.DeviceRequest{})
	if err != nil {
		log.Fatal(err)
	}
	// Show the user auth.UserCode and auth.VerificationURI (or a QR code of
	// auth.VerificationURIComplete).
	fmt.Printf("enter the code (%d characters) at %s\n", len(auth.UserCode), strings.TrimPrefix(auth.VerificationURI, op.URL))
	op.ApproveDevice(auth.UserCode) // the user, on another device

	auth.Interval = 20 * time.Millisecond // the provider said 1 s; fine for an example
	tokens, err := rp.PollDevice(ctx, auth)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in:", tokens.IDToken.Subject)
	// Output:
	// enter the code (9 characters) at /device
	// logged in: alice
}

// API A calls API B on behalf of the user who called it: it exchanges the
// user's access token for one whose audience is B (RFC 8693).
func ExampleRP_ExchangeToken() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL:  "http://127.0.0.1/callback",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()
	authURL, flow, _ := rp.AuthCodeURL(client.AuthRequest{})
	user, err := rp.Callback(ctx, flow, browser(authURL)) // the user's login; API A gets user.AccessToken
	if err != nil {
		log.Fatal(err)
	}

	tok, err := rp.ExchangeToken(ctx, client.ExchangeRequest{
		SubjectToken: user.AccessToken,
		Audiences:    []string{"api-b"},
		Scopes:       []string{"profile"},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.IssuedTokenType == client.TokenTypeAccessToken, tok.TokenType, tok.Scope)
	// Output:
	// true Bearer profile
}
