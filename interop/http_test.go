package interop_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

// The HTTP driver: a cookie-jar client that follows redirects one hop at a
// time and submits the provider's forms, as a browser without JavaScript
// would.

// TestHTTPLoginConfidential logs in as the confidential client
// (client_secret_basic, ES256 ID tokens): /me shows the provider's sub and
// its profile and email claims, and /userinfo relays the provider's.
func TestHTTPLoginConfidential(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startStack(t, stackConfig{Confidential: true})
	testLogin(ctx, t, s, s.Confidential, confidentialID)
}

// TestHTTPLoginPublic logs in as the public client (PKCE only, no secret,
// RS256 ID tokens).
func TestHTTPLoginPublic(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startStack(t, stackConfig{Public: true})
	testLogin(ctx, t, s, s.Public, publicID)
}

func testLogin(ctx context.Context, t *testing.T, s *stack, app *webapp, clientID string) {
	login := uniqueLogin("ada")
	b, home, steps := s.login(ctx, t, app, login)
	if !sameSteps(steps, "login", "consent") {
		t.Errorf("provider forms submitted: %v, want [login consent]", steps)
	}
	if name, ok := elementText(home, "user"); !ok || name != "Interop "+login {
		t.Errorf("home page #user = %q (present %v), want %q: %v", name, ok, "Interop "+login, home)
	}
	// The hops of the login: the app, the provider, and the app's
	// callback with the provider's iss (RFC 9207).
	var callback *url.URL
	for _, hop := range home.Hops {
		if u, _ := url.Parse(hop); u != nil && strings.HasPrefix(hop, app.URL+"/auth/callback?") {
			callback = u
		}
	}
	if callback == nil {
		t.Fatalf("no hop through the app's callback: %v", home.Hops)
	}
	if q := callback.Query(); q.Get("code") == "" || q.Get("iss") != s.Provider.Issuer {
		t.Errorf("callback query %v: want a code and iss=%s", q, s.Provider.Issuer)
	}

	var m me
	if status := getJSON(ctx, t, b, app, "/me", &m); status != http.StatusOK {
		t.Fatalf("GET /me: %d, want 200", status)
	}
	if m.Sub != login {
		t.Errorf("/me sub = %q, want the login name %q", m.Sub, login)
	}
	wantUser(t, "/me", login, m.Claims)

	var info map[string]any
	if status := getJSON(ctx, t, b, app, "/userinfo", &info); status != http.StatusOK {
		t.Fatalf("GET /userinfo: %d, want 200", status)
	}
	if info["sub"] != login {
		t.Errorf("/userinfo sub = %v, want %q", info["sub"], login)
	}
	wantUser(t, "/userinfo", login, info)

	codes := s.Provider.Events(grant("authorization_code", clientID))
	if len(codes) != 1 || codes[0].Sub != login {
		t.Errorf("provider's authorization_code grants for %s: %+v, want one for %s", clientID, codes, login)
	}
	if refreshes := s.Provider.Events(grant("refresh_token", clientID)); len(refreshes) != 0 {
		t.Errorf("refresh_token grants without offline_access: %+v", refreshes)
	}
}

// TestHTTPRefreshPastExpiry logs in with offline_access, lets the
// provider's 5-second access token expire, and checks that /userinfo still
// answers: the app refreshed the token at the provider. It does so twice, so
// the second refresh uses the refresh token the provider rotated at the
// first (oidc-provider revokes the whole grant when a used one comes back).
// The client-assertion clients send a new assertion with each refresh.
func TestHTTPRefreshPastExpiry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		clientID string
	}{
		{"confidential", confidentialID},
		{"public", publicID},
		{"private_key_jwt", privateKeyJWTID},
		{"client_secret_jwt", clientSecretJWTID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
			defer cancel()
			const ttl = 5 // seconds
			s := startStack(t, stackConfig{
				AccessTokenTTL:  ttl,
				Scopes:          "openid profile email offline_access",
				Confidential:    tc.clientID == confidentialID,
				Public:          tc.clientID == publicID,
				PrivateKeyJWT:   tc.clientID == privateKeyJWTID,
				ClientSecretJWT: tc.clientID == clientSecretJWTID,
			})
			app := s.app(tc.clientID)
			login := uniqueLogin("grace")
			b, _, _ := s.login(ctx, t, app, login)
			loggedIn := time.Now()
			if codes := s.Provider.Events(grant("authorization_code", tc.clientID)); len(codes) != 1 {
				t.Fatalf("authorization_code grants: %+v, want 1", codes)
			}

			refreshPastExpiry(ctx, t, s, b, app, tc.clientID, login, loggedIn, ttl)
			if errs := s.Provider.Events(func(ev providerEvent) bool { return ev.Event == "grant.error" }); len(errs) != 0 {
				t.Errorf("provider's failed grants: %+v", errs)
			}
			if method := assertionMethods[tc.clientID]; method != "" {
				wantAuthMethod(t, s.Provider, tc.clientID, method)
			}
			var m me
			if status := getJSON(ctx, t, b, app, "/me", &m); status != http.StatusOK || m.Sub != login {
				t.Errorf("GET /me after the refreshes: %d %+v, want 200 for %s", status, m, login)
			}
		})
	}
}

// TestHTTPLogout logs in, then out through the provider (RP-Initiated
// Logout): the app's logout, the provider's end_session confirmation, and
// back on the app's home page, logged out at both. The provider notifies the
// app's back-channel logout URI before it redirects; a failed delivery must
// not stop the logout.
func TestHTTPLogout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name              string
		brokenBackchannel bool
		wantBackchannel   string
	}{
		{"backchannel delivered", false, "backchannel.success"},
		{"backchannel fails", true, "backchannel.error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			s := startStack(t, stackConfig{
				Scopes:            "openid profile email offline_access", // the logout revokes the refresh token
				Confidential:      true,
				BrokenBackchannel: tc.brokenBackchannel,
			})
			app := s.Confidential
			login := uniqueLogin("lin")
			b, _, _ := s.login(ctx, t, app, login)

			s.logout(ctx, t, b, app, confidentialID)
			if status := getJSON(ctx, t, b, app, "/me", nil); status != http.StatusUnauthorized {
				t.Errorf("GET /me after logout: %d, want 401", status)
			}
			if ends := s.Provider.Events(func(ev providerEvent) bool { return ev.Event == "end_session.success" }); len(ends) != 1 {
				t.Errorf("provider's end_session.success events: %+v, want 1", ends)
			}
			if errs := s.Provider.Events(func(ev providerEvent) bool { return ev.Event == "revocation.error" }); len(errs) != 0 || app.Logged("revoking the refresh token at logout failed") {
				t.Errorf("revoking the refresh token at logout failed: %+v", errs)
			}
			if revoked := s.Provider.Events(func(ev providerEvent) bool {
				return ev.Event == "refresh_token.destroyed" && ev.ClientID == confidentialID && ev.Sub == login
			}); len(revoked) != 1 {
				t.Errorf("refresh tokens revoked at logout: %+v, want 1", revoked)
			}
			backchannel := s.Provider.Events(func(ev providerEvent) bool { return strings.HasPrefix(ev.Event, "backchannel.") })
			if len(backchannel) != 1 || backchannel[0].Event != tc.wantBackchannel || backchannel[0].ClientID != confidentialID || backchannel[0].Sub != login {
				t.Errorf("back-channel logout deliveries: %+v, want one %s to %s for %s", backchannel, tc.wantBackchannel, confidentialID, login)
			}

			// Logged out at the provider too: a new login asks for the
			// password again.
			page, err := b.Get(ctx, app.URL+"/auth/login", "Accept", acceptHTML)
			if err != nil {
				t.Fatal(err)
			}
			if f, _ := formWith(page, "prompt", "login"); f == nil {
				t.Errorf("a login after logout does not show the provider's login form: %v", page)
			}
		})
	}
}

// TestHTTPBackchannelLogout logs in to two apps in one browser, the second
// by single sign-on at the provider, then out of the first: the provider's
// back-channel logout token ends the second app's session too (OpenID
// Connect Back-Channel Logout 1.0).
func TestHTTPBackchannelLogout(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startStack(t, stackConfig{Confidential: true, Public: true, PublicOnLocalhost: true})
	login := uniqueLogin("bea")
	b, _, _ := s.login(ctx, t, s.Confidential, login)

	// The second app: the provider knows the browser, and only asks for
	// consent to the new client.
	page, err := b.Get(ctx, s.Public.URL+"/auth/login", "Accept", acceptHTML)
	if err != nil {
		t.Fatal(err)
	}
	home, steps := s.interact(ctx, t, b, page, login)
	if !sameSteps(steps, "consent") || home.URL.String() != s.Public.URL+"/" {
		t.Fatalf("single sign-on to the second app: forms %v, landed on %v; want [consent] and its home page", steps, home)
	}
	var m me
	if status := getJSON(ctx, t, b, s.Public, "/me", &m); status != http.StatusOK || m.Sub != login {
		t.Fatalf("second app's /me: %d %+v, want 200 for %s", status, m, login)
	}

	s.logout(ctx, t, b, s.Confidential, confidentialID)
	for _, clientID := range []string{confidentialID, publicID} {
		if _, err := s.Provider.WaitEvent(ctx, func(ev providerEvent) bool {
			return ev.Event == "backchannel.success" && ev.ClientID == clientID && ev.Sub == login
		}); err != nil {
			t.Errorf("no back-channel logout delivered to %s: %v; events %+v", clientID, err,
				s.Provider.Events(func(ev providerEvent) bool { return strings.HasPrefix(ev.Event, "backchannel.") }))
		}
	}
	for _, app := range []*webapp{s.Confidential, s.Public} {
		if status := getJSON(ctx, t, b, app, "/me", nil); status != http.StatusUnauthorized {
			t.Errorf("%s/me after the logout: %d, want 401", app.URL, status)
		}
	}
}

// logout runs the RP-initiated logout round trip from app: POST
// /auth/logout, the provider's confirmation (its "yes" button is linked to
// the form by the form= attribute), and back to the app's home page, which
// must offer a login again. It fails the test at any other turn.
func (s *stack) logout(ctx context.Context, t testing.TB, b *oidctest.Browser, app *webapp, clientID string) {
	t.Helper()
	page, err := b.PostForm(ctx, app.URL+"/auth/logout", url.Values{}, "Accept", acceptHTML)
	if err != nil {
		t.Fatalf("POST /auth/logout: %v", err)
	}
	if !s.onProvider(page) || page.StatusCode != http.StatusOK {
		t.Fatalf("POST /auth/logout led to %v, want the provider's logout confirmation", page)
	}
	var endSession *url.URL
	for _, hop := range page.Hops {
		if u, _ := url.Parse(hop); u != nil && strings.HasPrefix(hop, s.Provider.Issuer+"/") && u.Query().Has("id_token_hint") {
			endSession = u
		}
	}
	if endSession == nil {
		t.Fatalf("no end_session request with an id_token_hint among %v", page.Hops)
	}
	if q := endSession.Query(); q.Get("client_id") != clientID || q.Get("post_logout_redirect_uri") != app.URL+"/" || q.Get("state") == "" {
		t.Errorf("end_session request %v: want client_id, post_logout_redirect_uri and state", q)
	}
	all, err := forms(page)
	if err != nil {
		t.Fatal(err)
	}
	var confirm *htmlForm
	var yes *htmlButton
	for _, f := range all {
		if b := f.Button("logout", "yes"); b != nil {
			confirm, yes = f, b
		}
	}
	if confirm == nil {
		t.Fatalf("no logout=yes button on the provider's confirmation page: %v", page)
	}
	home, err := confirm.Submit(ctx, b, yes, nil)
	if err != nil {
		t.Fatalf("confirm the logout: %v", err)
	}
	if home.StatusCode != http.StatusOK || home.URL.String() != app.URL+"/" {
		t.Fatalf("after the provider's logout: %v, want the app's home page", home)
	}
	if _, ok := elementText(home, "login"); !ok {
		t.Errorf("home page after logout offers no #login: %v", home)
	}
	if _, ok := elementText(home, "user"); ok {
		t.Errorf("home page after logout still greets the user: %v", home)
	}
	if app.Logged("post-logout state does not match") {
		t.Errorf("the app refused the provider's post-logout state")
	}
}

// TestHTTPAccessDenied cancels at the provider's login page: the provider
// answers error=access_denied, and the app's callback a clean 403 page,
// with no session.
func TestHTTPAccessDenied(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	s := startStack(t, stackConfig{Confidential: true})
	app := s.Confidential
	b := oidctest.NewBrowser()
	page, err := b.Get(ctx, app.URL+"/auth/login", "Accept", acceptHTML)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := formWith(page, "prompt", "login"); f == nil || !s.onProvider(page) {
		t.Fatalf("GET /auth/login: %v, want the provider's login form", page)
	}
	abort, err := link(page, func(u *url.URL) bool { return strings.HasSuffix(u.Path, "/abort") })
	if err != nil || abort == nil {
		t.Fatalf("no abort link on the provider's login page (%v): %v", err, page)
	}
	page, err = b.Get(ctx, abort.String(), "Accept", acceptHTML)
	if err != nil {
		t.Fatalf("GET %s: %v", abort, err)
	}

	if !strings.HasPrefix(page.URL.String(), app.URL+"/auth/callback?") {
		t.Fatalf("the abort led to %v, want the app's callback", page)
	}
	if q := page.URL.Query(); q.Get("error") != "access_denied" || q.Get("state") == "" {
		t.Errorf("callback query %v, want error=access_denied with the state", q)
	}
	if page.StatusCode != http.StatusForbidden {
		t.Errorf("callback status %d, want 403: %v", page.StatusCode, page)
	}
	if ct := page.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("callback Content-Type %q, want an HTML page", ct)
	}
	body := string(page.Body)
	if !strings.Contains(body, "cancelled or denied") || !strings.Contains(body, `href="/"`) {
		t.Errorf("callback page does not explain the denial and link home: %s", body)
	}
	for _, leak := range []string{"End-User aborted", "client:", "middleware:", "session:"} {
		if strings.Contains(body, leak) {
			t.Errorf("callback page shows internal text %q: %s", leak, body)
		}
	}
	for _, name := range cookieNames(b, app.URL+"/") {
		if strings.HasPrefix(name, "oidcrp_session") {
			t.Errorf("a session cookie %q exists after the denial", name)
		}
	}
	if status := getJSON(ctx, t, b, app, "/me", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /me after the denial: %d, want 401", status)
	}
	if codes := s.Provider.Events(grant("authorization_code", confidentialID)); len(codes) != 0 {
		t.Errorf("token requests after the denial: %+v", codes)
	}
}

// refreshPastExpiry waits twice for the access token to expire, counted
// from loggedIn, and checks each time that /userinfo answers for login
// and that the provider saw a refresh_token grant for clientID.
func refreshPastExpiry(ctx context.Context, t *testing.T, s *stack, b *oidctest.Browser, app *webapp, clientID, login string, loggedIn time.Time, ttl int) {
	t.Helper()
	issued := loggedIn // no later than the provider issued the current access token
	for round := 1; round <= 2; round++ {
		// Past the current access token's expiry, counted from when it was
		// issued at the latest (the login, then the end of the request that
		// refreshed it, however slow a loaded machine made that request):
		// the app must refresh, whatever its leeway.
		wait := time.Until(issued.Add(time.Duration(ttl)*time.Second + 1500*time.Millisecond))
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
		before := len(s.Provider.Events(grant("refresh_token", clientID)))
		var info map[string]any
		if status := getJSON(ctx, t, b, app, "/userinfo", &info); status != http.StatusOK {
			t.Fatalf("round %d: GET /userinfo past the access token's expiry: %d, want 200", round, status)
		}
		issued = time.Now()
		if info["sub"] != login {
			t.Errorf("round %d: /userinfo sub = %v, want %q", round, info["sub"], login)
		}
		wantUser(t, "/userinfo", login, info)
		waitCtx, cancelWait := context.WithTimeout(ctx, 5*time.Second)
		refreshes, _ := s.Provider.WaitEvents(waitCtx, grant("refresh_token", clientID), before)
		cancelWait()
		if len(refreshes) <= before {
			t.Fatalf("round %d: the provider saw no refresh_token grant for the expired access token: %+v", round, refreshes)
		}
		if last := refreshes[len(refreshes)-1]; last.Sub != login {
			t.Errorf("round %d: refresh for %q, want %q", round, last.Sub, login)
		}
	}
}
