package providers

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/oidcrp/oidcrp/client"
)

// GitHub is GitHub's OAuth 2.0 login, which has no OpenID Connect: no ID
// token, so the user is what GitHub's API says to the access token
// (client.Identity, never taken for a verified ID token). The subject is
// the numeric user ID (a login name can be renamed, and then taken by
// someone else); the claims are name, preferred_username (the login),
// picture, profile, and email with email_verified only for the primary
// address GitHub verified: an unverified one is left out. Scopes:
// read:user and user:email.
func GitHub(c Credentials) client.Config {
	return GitHubEnterprise(c, "https://github.com", "https://api.github.com")
}

// GitHubEnterprise is GitHub at baseURL (its web host) with its API at
// apiURL, for GitHub Enterprise Server ("https://github.example.com" and
// "https://github.example.com/api/v3").
func GitHubEnterprise(c Credentials, baseURL, apiURL string) client.Config {
	baseURL, apiURL = strings.TrimSuffix(baseURL, "/"), strings.TrimSuffix(apiURL, "/")
	cfg := c.config("", "read:user", "user:email")
	gh := gitHub{api: apiURL}
	cfg.OAuth2 = &client.OAuth2Provider{
		Issuer:   baseURL,
		AuthURL:  baseURL + "/login/oauth/authorize",
		TokenURL: baseURL + "/login/oauth/access_token",
		Identity: gh.identity,
	}
	return cfg
}

type gitHub struct{ api string }

// identity reads /user, and /user/emails for the verified primary address.
func (g gitHub) identity(ctx context.Context, hc *http.Client, token string) (*client.Identity, error) {
	var user struct {
		ID        json.Number `json:"id"`
		Login     string      `json:"login"`
		Name      string      `json:"name"`
		AvatarURL string      `json:"avatar_url"`
		HTMLURL   string      `json:"html_url"`
	}
	if err := getJSON(ctx, hc, g.api+"/user", token, &user); err != nil {
		return nil, err
	}
	if user.ID == "" {
		return nil, errNoUserID
	}
	claims := map[string]any{"preferred_username": user.Login}
	for k, v := range map[string]string{"name": user.Name, "picture": user.AvatarURL, "profile": user.HTMLURL} {
		if v != "" {
			claims[k] = v
		}
	}
	var emails []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	// Without the user:email scope the list is refused: the login goes on
	// without an e-mail.
	if err := getJSON(ctx, hc, g.api+"/user/emails", token, &emails); err == nil {
		for _, e := range emails {
			if e.Primary && e.Verified && e.Email != "" {
				claims["email"], claims["email_verified"] = e.Email, true
			}
		}
	}
	raw, err := json.Marshal(claims)
	if err != nil {
		return nil, err
	}
	return &client.Identity{Subject: user.ID.String(), Claims: raw}, nil
}
