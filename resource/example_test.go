package resource_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/resource"
)

// Guard an API route with access tokens: a JWT access token issued for
// the API's audience passes, with the scope the route requires.
func ExampleVerifier_Require() {
	op := oidctest.NewServer(oidctest.Config{}) // stands for the authorization server
	defer op.Close()

	v, err := resource.New(context.Background(), resource.Config{
		Issuer:   op.URL,
		Audience: "https://api.example.com",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	reports := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, _ := resource.TokenFrom(r.Context())
		fmt.Fprintf(w, "reports of %s, for client %s", t.Subject, t.ClientID)
	})
	h := v.Require(reports, "reports:read")

	for _, scope := range []string{"reports:read", "profile"} {
		token := op.AccessToken(oidctest.AccessTokenOptions{Audience: []string{"https://api.example.com"}, Scope: scope})
		r := httptest.NewRequest("GET", "https://api.example.com/reports", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
		if c := w.Header().Get("WWW-Authenticate"); c != "" {
			fmt.Println(c)
		}
	}
	// Output:
	// 200 reports of alice, for client oidctest-client
	// 403 {"error":"insufficient_scope","error_description":"the access token lacks a required scope"}
	// Bearer error="insufficient_scope", error_description="the access token lacks a required scope", scope="reports:read"
}

// A DPoP-bound token (RFC 9449) needs a fresh proof of its key with every
// request; the same token as a bearer token is refused.
func ExampleVerifier_Authenticate_dPoP() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	v, err := resource.New(context.Background(), resource.Config{
		Issuer:   op.URL,
		Audience: oidctest.DefaultAudience,
		Origin:   "https://api.example.com", // what clients put in htu
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	key := oidctest.NewDPoPKey("ES256") // the client's key
	token := op.AccessToken(oidctest.AccessTokenOptions{JKT: key.Thumbprint()})

	r := httptest.NewRequest("GET", "https://api.example.com/me", nil)
	r.Header.Set("Authorization", "DPoP "+token)
	r.Header.Set("DPoP", key.Proof(oidctest.DPoPProof{Method: "GET", URL: "https://api.example.com/me", AccessToken: token}))
	t, err := v.Authenticate(r)
	fmt.Println(t.Subject, t.JKT == key.Thumbprint(), err)

	_, err = v.Authenticate(r) // the same proof again
	fmt.Println(err)

	r.Header.Set("Authorization", "Bearer "+token)
	_, err = v.Authenticate(r)
	fmt.Println(err)
	// Output:
	// alice true <nil>
	// resource: DPoP proof replayed (jti seen before)
	// resource: DPoP-bound token without DPoP
}

// Take the access tokens of two providers on one API: each token is
// checked by the Verifier of the provider that issued it.
func ExampleNewIssuers() {
	google := oidctest.NewServer(oidctest.Config{}) // stand for two providers
	defer google.Close()
	microsoft := oidctest.NewServer(oidctest.Config{SigningAlg: "ES256"})
	defer microsoft.Close()

	var verifiers []*resource.Verifier
	for _, issuer := range []string{google.URL, microsoft.URL} {
		v, err := resource.New(context.Background(), resource.Config{Issuer: issuer, Audience: "https://api.example.com"})
		if err != nil {
			log.Fatal(err)
		}
		defer v.Close()
		verifiers = append(verifiers, v)
	}
	issuers, err := resource.NewIssuers(verifiers...)
	if err != nil {
		log.Fatal(err)
	}

	for _, op := range []*oidctest.Server{google, microsoft} {
		r := httptest.NewRequest("GET", "https://api.example.com/me", nil)
		r.Header.Set("Authorization", "Bearer "+op.AccessToken(oidctest.AccessTokenOptions{Audience: []string{"https://api.example.com"}}))
		t, err := issuers.Authenticate(r)
		fmt.Println(t.Issuer == op.URL, t.Subject, err)
	}
	// Output:
	// true alice <nil>
	// true alice <nil>
}
