package interop_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oidcrp/oidcrp/oidctest"
)

// The clients registered at the provider.
const (
	confidentialID    = "interop-confidential"      // client_secret_basic, ID tokens signed ES256
	publicID          = "interop-public"            // PKCE only, ID tokens signed RS256
	privateKeyJWTID   = "interop-private-key-jwt"   // private_key_jwt (when asked for), ID tokens signed RS256
	clientSecretJWTID = "interop-client-secret-jwt" // client_secret_jwt (when asked for), ID tokens signed ES256
)

// stackConfig chooses what a test runs.
type stackConfig struct {
	AccessTokenTTL int    // seconds; 0: the provider's default of 600
	Scopes         string // OIDC_SCOPES; "": the app's default
	Confidential   bool   // run an app as the confidential client
	Public         bool   // run an app as the public client

	// PublicOnLocalhost names the public client's app http://localhost:port
	// (it still binds 127.0.0.1), so that a cookie jar keeps its cookies
	// apart from the confidential app's: cookies ignore ports.
	PublicOnLocalhost bool

	// BrokenBackchannel registers a back-channel logout URI of the
	// confidential app that answers 404.
	BrokenBackchannel bool

	// PrivateKeyJWT registers a client that authenticates with assertions
	// signed with its private key, of PrivateKeyType ("ec", the default;
	// "rsa"; "ed25519"; see newClientKey), and runs an app as it.
	// ClientSecretJWT does the same for assertions signed with a secret.
	PrivateKeyJWT   bool
	PrivateKeyType  string
	ClientSecretJWT bool

	// Issue 13's requests, for every client and app: PAR is the apps'
	// OIDC_PAR; RequirePAR makes the provider require pushed requests of
	// every client, RequirePARClient registers each client with
	// require_pushed_authorization_requests; FormPost is
	// OIDC_RESPONSE_MODE=form_post; DPoP is OIDC_DPOP=true, with the
	// provider requiring nonces. ProviderOnLocalhost names the provider
	// http://localhost:port, another site than the apps' 127.0.0.1.
	PAR                 string
	RequirePAR          bool
	RequirePARClient    bool
	FormPost            bool
	DPoP                bool
	ProviderOnLocalhost bool
}

// features sets cfg's request options in an app's environment.
func (cfg stackConfig) features(env webappEnv) webappEnv {
	env.PAR = cfg.PAR
	if cfg.FormPost {
		env.ResponseMode = "form_post"
	}
	if cfg.DPoP {
		env.DPoP = "true"
	}
	return env
}

// stack is oidc-provider with the two clients, and the apps the test
// asked for.
type stack struct {
	Provider        *provider
	Confidential    *webapp // nil unless asked for
	Public          *webapp // nil unless asked for
	PrivateKeyJWT   *webapp // nil unless asked for
	ClientSecretJWT *webapp // nil unless asked for

	PrivateKey clientKey // the private_key_jwt client's, when asked for
}

// app returns the app running as clientID.
func (s *stack) app(clientID string) *webapp {
	return map[string]*webapp{
		confidentialID: s.Confidential, publicID: s.Public,
		privateKeyJWTID: s.PrivateKeyJWT, clientSecretJWTID: s.ClientSecretJWT,
	}[clientID]
}

// startStack starts the provider and the apps of cfg, on free ports of
// 127.0.0.1; all stop when the test ends.
func startStack(t testing.TB, cfg stackConfig) *stack {
	t.Helper()
	needProvider(t)
	ports := freePorts(t, 5)
	confBase, confRedirect, confPostLogout, confBackchannel := webappURLs(ports[1])
	pubBase, pubRedirect, pubPostLogout, pubBackchannel := webappURLs(ports[2])
	if cfg.PublicOnLocalhost {
		// The provider calls the back-channel URI itself: it stays on
		// 127.0.0.1, the one host provider.mjs lets it reach.
		pubBase, pubRedirect, pubPostLogout = onLocalhost(pubBase), onLocalhost(pubRedirect), onLocalhost(pubPostLogout)
	}
	if cfg.BrokenBackchannel {
		confBackchannel = confBase + "/auth/no-such-backchannel-logout"
	}
	secret := rand.Text()
	s := &stack{}
	jwtClients, jwtApps := s.jwtClients(t, cfg, ports[3:5])
	clients := append([]clientMetadata{{
		ClientID:                confidentialID,
		ClientSecret:            secret,
		TokenEndpointAuthMethod: "client_secret_basic",
		IDTokenSignedAlg:        "ES256",
		RedirectURIs:            []string{confRedirect},
		PostLogoutRedirectURIs:  []string{confPostLogout},
		BackchannelLogoutURI:    confBackchannel,
	}, {
		ClientID:                publicID,
		TokenEndpointAuthMethod: "none",
		IDTokenSignedAlg:        "RS256",
		RedirectURIs:            []string{pubRedirect},
		PostLogoutRedirectURIs:  []string{pubPostLogout},
		BackchannelLogoutURI:    pubBackchannel,
	}}, jwtClients...)
	for i := range clients {
		clients[i].RequirePAR = cfg.RequirePARClient
	}
	pcfg := providerConfig{
		Port:           ports[0],
		AccessTokenTTL: cfg.AccessTokenTTL,
		RequirePAR:     cfg.RequirePAR,
		DPoPNonce:      cfg.DPoP,
		Clients:        clients,
	}
	if cfg.ProviderOnLocalhost {
		pcfg.Host = "localhost"
	}
	s.Provider = startProvider(t, pcfg)
	for _, a := range jwtApps {
		a.env.Issuer, a.env.Scopes = s.Provider.Issuer, cfg.Scopes
		*a.app = startWebapp(t, a.base, cfg.features(a.env))
	}
	if cfg.Confidential {
		s.Confidential = startWebapp(t, confBase, cfg.features(webappEnv{
			Issuer:                s.Provider.Issuer,
			ClientID:              confidentialID,
			ClientSecret:          secret,
			RedirectURL:           confRedirect,
			Scopes:                cfg.Scopes,
			PostLogoutRedirectURL: confPostLogout,
			ListenAddr:            fmt.Sprintf("127.0.0.1:%d", ports[1]),
		}))
	}
	if cfg.Public {
		s.Public = startWebapp(t, pubBase, cfg.features(webappEnv{
			Issuer:                s.Provider.Issuer,
			ClientID:              publicID,
			ClientSecret:          "", // a public client
			RedirectURL:           pubRedirect,
			Scopes:                cfg.Scopes,
			PostLogoutRedirectURL: pubPostLogout,
			ListenAddr:            fmt.Sprintf("127.0.0.1:%d", ports[2]),
		}))
	}
	return s
}

// onLocalhost replaces a URL's host 127.0.0.1 with localhost.
func onLocalhost(u string) string { return strings.Replace(u, "//127.0.0.1:", "//localhost:", 1) }

// onProvider reports whether page came from the provider.
func (s *stack) onProvider(page *oidctest.Page) bool {
	return strings.HasPrefix(page.URL.String(), s.Provider.Issuer+"/")
}

// login logs in to app as login (any name is an account of the provider)
// with a new browser-like client: the app's login link, the provider's
// login form, its consent form, and back to the app. It returns the
// client, the last page (the app's home page) and the provider forms it
// submitted ("login", "consent"), and fails the test at any other turn.
func (s *stack) login(ctx context.Context, t testing.TB, app *webapp, login string) (*oidctest.Browser, *oidctest.Page, []string) {
	t.Helper()
	b := oidctest.NewBrowser()
	page, err := b.Get(ctx, app.URL+"/auth/login", "Accept", acceptHTML)
	if err != nil {
		t.Fatalf("GET /auth/login: %v", err)
	}
	page, steps := s.interact(ctx, t, b, page, login)
	if page.StatusCode != http.StatusOK || page.URL.String() != app.URL+"/" {
		t.Fatalf("after the provider's forms %v: %v, want the app's home page", steps, page)
	}
	return b, page, steps
}

// interact fills and submits the provider's login and consent forms until
// the navigation leaves the provider, and returns the page it lands on and
// the forms submitted.
func (s *stack) interact(ctx context.Context, t testing.TB, b *oidctest.Browser, page *oidctest.Page, login string) (*oidctest.Page, []string) {
	t.Helper()
	var steps []string
	for s.onProvider(page) && len(steps) < 5 {
		if page.StatusCode != http.StatusOK {
			t.Fatalf("provider page after %v: %v", steps, page)
		}
		var (
			f    *htmlForm
			set  map[string]string
			step string
			err  error
		)
		if f, err = formWith(page, "prompt", "login"); err == nil && f != nil {
			step, set = "login", map[string]string{"login": login, "password": "any password"}
		} else if f, err = formWith(page, "prompt", "consent"); err == nil && f != nil {
			step = "consent"
		} else {
			t.Fatalf("provider page after %v has neither a login nor a consent form (%v): %v", steps, err, page)
		}
		if len(f.Buttons) == 0 {
			t.Fatalf("the provider's %s form has no submit button: %v", step, page)
		}
		steps = append(steps, step)
		if page, err = f.Submit(ctx, b, &f.Buttons[0], set); err != nil {
			t.Fatalf("submit the provider's %s form: %v", step, err)
		}
	}
	return page, steps
}

// getJSON GETs app's path as an API client, and decodes a 200 answer into v.
// It returns the status.
func getJSON(ctx context.Context, t testing.TB, b *oidctest.Browser, app *webapp, path string, v any) int {
	t.Helper()
	page, err := b.Get(ctx, app.URL+path, "Accept", "application/json")
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if page.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(page.Body, v); err != nil {
			t.Fatalf("GET %s: %v in %v", path, err, page)
		}
	}
	return page.StatusCode
}

// me is the app's /me answer.
type me struct {
	Sub    string         `json:"sub"`
	Claims map[string]any `json:"claims"`
}

// wantUser checks that claims are what the provider says of login.
func wantUser(t testing.TB, what string, login string, claims map[string]any) {
	t.Helper()
	want := map[string]any{
		"name":               "Interop " + login,
		"given_name":         "Interop",
		"family_name":        login,
		"preferred_username": login,
		"email":              login + "@example.test",
		"email_verified":     true,
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("%s claim %s = %#v, want %#v (all: %v)", what, k, claims[k], v, claims)
		}
	}
}

// sameSteps reports whether the provider forms submitted were want.
func sameSteps(got []string, want ...string) bool { return slices.Equal(got, want) }

// cookieNames lists the names of the cookies b sends to rawURL.
func cookieNames(b *oidctest.Browser, rawURL string) []string {
	u, _ := url.Parse(rawURL)
	var names []string
	for _, c := range b.Jar.Cookies(u) {
		names = append(names, c.Name)
	}
	return names
}

// uniqueLogin returns a login name of its own for a test, so that the
// provider's events of one test cannot be mistaken for another's.
func uniqueLogin(prefix string) string {
	return fmt.Sprintf("%s-%s", prefix, strings.ToLower(rand.Text()[:6]))
}
