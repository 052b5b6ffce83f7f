package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/providers"
)

// providerConfig is one provider of OIDC_PROVIDERS, read from its
// OIDC_<NAME>_* variables.
type providerConfig struct {
	name         string
	issuer       string // OIDC_<NAME>_ISSUER; "" with neither it nor a preset: an embedded provider
	clientID     string
	clientSecret string
	scopes       []string
	preset       string // OIDC_<NAME>_PRESET, as given: "google", "microsoft:organizations:<tid>", ...
}

// embedded reports whether the provider is an embedded development one.
func (pc providerConfig) embedded() bool { return pc.issuer == "" && pc.preset == "" }

var providerNamePattern = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// envPrefix is the prefix of a provider's variables: OIDC_<NAME>_, NAME
// upper-cased with "-" made "_".
func envPrefix(name string) string {
	return "OIDC_" + strings.ReplaceAll(strings.ToUpper(name), "-", "_") + "_"
}

// providersFromEnv reads OIDC_PROVIDERS and each provider's variables; nil
// when it is unset (the one provider of OIDC_ISSUER).
func providersFromEnv(getenv func(string) string) ([]providerConfig, error) {
	list := getenv("OIDC_PROVIDERS")
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []providerConfig
	prefixes := map[string]string{}
	for name := range strings.SplitSeq(list, ",") {
		name = strings.TrimSpace(name)
		if !providerNamePattern.MatchString(name) {
			return nil, fmt.Errorf("OIDC_PROVIDERS: %q is not a name of lower-case letters, digits and -", name)
		}
		p := envPrefix(name)
		if other, dup := prefixes[p]; dup {
			return nil, fmt.Errorf("OIDC_PROVIDERS: %q and %q share the variables %s*", other, name, p)
		}
		prefixes[p] = name
		pc := providerConfig{
			name:         name,
			issuer:       getenv(p + "ISSUER"),
			clientID:     getenv(p + "CLIENT_ID"),
			clientSecret: getenv(p + "CLIENT_SECRET"),
			scopes:       strings.Fields(getenv(p + "SCOPES")),
			preset:       getenv(p + "PRESET"),
		}
		if !pc.embedded() && pc.clientID == "" {
			return nil, fmt.Errorf("%sCLIENT_ID is required", p)
		}
		out = append(out, pc)
	}
	return out, nil
}

// providerList is the providers: those of OIDC_PROVIDERS, or the one of
// OIDC_ISSUER, named "default" (see middleware.ProviderName).
func (cfg *config) providerList() []providerConfig {
	if cfg.providers != nil {
		return cfg.providers
	}
	return []providerConfig{{name: "default", issuer: cfg.issuer, clientID: cfg.clientID, clientSecret: cfg.clientSecret, scopes: cfg.scopes}}
}

// prefix is the prefix of pc's variables.
func (cfg *config) prefix(pc providerConfig) string {
	if cfg.providers == nil {
		return "OIDC_"
	}
	return envPrefix(pc.name)
}

// clientConfigs returns the client.Config of each provider of
// providerList, in order; that of an embedded provider lacks the issuer,
// known once it started.
func (cfg *config) clientConfigs() ([]client.Config, error) {
	var out []client.Config
	for _, pc := range cfg.providerList() {
		prefix := cfg.prefix(pc)
		var (
			c   client.Config
			err error
		)
		switch {
		case cfg.providers == nil:
			// The demo client of an embedded provider and the method
			// were settled by clientAuthFromEnv.
			c = client.Config{Issuer: pc.issuer, ClientID: pc.clientID, ClientSecret: pc.clientSecret, AuthMethod: cfg.authMethod}
		case pc.embedded():
			c.AuthMethod, c.ClientID, c.ClientSecret, err = cfg.clientAuth(prefix, true, pc.clientID, pc.clientSecret)
		default:
			if c, err = pc.clientConfig(cfg.redirectURL); err == nil && c.AuthMethod == "" && c.ClientSecretFunc == nil {
				c.AuthMethod, _, _, err = cfg.clientAuth(prefix, false, pc.clientID, pc.clientSecret)
			}
		}
		if err != nil {
			return nil, err
		}
		c.RedirectURL = cfg.redirectURL
		if len(pc.scopes) > 0 {
			c.Scopes = pc.scopes
		}
		if len(c.Scopes) == 0 {
			c.Scopes = []string{"openid", "profile", "email"}
		}
		if c.AuthMethod == client.AuthPrivateKeyJWT {
			c.PrivateKey, c.PrivateKeyID = cfg.privateKey, cfg.privateKeyID
		}
		if pc.preset == "" {
			// How requests are made, for providers without a preset:
			// presets make them as their provider needs.
			c.PushedAuthorizationRequests, c.ResponseMode, c.DPoP = cfg.par, cfg.responseMode, cfg.dpop
		}
		out = append(out, c)
	}
	return out, nil
}

// presets names the values OIDC_<NAME>_PRESET takes, for error messages.
const presets = "google[:domain,...], microsoft:<tenant>, microsoft:organizations|common:<tenant-id>,...|*, okta, auth0[:audience], keycloak, gitlab, apple:<team-id>:<key-id>:<key.p8 path>, github[:<enterprise URL>]"

// clientConfig is the provider's client.Config as its preset makes it, or a
// plain OpenID Provider's at its issuer.
func (pc providerConfig) clientConfig(redirectURL string) (client.Config, error) {
	p := envPrefix(pc.name)
	creds := providers.Credentials{ClientID: pc.clientID, ClientSecret: pc.clientSecret, RedirectURL: redirectURL}
	kind, arg, _ := strings.Cut(pc.preset, ":")
	fixedIssuer := func() error {
		if pc.issuer != "" {
			return fmt.Errorf("%sISSUER is set, but the preset %s has its own issuer: unset it", p, kind)
		}
		return nil
	}
	needsIssuer := func() error {
		if pc.issuer == "" {
			return fmt.Errorf("%sPRESET %s needs %sISSUER", p, kind, p)
		}
		return nil
	}
	var (
		cfg client.Config
		err error
	)
	switch kind {
	case "", "okta", "keycloak":
		// Okta (an org or custom authorization server) and Keycloak (a
		// realm) are plain OpenID Providers at their issuer.
		if err = needsIssuer(); err == nil {
			cfg = client.Config{Issuer: pc.issuer, ClientID: pc.clientID, ClientSecret: pc.clientSecret, RedirectURL: redirectURL}
		}
	case "google":
		if err = fixedIssuer(); err == nil {
			cfg = providers.Google(creds, list(arg)...)
		}
	case "microsoft":
		err = fixedIssuer()
		endpoint, tenants, multi := strings.Cut(arg, ":")
		switch {
		case err != nil:
		case endpoint == "":
			err = fmt.Errorf("%sPRESET microsoft needs a tenant: microsoft:<tenant>, or microsoft:organizations:<tenant-id>,...", p)
		case multi && tenants == "*":
			cfg = providers.MicrosoftMultiTenant(creds, endpoint)
			cfg.MultiTenant.AnyTenant = true
		case multi:
			cfg = providers.MicrosoftMultiTenant(creds, endpoint, list(tenants)...)
		case endpoint == "organizations" || endpoint == "common" || endpoint == "consumers":
			err = fmt.Errorf("%sPRESET microsoft:%s needs the tenants allowed: microsoft:%s:<tenant-id>,... (or * for any)", p, endpoint, endpoint)
		default:
			cfg = providers.Microsoft(creds, endpoint)
		}
	case "auth0":
		if err = needsIssuer(); err == nil {
			// Auth0's issuer ends with a slash.
			domain := strings.TrimSuffix(strings.TrimPrefix(pc.issuer, "https://"), "/")
			cfg = providers.Auth0(creds, domain, arg)
		}
	case "gitlab":
		cfg = providers.GitLab(creds, pc.issuer)
	case "apple":
		if err = fixedIssuer(); err == nil {
			cfg, err = appleConfig(p, creds, arg)
		}
	case "github":
		if pc.issuer != "" {
			err = fmt.Errorf("%sISSUER is set: for GitHub Enterprise, use %sPRESET github:<its URL>", p, p)
		} else if arg == "" {
			cfg = providers.GitHub(creds)
		} else {
			base := strings.TrimSuffix(arg, "/")
			cfg = providers.GitHubEnterprise(creds, base, base+"/api/v3")
		}
	default:
		err = fmt.Errorf("%sPRESET %q is not one of %s", p, pc.preset, presets)
	}
	return cfg, err
}

// appleConfig is Sign in with Apple's, arg being
// "<team-id>:<key-id>:<path of the .p8 key>".
func appleConfig(prefix string, creds providers.Credentials, arg string) (client.Config, error) {
	parts := strings.SplitN(arg, ":", 3)
	if len(parts) != 3 || slices.Contains(parts, "") {
		return client.Config{}, fmt.Errorf("%sPRESET apple needs apple:<team-id>:<key-id>:<path of the .p8 key>", prefix)
	}
	data, err := os.ReadFile(parts[2])
	if err != nil {
		return client.Config{}, fmt.Errorf("%sPRESET apple: %w", prefix, err)
	}
	key, err := client.ParsePrivateKey(data)
	if err != nil {
		return client.Config{}, fmt.Errorf("%sPRESET apple: %s: %w", prefix, parts[2], err)
	}
	return providers.Apple(creds, providers.AppleKey{TeamID: parts[0], KeyID: parts[1], Key: key})
}

// list splits a comma-separated list, dropping empty items.
func list(s string) []string {
	var out []string
	for v := range strings.SplitSeq(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// errUsage: the command line is wrong.
var errUsage = errors.New("usage: webapp urls [-secure] HOST[:PORT]")

// printURLs answers "webapp urls [-secure] HOST": the URIs to register at
// each provider, for an app served at HOST (over https with -secure).
func printURLs(args []string, getenv func(string) string, w func(format string, a ...any)) error {
	secure := false
	if len(args) > 0 && (args[0] == "-secure" || args[0] == "--secure") {
		secure, args = true, args[1:]
	}
	if len(args) != 1 || args[0] == "" || strings.ContainsAny(args[0], "/?#@ ") {
		return errUsage
	}
	base := "http://" + args[0]
	if secure {
		base = "https://" + args[0]
	}
	pcs, err := providersFromEnv(getenv)
	if err != nil {
		return err
	}
	if pcs == nil {
		pcs = []providerConfig{{}} // the one provider
	}
	for i, pc := range pcs {
		if i > 0 {
			w("\n")
		}
		switch {
		case pc.name == "":
		case pc.preset != "":
			w("Provider %s (%s):\n", pc.name, strings.SplitN(pc.preset, ":", 2)[0])
		case pc.issuer != "":
			w("Provider %s (%s):\n", pc.name, pc.issuer)
		default:
			w("Provider %s (embedded):\n", pc.name)
		}
		w("  Redirect URI:                 %s/auth/callback\n", base)
		w("  Post-logout redirect URI:     %s/\n", base)
		w("  Back-channel logout URI:      %s/auth/backchannel-logout\n", base)
		w("  Front-channel logout URI:     %s/auth/frontchannel-logout\n", base)
		if getenv("OIDC_PRIVATE_KEY_FILE") != "" {
			w("  JWKS URI (private_key_jwt):   %s/auth/jwks.json\n", base)
		}
	}
	return nil
}
