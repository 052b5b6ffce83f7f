package oidctest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/oidcrp/oidcrp/oidctest"
)

// ExampleNewServer starts a provider and goes through the code flow by hand:
// the authorization request logs the default user in at once and redirects
// with a code, which the token endpoint exchanges for tokens.
func ExampleNewServer() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()

	verifier := strings.Repeat("v", 43) // PKCE S256 is required
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"client_id":             {oidctest.DefaultClient.ID},
		"redirect_uri":          {"http://127.0.0.1/callback"},
		"response_type":         {"code"},
		"scope":                 {"openid email"},
		"state":                 {"xyz"},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(op.URL + "/authorize?" + q.Encode())
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	back, _ := resp.Location()
	fmt.Println(resp.StatusCode, back.Path, back.Query().Get("state"), back.Query().Get("iss") == op.URL)

	resp, err = http.PostForm(op.URL+"/token", url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {back.Query().Get("code")},
		"redirect_uri":  {"http://127.0.0.1/callback"},
		"code_verifier": {verifier},
		"client_id":     {oidctest.DefaultClient.ID},
		"client_secret": {oidctest.DefaultClient.Secret},
	})
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var tok struct {
		TokenType string `json:"token_type"`
		IDToken   string `json:"id_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	fmt.Println(resp.StatusCode, tok.TokenType, tok.IDToken != "")
	fmt.Println("code grants:", op.Stats().CodeGrants)
	// Output:
	// 302 /callback xyz true
	// 200 Bearer true
	// code grants: 1
}
