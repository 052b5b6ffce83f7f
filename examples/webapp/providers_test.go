package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session/redisstore/redistest"
)

// TestProvidersEmbedded: OIDC_PROVIDERS alone starts an embedded provider
// for each; the login offers a choice, logs in with each, and /me names it.
func TestProvidersEmbedded(t *testing.T) {
	app := startApp(t, map[string]string{"OIDC_PROVIDERS": "a, b-2"})
	b := oidctest.NewBrowser()
	p, err := b.Get(testContext(t), app+"/auth/login?return_to=/me")
	if err != nil || p.StatusCode != http.StatusOK || !strings.Contains(string(p.Body), `href="/auth/login?provider=b-2&amp;return_to=%2Fme"`) {
		t.Fatalf("chooser: %v %v", p, err)
	}
	for _, name := range []string{"a", "b-2"} {
		b := oidctest.NewBrowser()
		p, err := b.Get(testContext(t), app+"/auth/login?provider="+name+"&return_to=/me")
		if err != nil || p.StatusCode != http.StatusOK || !strings.Contains(string(p.Body), `"provider":"`+name+`"`) || !strings.Contains(string(p.Body), `"sub":"demo"`) {
			t.Fatalf("login with %s: %v %v", name, p, err)
		}
		// The session's provider answers its userinfo.
		var info map[string]any
		if status := get(t, b, app+"/userinfo", &info); status != http.StatusOK || info["sub"] != "demo" {
			t.Fatalf("userinfo of %s: %d %v", name, status, info)
		}
	}
	for _, q := range []string{"provider=c", "provider=A", "provider=a&provider=b-2"} {
		if p, err := b.Get(testContext(t), app+"/auth/login?"+q); err != nil || p.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %v %v", q, p, err)
		}
	}
}

// TestProvidersLogoutIsolation is issue 14's acceptance: alice at provider
// a and alice at provider b are two users; a back-channel logout from b
// ends b's session only, with cookie sessions and with Redis.
func TestProvidersLogoutIsolation(t *testing.T) {
	for _, store := range []string{"cookie", "redis"} {
		t.Run(store, func(t *testing.T) {
			l := listen(t)
			ops := map[string]*oidctest.Server{}
			vars := map[string]string{"OIDC_PROVIDERS": "a,b"}
			for i, name := range []string{"a", "b"} {
				c := oidctest.DefaultClient
				c.BackchannelLogoutURI = "http://" + l.Addr().String() + "/auth/backchannel-logout"
				op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{c}, SigningAlg: []string{"RS256", "ES256"}[i]})
				t.Cleanup(op.Close)
				ops[name] = op
				p := envPrefix(name)
				vars[p+"ISSUER"], vars[p+"CLIENT_ID"], vars[p+"CLIENT_SECRET"] = op.URL, c.ID, c.Secret
			}
			if store == "redis" {
				vars["REDIS_URL"] = redistest.Start(t).URL
			}
			app := serveApp(t, store, l, vars)
			browsers := map[string]*oidctest.Browser{}
			for name := range ops {
				b := oidctest.NewBrowser()
				p, err := b.Get(testContext(t), app.url+"/auth/login?provider="+name+"&return_to=/me")
				if err != nil || !strings.Contains(string(p.Body), `"sub":"alice"`) {
					t.Fatalf("login with %s: %v %v", name, p, err)
				}
				browsers[name] = b
			}
			ops["b"].Logout("alice")
			if errs := ops["b"].DeliveryErrors(); len(errs) > 0 || ops["b"].Stats().BackchannelLogouts != 1 {
				t.Fatalf("delivery: %v", errs)
			}
			if status := get(t, browsers["b"], app.url+"/me", nil); status != http.StatusUnauthorized {
				t.Fatalf("b's session after b's logout: %d", status)
			}
			var me map[string]any
			if status := get(t, browsers["a"], app.url+"/me", &me); status != http.StatusOK || me["provider"] != "a" {
				t.Fatalf("a's session after b's logout of the same sub: %d %v", status, me)
			}
			ops["a"].Logout("alice")
			if status := get(t, browsers["a"], app.url+"/me", nil); status != http.StatusUnauthorized {
				t.Fatalf("a's session after a's logout: %d", status)
			}
		})
	}
}

func TestProvidersConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"OIDC_PROVIDERS": "a,B"}, `OIDC_PROVIDERS: "B" is not a name`},
		{map[string]string{"OIDC_PROVIDERS": "a,,b"}, `OIDC_PROVIDERS: "" is not a name`},
		{map[string]string{"OIDC_PROVIDERS": "a,a"}, `share the variables OIDC_A_*`},
		{map[string]string{"OIDC_PROVIDERS": "a", "OIDC_A_ISSUER": "https://op.example.com"}, "OIDC_A_CLIENT_ID is required"},
		{map[string]string{"OIDC_PROVIDERS": "g", "OIDC_G_PRESET": "gogle", "OIDC_G_CLIENT_ID": "x"}, `OIDC_G_PRESET "gogle" is not one of`},
		{map[string]string{"OIDC_PROVIDERS": "g", "OIDC_G_PRESET": "google", "OIDC_G_CLIENT_ID": "x", "OIDC_G_ISSUER": "https://op.example.com"}, "OIDC_G_ISSUER is set, but the preset google has its own issuer"},
		{map[string]string{"OIDC_PROVIDERS": "ms", "OIDC_MS_PRESET": "microsoft", "OIDC_MS_CLIENT_ID": "x"}, "OIDC_MS_PRESET microsoft needs a tenant"},
		{map[string]string{"OIDC_PROVIDERS": "ms", "OIDC_MS_PRESET": "microsoft:common", "OIDC_MS_CLIENT_ID": "x"}, "needs the tenants allowed"},
		{map[string]string{"OIDC_PROVIDERS": "o", "OIDC_O_PRESET": "okta", "OIDC_O_CLIENT_ID": "x"}, "OIDC_O_PRESET okta needs OIDC_O_ISSUER"},
		{map[string]string{"OIDC_PROVIDERS": "apple", "OIDC_APPLE_PRESET": "apple:TEAM", "OIDC_APPLE_CLIENT_ID": "x"}, "OIDC_APPLE_PRESET apple needs apple:<team-id>"},
		{map[string]string{"OIDC_PROVIDERS": "apple", "OIDC_APPLE_PRESET": "apple:TEAM:KEY:/nonexistent.p8", "OIDC_APPLE_CLIENT_ID": "x"}, "OIDC_APPLE_PRESET apple: open /nonexistent.p8"},
		{map[string]string{"OIDC_PROVIDERS": "gh", "OIDC_GH_PRESET": "github", "OIDC_GH_CLIENT_ID": "x", "OIDC_GH_ISSUER": "https://ghe.example.com"}, "use OIDC_GH_PRESET github:<its URL>"},
		{map[string]string{"OIDC_PROVIDERS": "a", "OIDC_A_ISSUER": "https://op.example.com", "OIDC_A_CLIENT_ID": "x", "OIDC_AUTH_METHOD": "client_secret_post"}, "OIDC_AUTH_METHOD client_secret_post needs OIDC_A_CLIENT_SECRET"},
	} {
		cfg, err := configFromEnv(env(tt.vars))
		if err == nil {
			_, err = cfg.clientConfigs()
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: %v, want %q", tt.vars, err, tt.want)
		}
	}
}

func TestPresets(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "AuthKey.p8")
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	vars := map[string]string{
		"OIDC_PROVIDERS":     "google,ms,ms-any,ms-one,auth0,gitlab,apple,github,ghe,kc",
		"OIDC_GOOGLE_PRESET": "google:example.com,example.org", "OIDC_GOOGLE_CLIENT_ID": "g", "OIDC_GOOGLE_CLIENT_SECRET": "gs",
		"OIDC_MS_PRESET": "microsoft:organizations:t1,t2", "OIDC_MS_CLIENT_ID": "m",
		"OIDC_MS_ANY_PRESET": "microsoft:common:*", "OIDC_MS_ANY_CLIENT_ID": "m",
		"OIDC_MS_ONE_PRESET": "microsoft:contoso.onmicrosoft.com", "OIDC_MS_ONE_CLIENT_ID": "m",
		"OIDC_AUTH0_PRESET": "auth0:https://api.example.com", "OIDC_AUTH0_ISSUER": "https://example.eu.auth0.com", "OIDC_AUTH0_CLIENT_ID": "a",
		"OIDC_GITLAB_PRESET": "gitlab", "OIDC_GITLAB_CLIENT_ID": "gl", "OIDC_GITLAB_SCOPES": "openid email",
		"OIDC_APPLE_PRESET": "apple:TEAM123:KEY456:" + keyFile, "OIDC_APPLE_CLIENT_ID": "com.example.web",
		"OIDC_GITHUB_PRESET": "github", "OIDC_GITHUB_CLIENT_ID": "gh", "OIDC_GITHUB_CLIENT_SECRET": "ghs",
		"OIDC_GHE_PRESET": "github:https://ghe.example.com/", "OIDC_GHE_CLIENT_ID": "gh",
		"OIDC_KC_PRESET": "keycloak", "OIDC_KC_ISSUER": "https://sso.example.com/realms/acme", "OIDC_KC_CLIENT_ID": "kc",
	}
	cfg, err := configFromEnv(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	ccs, err := cfg.clientConfigs()
	if err != nil {
		t.Fatal(err)
	}
	c := map[string]client.Config{}
	for i, pc := range cfg.providers {
		c[pc.name] = ccs[i]
	}
	checks := map[string]bool{
		"google: issuer, hd, its check": c["google"].Issuer == "https://accounts.google.com" && c["google"].AuthParams.Get("include_granted_scopes") == "true" &&
			c["google"].CheckIDToken != nil && c["google"].AuthMethod == client.AuthClientSecretBasic,
		"microsoft multi-tenant: template and tenants": c["ms"].MultiTenant != nil && slices.Equal(c["ms"].MultiTenant.Tenants, []string{"t1", "t2"}) && !c["ms"].MultiTenant.AnyTenant &&
			c["ms"].Issuer == "https://login.microsoftonline.com/organizations/v2.0" && c["ms"].AuthMethod == client.AuthNone,
		"microsoft any tenant":                   c["ms-any"].MultiTenant != nil && c["ms-any"].MultiTenant.AnyTenant,
		"microsoft one tenant":                   c["ms-one"].MultiTenant == nil && c["ms-one"].Issuer == "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0",
		"auth0: issuer with its slash, audience": c["auth0"].Issuer == "https://example.eu.auth0.com/" && c["auth0"].AuthParams.Get("audience") == "https://api.example.com",
		"gitlab: gitlab.com, the scopes asked":   c["gitlab"].Issuer == "https://gitlab.com" && slices.Equal(c["gitlab"].Scopes, []string{"openid", "email"}),
		"apple: made secret, form_post":          c["apple"].ClientSecretFunc != nil && c["apple"].ResponseMode == client.ResponseModeFormPost && c["apple"].AuthMethod == client.AuthClientSecretPost,
		"github: OAuth 2.0":                      c["github"].OAuth2 != nil && c["github"].OAuth2.AuthURL == "https://github.com/login/oauth/authorize",
		"github enterprise":                      c["ghe"].OAuth2 != nil && c["ghe"].OAuth2.AuthURL == "https://ghe.example.com/login/oauth/authorize",
		"keycloak: its issuer":                   c["kc"].Issuer == "https://sso.example.com/realms/acme",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s: %+v", name, c)
		}
	}
}

func TestURLsCommand(t *testing.T) {
	var out strings.Builder
	w := func(format string, a ...any) { out.WriteString(fmt.Sprintf(format, a...)) }
	if err := printURLs([]string{"-secure", "app.example.com"}, env(map[string]string{"OIDC_PRIVATE_KEY_FILE": "k.pem"}), w); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Redirect URI:                 https://app.example.com/auth/callback\n",
		"Post-logout redirect URI:     https://app.example.com/\n",
		"Back-channel logout URI:      https://app.example.com/auth/backchannel-logout\n",
		"Front-channel logout URI:     https://app.example.com/auth/frontchannel-logout\n",
		"JWKS URI (private_key_jwt):   https://app.example.com/auth/jwks.json\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	vars := env(map[string]string{"OIDC_PROVIDERS": "google,corp", "OIDC_GOOGLE_PRESET": "google", "OIDC_GOOGLE_CLIENT_ID": "x", "OIDC_CORP_ISSUER": "https://sso.corp.example", "OIDC_CORP_CLIENT_ID": "y"})
	if err := printURLs([]string{"localhost:8080"}, vars, w); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "Provider google (google):\n  Redirect URI:                 http://localhost:8080/auth/callback\n") ||
		!strings.Contains(s, "Provider corp (https://sso.corp.example):\n") || strings.Contains(s, "JWKS") {
		t.Errorf("output:\n%s", s)
	}
	for _, args := range [][]string{nil, {"-secure"}, {"a", "b"}, {"http://x"}, {""}} {
		if err := printURLs(args, env(nil), w); err != errUsage {
			t.Errorf("%q: %v", args, err)
		}
	}
}
