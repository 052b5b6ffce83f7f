package providers

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/client"
)

// Credentials are what a provider registered the app with.
type Credentials struct {
	ClientID     string
	ClientSecret string // empty for public clients (PKCE only), and for Apple
	RedirectURL  string // the app's callback, registered at the provider
}

// config is the client.Config of an OpenID Provider at issuer.
func (c Credentials) config(issuer string, scopes ...string) client.Config {
	return client.Config{
		Issuer:       issuer,
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		RedirectURL:  c.RedirectURL,
		Scopes:       scopes,
	}
}

// GoogleIssuer is Google's issuer.
const GoogleIssuer = "https://accounts.google.com"

// ErrHostedDomain: a Google ID token's hd claim (the Workspace domain of the
// account) is missing or not one of the domains allowed. Login fails with
// it wrapped in client.ErrIDTokenRefused.
var ErrHostedDomain = errors.New("providers: Google account outside the allowed Workspace domains")

// Google is Google's OpenID Connect provider. With hostedDomains, only
// accounts of those Google Workspace domains may log in: the ID token's hd
// claim must be one of them (the hd parameter, sent when there is one
// domain, only preselects it at the account chooser: a user can change it).
// Refresh tokens come with access_type=offline (Google refuses the
// offline_access scope); include_granted_scopes lets incremental
// authorization keep the scopes granted before.
func Google(c Credentials, hostedDomains ...string) client.Config {
	cfg := c.config(GoogleIssuer, "openid", "email", "profile")
	cfg.IssuerAliases = []string{"accounts.google.com"}
	cfg.AuthParams = url.Values{"access_type": {"offline"}, "include_granted_scopes": {"true"}}
	if len(hostedDomains) == 1 {
		cfg.AuthParams.Set("hd", hostedDomains[0])
	}
	if len(hostedDomains) > 0 {
		domains := slices.Clone(hostedDomains)
		cfg.CheckIDToken = func(t *client.IDToken) error {
			var c struct {
				HD string `json:"hd"`
			}
			if err := t.Claims(&c); err != nil || !slices.Contains(domains, c.HD) {
				return fmt.Errorf("%w: hd %q", ErrHostedDomain, c.HD)
			}
			return nil
		}
	}
	return cfg
}

// microsoftBase is Microsoft Entra ID's login host.
const microsoftBase = "https://login.microsoftonline.com"

// Microsoft is one Microsoft Entra ID tenant (its ID or a verified domain
// of it): only that tenant's users log in.
func Microsoft(c Credentials, tenant string) client.Config {
	return c.config(microsoftBase+"/"+url.PathEscape(tenant)+"/v2.0", "openid", "email", "profile")
}

// MicrosoftMultiTenant is Microsoft Entra ID's multi-tenant endpoint:
// endpoint is "organizations" (work and school accounts) or "common" (those
// and personal Microsoft accounts, whose tenant is
// 9188040d-6c67-4c5b-b112-36a304b66dad). Its discovery document names the
// issuer template "https://login.microsoftonline.com/{tenantid}/v2.0"; each
// token's iss must be that template filled with the token's own tid, and
// the tid one of tenants. To let every tenant in (an app that authorizes by
// tenant itself, IDToken.TenantID), set the returned Config's
// MultiTenant.AnyTenant.
func MicrosoftMultiTenant(c Credentials, endpoint string, tenants ...string) client.Config {
	cfg := c.config(microsoftBase+"/"+url.PathEscape(endpoint)+"/v2.0", "openid", "email", "profile")
	cfg.MultiTenant = &client.MultiTenant{
		IssuerTemplate: microsoftBase + "/{tenantid}/v2.0",
		Tenants:        slices.Clone(tenants),
	}
	return cfg
}

// Okta is an Okta organization (domain, such as "example.okta.com"), with
// its org authorization server when authServer is empty, or a custom one
// ("default", or its ID), whose access tokens APIs can verify.
func Okta(c Credentials, domain, authServer string) client.Config {
	issuer := "https://" + domain
	if authServer != "" {
		issuer += "/oauth2/" + url.PathEscape(authServer)
	}
	return c.config(issuer, "openid", "email", "profile")
}

// Auth0 is an Auth0 tenant (domain, such as "example.eu.auth0.com", or a
// custom domain). Its issuer ends with a slash, which the exact issuer
// check keeps. With audience (an API registered at Auth0), access tokens are
// JWTs for that API; without, Auth0 issues opaque ones good for userinfo
// only.
func Auth0(c Credentials, domain, audience string) client.Config {
	cfg := c.config("https://"+domain+"/", "openid", "email", "profile")
	if audience != "" {
		cfg.AuthParams = url.Values{"audience": {audience}}
	}
	return cfg
}

// Keycloak is a Keycloak realm at baseURL (such as
// "https://sso.example.com", with "/auth" before version 17).
func Keycloak(c Credentials, baseURL, realm string) client.Config {
	return c.config(strings.TrimSuffix(baseURL, "/")+"/realms/"+url.PathEscape(realm), "openid", "email", "profile")
}

// GitLab is gitlab.com, or a self-managed GitLab at baseURL.
func GitLab(c Credentials, baseURL string) client.Config {
	if baseURL == "" {
		baseURL = "https://gitlab.com"
	}
	return c.config(strings.TrimSuffix(baseURL, "/"), "openid", "email", "profile")
}
