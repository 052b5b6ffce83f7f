package interop_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

const multiID = "interop-multi" // the app's client at both providers

// TestHTTPTwoProviders is issue 14's interop acceptance: one app with two
// oidc-provider instances (two issuers) as OIDC_PROVIDERS. A user logs in
// with each in turn (one account name at both: two users, as a sub is
// unique per issuer only); logging out at the second provider, whose
// back-channel logout reaches the app, ends that session only.
func TestHTTPTwoProviders(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	needProvider(t)
	ports := freePorts(t, 3)
	base, redirect, postLogout, backchannel := webappURLs(ports[2])
	secret := rand.Text()
	client := clientMetadata{
		ClientID: multiID, ClientSecret: secret, TokenEndpointAuthMethod: "client_secret_basic",
		RedirectURIs: []string{redirect}, PostLogoutRedirectURIs: []string{postLogout}, BackchannelLogoutURI: backchannel,
		GrantTypes: []string{"authorization_code", "refresh_token", "client_credentials"},
	}
	audience := base + "/api"
	resources := map[string]resourceServer{
		jwtResource:    {Audience: audience, Scope: "api:read", Format: "jwt"},
		opaqueResource: {Audience: audience, Scope: "api:read", Format: "opaque"},
	}
	one := &stack{Provider: startProvider(t, providerConfig{Port: ports[0], Clients: []clientMetadata{client}, ResourceServers: resources})}
	client.IDTokenSignedAlg = "ES256"
	two := &stack{Provider: startProvider(t, providerConfig{Port: ports[1], Clients: []clientMetadata{client}, ResourceServers: resources})}
	app := startWebapp(t, base, webappEnv{
		RedirectURL: redirect, PostLogoutRedirectURL: postLogout, ListenAddr: fmt.Sprintf("127.0.0.1:%d", ports[2]),
		APIAudience: audience,
		Extra: map[string]string{
			"OIDC_PROVIDERS":     "one,two",
			"OIDC_ONE_ISSUER":    one.Provider.Issuer,
			"OIDC_ONE_CLIENT_ID": multiID, "OIDC_ONE_CLIENT_SECRET": secret,
			"OIDC_TWO_ISSUER":    two.Provider.Issuer,
			"OIDC_TWO_CLIENT_ID": multiID, "OIDC_TWO_CLIENT_SECRET": secret,
		},
	})
	login := uniqueLogin("multi")

	// The login page offers both.
	b := map[string]*oidctest.Browser{"one": oidctest.NewBrowser(), "two": oidctest.NewBrowser()}
	chooser, err := b["one"].Get(ctx, app.URL+"/auth/login", "Accept", acceptHTML)
	if err != nil || chooser.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/login: %v %v", chooser, err)
	}
	for _, name := range []string{"one", "two"} {
		s := map[string]*stack{"one": one, "two": two}[name]
		u, err := link(chooser, func(u *url.URL) bool { return u.Query().Get("provider") == name })
		if err != nil || u == nil {
			t.Fatalf("no link to %s on the chooser page (%v): %v", name, err, chooser)
		}
		page, err := b[name].Get(ctx, chooser.URL.ResolveReference(u).String(), "Accept", acceptHTML)
		if err != nil {
			t.Fatal(err)
		}
		if !s.onProvider(page) {
			t.Fatalf("login with %s went to %v, not %s", name, page, s.Provider.Issuer)
		}
		home, steps := s.interact(ctx, t, b[name], page, login)
		if !sameSteps(steps, "login", "consent") || home.URL.String() != app.URL+"/" {
			t.Fatalf("login with %s: forms %v, landed on %v", name, steps, home)
		}
		var m struct {
			me
			Provider string `json:"provider"`
		}
		if status := getJSON(ctx, t, b[name], app, "/me", &m); status != http.StatusOK || m.Sub != login || m.Provider != name {
			t.Fatalf("/me after login with %s: %d %+v", name, status, m)
		}
		if codes := s.Provider.Events(grant("authorization_code", multiID)); len(codes) != 1 {
			t.Fatalf("%s's code grants: %+v", name, codes)
		}
	}

	// Logging out of the app's session with two: RP-initiated logout at
	// two, whose back-channel logout reaches the app.
	two.logout(ctx, t, b["two"], app, multiID)
	if _, err := two.Provider.WaitEvent(ctx, func(ev providerEvent) bool {
		return ev.Event == "backchannel.success" && ev.ClientID == multiID && ev.Sub == login
	}); err != nil {
		t.Fatalf("no back-channel logout from two: %v", err)
	}
	if status := getJSON(ctx, t, b["two"], app, "/me", nil); status != http.StatusUnauthorized {
		t.Errorf("two's session after its logout: %d, want 401", status)
	}
	var m struct {
		me
		Provider string `json:"provider"`
	}
	if status := getJSON(ctx, t, b["one"], app, "/me", &m); status != http.StatusOK || m.Sub != login || m.Provider != "one" {
		t.Errorf("one's session of the same sub after two's logout: %d %+v, want 200", status, m)
	}
	// The app's API takes either provider's JWT access tokens, and
	// introspects opaque ones at the first provider only: two's is refused
	// (had it been introspected at two, two would have vouched for it).
	for _, s := range []*stack{one, two} {
		api := &apiStack{issuer: s.Provider.Issuer, app: app.URL, secret: secret, clientID: multiID}
		tok, _ := api.token(ctx, t, jwtResource, nil)
		if status, me, _ := api.me(ctx, t, "Bearer "+tok, ""); status != http.StatusOK || me.ClientID != multiID {
			t.Errorf("/api/me with a JWT access token of %s: %d %+v, want 200", s.Provider.Issuer, status, me)
		}
	}
	for _, tc := range []struct {
		s    *stack
		want int
	}{{one, http.StatusOK}, {two, http.StatusUnauthorized}} {
		api := &apiStack{issuer: tc.s.Provider.Issuer, app: app.URL, secret: secret, clientID: multiID}
		tok, _ := api.token(ctx, t, opaqueResource, nil)
		if status, me, _ := api.me(ctx, t, "Bearer "+tok, ""); status != tc.want {
			t.Errorf("/api/me with an opaque access token of %s: %d %+v, want %d", tc.s.Provider.Issuer, status, me, tc.want)
		}
	}

	if app.Logged("back-channel logout refused") {
		t.Errorf("the app refused a logout token:\n%s", strings.TrimSpace(app.log.String()))
	}
}
