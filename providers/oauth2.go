package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/oidcrp/oidcrp/client"
)

// OAuth2 describes a provider that speaks OAuth 2.0 but not OpenID Connect,
// for the many "Log in with X" sites without a preset here: its endpoints,
// its user API, and where in that API's JSON answer the user's ID, name and
// e-mail are. Logins keep state and PKCE (client.OAuth2Provider). Discord,
// for example:
//
//	cfg, err := providers.OAuth2{
//		Issuer: "https://discord.com", AuthURL: "https://discord.com/oauth2/authorize",
//		TokenURL: "https://discord.com/api/oauth2/token", Scopes: []string{"identify", "email"},
//		UserURL: "https://discord.com/api/users/@me",
//		Subject: "id", Username: "username", Name: "global_name", Email: "email", EmailVerified: "verified",
//	}.Config(creds)
type OAuth2 struct {
	// Issuer names the provider in sessions and logs, such as
	// "https://discord.com". Required.
	Issuer string

	// AuthURL and TokenURL are the provider's endpoints. Required.
	// RevocationURL (RFC 7009) is optional.
	AuthURL, TokenURL, RevocationURL string

	// Scopes are asked for at login; none if nil.
	Scopes []string

	// UserURL answers a GET with the access token as a Bearer token with a
	// JSON object describing the user. Required.
	UserURL string

	// Subject is the member of UserURL's answer that holds the user's
	// stable ID, a string or a number (never a name users can change).
	// Members of nested objects are named by dot-separated paths
	// ("data.id"). Required.
	Subject string

	// Name, Username, Email and Picture are the members holding the user's
	// display name, login name, e-mail address and picture URL; "" where the
	// API has none.
	Name, Username, Email, Picture string

	// EmailVerified is the boolean member that says the provider verified
	// the e-mail. If empty, or false in an answer, the e-mail is left out:
	// an e-mail address a provider did not verify says nothing of who the
	// user is.
	EmailVerified string
}

// Config is the client.Config of the provider, for c.
func (o OAuth2) Config(c Credentials) (client.Config, error) {
	if o.Issuer == "" || o.AuthURL == "" || o.TokenURL == "" || o.UserURL == "" || o.Subject == "" {
		return client.Config{}, fmt.Errorf("%w: OAuth2 needs Issuer, AuthURL, TokenURL, UserURL and Subject", client.ErrInvalidConfig)
	}
	cfg := c.config("", o.Scopes...)
	cfg.OAuth2 = &client.OAuth2Provider{
		Issuer: o.Issuer, AuthURL: o.AuthURL, TokenURL: o.TokenURL, RevocationURL: o.RevocationURL,
		Identity: o.identity,
	}
	return cfg, nil
}

// identity asks UserURL who the token's user is.
func (o OAuth2) identity(ctx context.Context, hc *http.Client, token string) (*client.Identity, error) {
	var user map[string]any
	if err := getJSON(ctx, hc, o.UserURL, token, &user); err != nil {
		return nil, err
	}
	sub := str(lookup(user, o.Subject))
	if sub == "" {
		return nil, fmt.Errorf("%w: the user API's answer has no %s", client.ErrProviderResponse, o.Subject)
	}
	claims := map[string]any{}
	for name, member := range map[string]string{"name": o.Name, "preferred_username": o.Username, "picture": o.Picture} {
		if v := str(lookup(user, member)); member != "" && v != "" {
			claims[name] = v
		}
	}
	if email := str(lookup(user, o.Email)); o.Email != "" && email != "" && o.EmailVerified != "" && lookup(user, o.EmailVerified) == true {
		claims["email"], claims["email_verified"] = email, true
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	return &client.Identity{Subject: sub, Claims: raw}, nil
}

// maxUserAnswer bounds an answer of a provider's user API.
const maxUserAnswer = 1 << 20

// getJSON GETs url with token as a Bearer token, and decodes its JSON
// answer into v. A 401 or 403 is client.ErrAccessTokenRejected; a network
// failure or 5xx, client.ErrProviderUnavailable; anything else,
// client.ErrProviderResponse.
func getJSON(ctx context.Context, hc *http.Client, url, token string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", client.ErrProviderResponse, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", client.ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("%w: %s answered %d", client.ErrAccessTokenRejected, url, resp.StatusCode)
	case resp.StatusCode >= 500:
		return fmt.Errorf("%w: %s answered %d", client.ErrProviderUnavailable, url, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %s answered %d", client.ErrProviderResponse, url, resp.StatusCode)
	}
	dec := json.NewDecoder(io.LimitReader(resp.Body, maxUserAnswer))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", client.ErrProviderResponse, url, err)
	}
	return nil
}

// lookup returns the member of v at the dot-separated path, or nil.
func lookup(v map[string]any, path string) any {
	if path == "" {
		return nil
	}
	var cur any = v
	for part := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// str is v as a string: a string, or a number's digits.
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

var errNoUserID = fmt.Errorf("%w: the user API's answer has no id", client.ErrProviderResponse)
