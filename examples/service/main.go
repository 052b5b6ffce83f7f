// Command service is a service that calls an API as itself, with a client
// credentials token (RFC 6749 section 4.4) that the oidcrp library caches
// and renews: by default it calls the example web app's GET /api/me, which
// answers {"sub", "client_id", "scope"} for a valid access token.
//
//	OIDC_ISSUER=https://op.example OIDC_CLIENT_ID=svc OIDC_CLIENT_SECRET=... go run ./examples/service
//
// Environment:
//
//	OIDC_ISSUER         the provider; required
//	OIDC_CLIENT_ID      required: a confidential client allowed the
//	                    client_credentials grant
//	OIDC_CLIENT_SECRET  its secret (client_secret_basic)
//	OIDC_SCOPES         the scopes to ask for; default none (the provider's)
//	OIDC_AUDIENCE       sent as audience (Auth0, Okta, Keycloak); default none
//	OIDC_RESOURCE       sent as resource (RFC 8707); default none
//	API_URL             default http://127.0.0.1:8080/api/me
//	CALLS               how many calls to make, one token for all; default 1
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcrp/oidcrp/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

// run calls the API as configured by getenv and prints each answer.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	issuer, clientID := getenv("OIDC_ISSUER"), getenv("OIDC_CLIENT_ID")
	if issuer == "" || clientID == "" {
		return errors.New("OIDC_ISSUER and OIDC_CLIENT_ID are required")
	}
	api := getenv("API_URL")
	if api == "" {
		api = "http://127.0.0.1:8080/api/me"
	}
	calls := 1
	if v := getenv("CALLS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("CALLS %q is not a number from 1 to 1000", v)
		}
		calls = n
	}
	rp, err := client.New(ctx, client.Config{Issuer: issuer, ClientID: clientID, ClientSecret: getenv("OIDC_CLIENT_SECRET")})
	if err != nil {
		return fmt.Errorf("provider %s: %w", issuer, err)
	}
	defer rp.Close()
	req := client.ClientCredentialsRequest{Scopes: strings.Fields(getenv("OIDC_SCOPES"))}
	if v := getenv("OIDC_AUDIENCE"); v != "" {
		req.Audiences = []string{v}
	}
	if v := getenv("OIDC_RESOURCE"); v != "" {
		req.Resources = []string{v}
	}
	src, err := rp.ClientCredentialsSource(req)
	if err != nil {
		return err
	}
	httpClient := &http.Client{Transport: &oauth2.Transport{Source: src}, Timeout: 30 * time.Second}
	for range calls {
		if err := call(ctx, httpClient, api, stdout); err != nil {
			return err
		}
	}
	return nil
}

// call GETs api and prints its answer.
func call(ctx context.Context, c *http.Client, api string, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, api, nil)
	if err != nil {
		return fmt.Errorf("API_URL: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d: %.200s", api, resp.StatusCode, body)
	}
	fmt.Fprintf(stdout, "%s\n", strings.TrimSpace(string(body)))
	return nil
}
