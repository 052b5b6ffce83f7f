package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/discovery"
	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/internal/jwt"
)

// MultiTenant describes a provider whose one discovery document serves
// many tenants, each an issuer of its own, such as Microsoft Entra ID's
// "organizations" and "common" endpoints: the document's issuer is a
// template holding "{tenantid}", and each ID token names its tenant (tid)
// and the issuer the template makes of it. The issuer is checked all the
// same: against the template at discovery, and against the template filled
// with the token's own tid, which must be an allowed tenant, in every token.
type MultiTenant struct {
	// IssuerTemplate is the issuer the discovery document names, holding
	// "{tenantid}", e.g. "https://login.microsoftonline.com/{tenantid}/v2.0".
	// Required.
	IssuerTemplate string

	// Tenants are the tenant IDs whose users may log in; a token of any
	// other tenant is refused with ErrInvalidIssuer. Required unless
	// AnyTenant is set.
	Tenants []string

	// AnyTenant lets users of every tenant in: for apps sold to many
	// organizations that authorize by tenant themselves (IDToken.TenantID).
	// A token's iss must still be the template filled with its own tid.
	AnyTenant bool
}

// issuer returns the issuer the template makes of tenant, or "" when
// tenant is not one a URL path segment can hold.
func (m *MultiTenant) issuer(tenant string) string {
	if tenant == "" || len(tenant) > 128 || strings.ContainsAny(tenant, "/?#%{} ") {
		return ""
	}
	return strings.ReplaceAll(m.IssuerTemplate, "{tenantid}", tenant)
}

// allows reports whether iss is the issuer of an allowed tenant, tid.
func (m *MultiTenant) allows(iss, tid string) bool {
	if !m.AnyTenant && !slices.Contains(m.Tenants, tid) {
		return false
	}
	want := m.issuer(tid)
	return want != "" && iss == want
}

// tenantOf returns the tenant whose issuer iss is, by the template, or "".
func (m *MultiTenant) tenantOf(iss string) string {
	prefix, suffix, _ := strings.Cut(m.IssuerTemplate, "{tenantid}")
	if !strings.HasPrefix(iss, prefix) || !strings.HasSuffix(iss, suffix) || len(iss) < len(prefix)+len(suffix) {
		return ""
	}
	return iss[len(prefix) : len(iss)-len(suffix)]
}

func (m *MultiTenant) check() error {
	if strings.Count(m.IssuerTemplate, "{tenantid}") != 1 {
		return fmt.Errorf("%w: MultiTenant.IssuerTemplate %q must hold {tenantid} once", ErrInvalidConfig, m.IssuerTemplate)
	}
	if len(m.Tenants) == 0 && !m.AnyTenant {
		return fmt.Errorf("%w: MultiTenant needs Tenants, or AnyTenant", ErrInvalidConfig)
	}
	for _, t := range m.Tenants {
		if m.issuer(t) == "" {
			return fmt.Errorf("%w: MultiTenant tenant %q", ErrInvalidConfig, t)
		}
	}
	return nil
}

// OAuth2Provider describes a provider that speaks OAuth 2.0 but not OpenID
// Connect, as GitHub and most "Log in with X" sites do: no discovery
// document, no ID token. Who the user is comes from the provider's own API,
// which Identity asks with the access token. State and PKCE protect its
// logins as they do an OpenID Provider's; there is no nonce, and no
// signature to verify: an Identity is what the provider's API said over
// TLS, never a verified ID token.
type OAuth2Provider struct {
	// Issuer names the provider in sessions and logout records, such as
	// "https://github.com"; no document is fetched from it. Required.
	Issuer string

	// AuthURL and TokenURL are the authorization and token endpoints.
	// Required. RevocationURL (RFC 7009) is optional.
	AuthURL, TokenURL, RevocationURL string

	// Identity asks the provider's API who the access token's user is,
	// with client (the RP's HTTP client, with its timeout and redirect
	// policy). Required.
	Identity func(ctx context.Context, client *http.Client, accessToken string) (*Identity, error)
}

// Identity is who the user is according to an OAuth 2.0 provider's own API
// (OAuth2Provider.Identity): it stands where an OpenID Provider's verified
// ID token would, and is not one. It carries only what the API says; an
// e-mail address is verified only when the API says so.
type Identity struct {
	// Subject is the provider's stable, never reassigned ID of the user
	// (GitHub: the numeric user ID, not the login, which users can change).
	Subject string

	// Claims are the user's claims the session keeps, as a JSON object in
	// OpenID Connect's names (name, preferred_username, email,
	// email_verified, picture, ...). The email member is present only if
	// the provider verified it, with "email_verified": true.
	Claims json.RawMessage
}

// newOAuth2Provider is the discovery.Provider of an OAuth 2.0 provider:
// static metadata, no key set.
func newOAuth2Provider(cfg *Config) (*discovery.Provider, error) {
	o := cfg.OAuth2
	if o.Issuer == "" || o.AuthURL == "" || o.TokenURL == "" || o.Identity == nil {
		return nil, fmt.Errorf("%w: OAuth2 needs Issuer, AuthURL, TokenURL and Identity", ErrInvalidConfig)
	}
	md := &discovery.Metadata{
		Issuer:                            o.Issuer,
		AuthorizationEndpoint:             o.AuthURL,
		TokenEndpoint:                     o.TokenURL,
		RevocationEndpoint:                o.RevocationURL,
		ResponseTypesSupported:            []string{"code"},
		CodeChallengeMethodsSupported:     []string{"S256"},
		TokenEndpointAuthMethodsSupported: []string{string(cfg.AuthMethod)},
	}
	p, err := discovery.NewOAuth2(md, discovery.Config{HTTPClient: cfg.HTTPClient, InsecureAllowHTTP: cfg.InsecureAllowHTTP, Events: cfg.Events, Now: cfg.Now})
	if err != nil {
		return nil, discoveryError(err)
	}
	return p, nil
}

// ErrIDTokenRefused: Config.CheckIDToken refused an ID token (a Google
// Workspace domain not allowed, say). It matches ErrInvalidToken.
var ErrIDTokenRefused = jwt.NewError(events.ReasonIDTokenRefused, "client: ID token refused by Config.CheckIDToken")

// checkIDToken runs Config.CheckIDToken on t.
func (rp *RP) checkIDToken(t *IDToken) error {
	if rp.cfg.CheckIDToken == nil {
		return nil
	}
	if err := rp.cfg.CheckIDToken(t); err != nil {
		return fmt.Errorf("%w: %w", ErrIDTokenRefused, err)
	}
	return nil
}

// clientSecret is the client secret: Config.ClientSecretFunc's, or
// Config.ClientSecret.
func (rp *RP) clientSecret(ctx context.Context) (string, error) {
	if rp.cfg.ClientSecretFunc == nil {
		return rp.cfg.ClientSecret, nil
	}
	s, err := rp.cfg.ClientSecretFunc(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrClientAssertion, err)
	}
	return s, nil
}

// authParams are Config.AuthParams, checked: none may be a parameter the
// client sets itself.
func checkAuthParams(v url.Values) error {
	for k := range v {
		if reserved[k] {
			return fmt.Errorf("%w: AuthParams cannot set %q", ErrInvalidConfig, k)
		}
	}
	return nil
}
