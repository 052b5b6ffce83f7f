package client_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
)

// Push the authorization request (RFC 9126): the browser is sent with
// client_id and request_uri only.
func ExampleRP_AuthCodeURLContext() {
	op := oidctest.NewServer(oidctest.Config{RequirePushedAuthorizationRequests: true})
	defer op.Close()
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL:  "https://app.example.com/auth/callback",
		// PARWhenRequired, the zero value, pushes: the provider requires it.
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()

	_, _, err = rp.AuthCodeURL(client.AuthRequest{})
	fmt.Println("AuthCodeURL:", err)

	authURL, flow, err := rp.AuthCodeURLContext(ctx, client.AuthRequest{})
	if err != nil {
		log.Fatal(err) // matches client.ErrPAR; never an unpushed URL
	}
	u, _ := url.Parse(authURL)
	fmt.Println("front channel:", strings.Join(sortedKeys(u.Query()), " "))

	tokens, err := rp.Callback(ctx, flow, browser(authURL))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("logged in:", tokens.IDToken.Subject)
	// Output:
	// AuthCodeURL: client: authorization requests are pushed: use AuthCodeURLContext
	// front channel: client_id request_uri
	// logged in: alice
}

// Bind the tokens to a key of the login (DPoP, RFC 9449): the code
// exchange, refreshes and API calls carry proofs signed with it, nonces
// included.
func ExampleConfig_dPoP() {
	op := oidctest.NewServer(oidctest.Config{DPoPNonce: true, AlwaysIssueRefreshToken: true})
	defer op.Close()
	ctx := context.Background()
	rp, err := client.New(ctx, client.Config{
		Issuer:       op.URL,
		ClientID:     oidctest.DefaultClient.ID,
		ClientSecret: oidctest.DefaultClient.Secret,
		RedirectURL:  "https://app.example.com/auth/callback",
		DPoP:         true,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer rp.Close()

	authURL, flow, err := rp.AuthCodeURLContext(ctx, client.AuthRequest{})
	if err != nil {
		log.Fatal(err)
	}
	tokens, err := rp.Callback(ctx, flow, browser(authURL)) // keep tokens.DPoPKey with the tokens
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("token type:", tokens.TokenType, tokens.DPoPKey.Algorithm())

	tokens, err = rp.RefreshDPoP(ctx, tokens.DPoPKey, tokens.RefreshToken, tokens.RawIDToken)
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, op.URL+"/userinfo", nil)
	resp, err := rp.DPoPRoundTrip(http.DefaultTransport, req, tokens.DPoPKey, tokens.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println("userinfo:", resp.StatusCode)
	// Output:
	// token type: DPoP ES256
	// userinfo: 200
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
