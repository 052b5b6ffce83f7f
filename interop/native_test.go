package interop_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/native"
	"github.com/oidcrp/oidcrp/oidctest"
)

// The grants beyond the browser login, against oidc-provider: client
// credentials, the device flow, token exchange, and the CLI's loopback
// login in Chromium.

const (
	cliID     = "interop-cli"     // a public native app: loopback redirect, device flow
	serviceID = "interop-service" // a confidential client: client credentials, token exchange
)

// nativeStack is oidc-provider with the CLI and service clients.
type nativeStack struct {
	Provider      *provider
	ServiceSecret string
}

func startNativeStack(t testing.TB) *nativeStack {
	t.Helper()
	s := &nativeStack{ServiceSecret: rand.Text()}
	s.Provider = startProvider(t, providerConfig{Clients: []clientMetadata{{
		ClientID:                cliID,
		ApplicationType:         "native",
		TokenEndpointAuthMethod: "none",
		RedirectURIs:            []string{"http://127.0.0.1/callback"},
		GrantTypes:              []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"},
	}, {
		ClientID:                serviceID,
		ClientSecret:            s.ServiceSecret,
		TokenEndpointAuthMethod: "client_secret_basic",
		RedirectURIs:            []string{},
		GrantTypes:              []string{"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"},
	}}})
	return s
}

func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// rp returns a relying party of the provider without a redirect URL.
func (s *nativeStack) rp(t testing.TB, clientID, secret string, scopes ...string) *client.RP {
	t.Helper()
	rp, err := client.New(testCtx(t, 10*time.Second), client.Config{Issuer: s.Provider.Issuer, ClientID: clientID, ClientSecret: secret, Scopes: scopes})
	if err != nil {
		t.Fatalf("client.New(%s): %v", clientID, err)
	}
	t.Cleanup(func() { rp.Close() })
	return rp
}

// TestClientCredentialsSource: many goroutines get one token, from one
// client_credentials grant authenticated with client_secret_basic.
func TestClientCredentialsSource(t *testing.T) {
	t.Parallel()
	s := startNativeStack(t)
	rp := s.rp(t, serviceID, s.ServiceSecret)
	src, err := rp.ClientCredentialsSource(client.ClientCredentialsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	for i := range tokens {
		wg.Go(func() {
			tok, err := src.TokenContext(testCtx(t, 20*time.Second))
			if err != nil {
				t.Errorf("Token: %v", err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok == "" || tok != tokens[0] {
			t.Fatalf("tokens differ or are empty: %q", tokens)
		}
	}
	evs, _ := s.Provider.WaitEvents(testCtx(t, 5*time.Second), grant("client_credentials", serviceID), 0)
	if len(evs) != 1 || evs[0].AuthMethod != "client_secret_basic" {
		t.Errorf("client_credentials grants %+v, want one, client_secret_basic", evs)
	}
}

// deviceDriver plays the user at the provider's verification page with
// the HTTP driver: it confirms the code (or aborts), logs in and consents.
func (s *nativeStack) deviceDriver(ctx context.Context, t *testing.T, uri, login string, abort bool) {
	t.Helper()
	b := oidctest.NewBrowser()
	page, err := b.Get(ctx, uri, "Accept", acceptHTML)
	if err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	// The code is in the link: the input form comes prefilled.
	if f, err := formWith(page, "user_code", ""); err == nil && f != nil && f.Fields.Get("confirm") == "" {
		if page, err = f.Submit(ctx, b, nil, nil); err != nil {
			t.Fatalf("submit the code: %v", err)
		}
	}
	f, err := formWith(page, "confirm", "yes")
	if err != nil || f == nil || len(f.Buttons) < 2 {
		t.Fatalf("no confirmation form with two buttons (%v): %v", err, page)
	}
	button := &f.Buttons[0] // Continue
	if abort {
		button = &f.Buttons[1] // [ Abort ]
	}
	if page, err = f.Submit(ctx, b, button, nil); err != nil {
		t.Fatalf("confirm the code: %v", err)
	}
	if abort {
		return
	}
	// The login and consent forms, then the provider's own success page
	// (the device flow has no redirect back).
	var steps []string
	for len(steps) < 4 {
		var set map[string]string
		step := "login"
		f, err := formWith(page, "prompt", "login")
		if err == nil && f != nil {
			set = map[string]string{"login": login, "password": "any password"}
		} else if f, err = formWith(page, "prompt", "consent"); err == nil && f != nil {
			step = "consent"
		} else {
			break
		}
		if len(f.Buttons) == 0 {
			t.Fatalf("the provider's %s form has no submit button: %v", step, page)
		}
		steps = append(steps, step)
		if page, err = f.Submit(ctx, b, &f.Buttons[0], set); err != nil {
			t.Fatalf("submit the provider's %s form: %v", step, err)
		}
	}
	if page.StatusCode != http.StatusOK || !bytes.Contains(page.Body, []byte("Sign-in Success")) || len(steps) != 2 {
		t.Fatalf("after %v: %v, want the provider's success page", steps, page)
	}
}

// TestDeviceFlow: the device polls while the user enters the code at the
// provider, logs in and consents; the ID token names the user. A user who
// aborts gives access_denied.
func TestDeviceFlow(t *testing.T) {
	t.Parallel()
	s := startNativeStack(t)
	rp := s.rp(t, cliID, "", "openid", "profile", "offline_access")
	ctx := testCtx(t, 60*time.Second)

	t.Run("approved", func(t *testing.T) {
		auth, err := rp.DeviceAuthorization(ctx, client.DeviceRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if auth.VerificationURIComplete == "" || !strings.HasPrefix(auth.VerificationURI, s.Provider.Issuer+"/") || auth.Interval <= 0 {
			t.Fatalf("device authorization %#v", auth)
		}
		login := uniqueLogin("dev")
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.deviceDriver(ctx, t, auth.VerificationURIComplete, login, false)
		}()
		tokens, err := rp.PollDevice(ctx, auth)
		<-done
		if err != nil {
			t.Fatalf("PollDevice: %v", err)
		}
		if tokens.IDToken == nil || tokens.IDToken.Subject != login || tokens.RefreshToken == "" {
			t.Errorf("tokens %v, want a verified ID token of %s and a refresh token", tokens, login)
		}
		info, err := rp.UserInfo(ctx, tokens.AccessToken, login)
		if err != nil || info.Subject != login {
			t.Errorf("userinfo: %v", err)
		}
	})
	t.Run("aborted", func(t *testing.T) {
		auth, err := rp.DeviceAuthorization(ctx, client.DeviceRequest{})
		if err != nil {
			t.Fatal(err)
		}
		s.deviceDriver(ctx, t, auth.VerificationURIComplete, "", true)
		if _, err := rp.PollDevice(ctx, auth); !errors.Is(err, client.ErrAccessDenied) {
			t.Errorf("PollDevice after abort: %v, want ErrAccessDenied", err)
		}
	})
}

// loopbackLogin logs in as the CLI client through native.Login, the HTTP
// driver playing the system browser, and returns the tokens.
func (s *nativeStack) loopbackLogin(ctx context.Context, t *testing.T, rp *client.RP, login string) *client.Tokens {
	t.Helper()
	st := &stack{Provider: s.Provider}
	var wg sync.WaitGroup
	defer wg.Wait()
	tokens, err := native.Login(ctx, native.LoginConfig{
		RP:     rp,
		Output: new(bytes.Buffer),
		// The browser lives on after Login returns: it gets the test's ctx,
		// not the one Login hands OpenBrowser, which ends with Login and
		// could cut off the success page mid-read.
		OpenBrowser: func(_ context.Context, u string) error {
			wg.Go(func() {
				b := oidctest.NewBrowser()
				page, err := b.Get(ctx, u, "Accept", acceptHTML)
				if err != nil {
					t.Errorf("GET the authorization URL: %v", err)
					return
				}
				if page, _ = st.interact(ctx, t, b, page, login); !bytes.Contains(page.Body, []byte("You are logged in")) {
					t.Errorf("last page %v, want the loopback listener's success page", page)
				}
			})
			return nil
		},
	})
	if err != nil {
		t.Fatalf("native.Login: %v", err)
	}
	return tokens
}

// TestTokenExchange: the service exchanges the user's access token for one
// for the downstream API, through the suite's grant handler; the new token
// is the user's (the provider's event says whose). An unknown audience is
// invalid_target, a forged subject token invalid_grant.
func TestTokenExchange(t *testing.T) {
	t.Parallel()
	s := startNativeStack(t)
	ctx := testCtx(t, 60*time.Second)
	login := uniqueLogin("obo")
	user := s.loopbackLogin(ctx, t, s.rp(t, cliID, "", "openid", "profile"), login)
	service := s.rp(t, serviceID, s.ServiceSecret)

	tok, err := service.ExchangeToken(ctx, client.ExchangeRequest{SubjectToken: user.AccessToken, Audiences: []string{"interop-api"}, Scopes: []string{"openid"}})
	if err != nil {
		t.Fatalf("ExchangeToken: %v", err)
	}
	if tok.IssuedTokenType != client.TokenTypeAccessToken || tok.TokenType != "Bearer" || tok.Token == user.AccessToken || tok.Expiry.IsZero() {
		t.Errorf("exchanged %v", tok)
	}
	if _, err := s.Provider.WaitEvent(ctx, func(ev providerEvent) bool {
		return ev.Event == "token_exchange.success" && ev.ClientID == serviceID && ev.Sub == login
	}); err != nil {
		t.Errorf("no token_exchange.success event: %v", err)
	}

	// Delegation: the service's own token as the actor.
	src, err := service.ClientCredentialsSource(client.ClientCredentialsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	own, err := src.TokenContext(ctx)
	if err != nil {
		t.Fatalf("client credentials: %v", err)
	}
	if _, err := service.ExchangeToken(ctx, client.ExchangeRequest{SubjectToken: user.AccessToken, ActorToken: own.AccessToken, Audiences: []string{"interop-api"}}); err != nil {
		t.Fatalf("ExchangeToken with an actor token: %v", err)
	}
	if _, err := s.Provider.WaitEvent(ctx, func(ev providerEvent) bool {
		return ev.Event == "token_exchange.success" && ev.Sub == login && ev.Actor == serviceID
	}); err != nil {
		t.Errorf("no token_exchange.success naming the actor: %v", err)
	}
	if _, err := service.ExchangeToken(ctx, client.ExchangeRequest{SubjectToken: user.AccessToken, ActorToken: "forged"}); !errors.Is(err, client.ErrInvalidGrant) {
		t.Errorf("forged actor token: %v, want ErrInvalidGrant", err)
	}

	var te *client.TokenError
	if _, err := service.ExchangeToken(ctx, client.ExchangeRequest{SubjectToken: user.AccessToken, Audiences: []string{"elsewhere"}}); !errors.Is(err, client.ErrInvalidTarget) || !errors.As(err, &te) {
		t.Errorf("unknown audience: %v, want ErrInvalidTarget", err)
	}
	if _, err := service.ExchangeToken(ctx, client.ExchangeRequest{SubjectToken: "forged"}); !errors.Is(err, client.ErrInvalidGrant) {
		t.Errorf("forged subject token: %v, want ErrInvalidGrant", err)
	}
	if _, err := service.ExchangeToken(ctx, client.ExchangeRequest{SubjectToken: user.AccessToken, Scopes: []string{"email"}}); !errors.As(err, &te) || te.Code != "invalid_scope" {
		t.Errorf("scope beyond the subject's: %v, want invalid_scope", err)
	}
}

// cliEnv is the example CLI's environment for this provider.
func (s *nativeStack) cliEnv(cacheDir string) []string {
	return []string{
		"OIDC_ISSUER=" + s.Provider.Issuer, "OIDC_CLIENT_ID=" + cliID,
		"OIDC_SCOPES=openid profile email offline_access", "OIDC_CACHE_DIR=" + cacheDir,
		"BROWSER=false", // no browser opens: the CLI prints the URL, which Chromium follows
		"PATH=/usr/bin:/bin", "HOME=" + cacheDir,
	}
}

// cli runs the example CLI to its end and returns its standard output.
func cli(ctx context.Context, t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, cliBin, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("cli %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestCLILoopbackInChromium: the example CLI's login prints the URL (no
// browser opens), Chromium follows it, the user types a login at the
// provider and consents, and lands on the CLI's success page; the CLI
// saves the login, and its token, whoami and logout commands work.
func TestCLILoopbackInChromium(t *testing.T) {
	t.Parallel()
	chromium := needChromium(t)
	s := startNativeStack(t)
	ctx := testCtx(t, 2*time.Minute)
	env := s.cliEnv(filepath.Join(t.TempDir(), "oidcrp"))
	login := uniqueLogin("cli")

	cmd := exec.CommandContext(ctx, cliBin, "login")
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	proc := startProcess(t, "cli login", cmd, 5*time.Second)
	log := new(logBuffer)
	printed := make(chan string, 1)
	authURL := regexp.MustCompile(`^\s+(http://127\.0\.0\.1:\d+/auth\S*)$`)
	go scanLines(stderr, log, func(line string) {
		if m := authURL.FindStringSubmatch(line); m != nil {
			select {
			case printed <- m[1]:
			default:
			}
		}
	})
	var u string
	select {
	case u = <-printed:
	case <-proc.done:
		t.Fatalf("cli login ended before printing a URL: %v\n%s", proc.err, log)
	case <-ctx.Done():
		t.Fatalf("cli login printed no URL:\n%s", log)
	}
	if pu, err := url.Parse(u); err != nil || !strings.HasPrefix(pu.Query().Get("redirect_uri"), "http://127.0.0.1:") {
		t.Fatalf("printed URL %q has no loopback redirect_uri", u)
	}

	tab := &page{t: t, ctx: startChromium(t, chromium)}
	tab.step("follow the printed URL",
		chromedp.Navigate(u),
		chromedp.WaitVisible(chromedp.CSS(`input[name="login"]`)))
	tab.signIn(login, "consent", chromedp.WaitVisible(chromedp.ID("title")))
	if title := run(tab, "read the page", chromedp.Text(chromedp.ID("title"))); title != "Logged in" {
		tab.fail("logged in", fmt.Errorf("the loopback page says %q", title))
	}
	select {
	case <-proc.done:
	case <-ctx.Done():
		t.Fatalf("cli login did not end after the callback:\n%s", log)
	}
	if proc.err != nil || stdout.String() != "Logged in as "+login+".\n" {
		t.Fatalf("cli login: %v, stdout %q\n%s", proc.err, stdout.String(), log)
	}
	// The listener is closed: the callback's origin no longer answers.
	closed := chromedp.Evaluate[bool](`fetch("/callback").then(() => false, () => true)`, chromedp.EvalAwaitPromise)
	if !run(tab, "fetch the loopback listener again", closed) {
		tab.fail("listener closed", errors.New("the loopback listener still answers after the login"))
	}

	token := strings.TrimSpace(cli(ctx, t, env, "token"))
	if token == "" || strings.TrimSpace(cli(ctx, t, env, "token")) != token {
		t.Errorf("token: %q, want the same token twice", token)
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(cli(ctx, t, env, "whoami")), &claims); err != nil || claims["sub"] != login || claims["email"] != login+"@example.test" {
		t.Errorf("whoami: %v %v", claims, err)
	}
	if out := cli(ctx, t, env, "logout"); out != "Logged out.\n" {
		t.Errorf("logout: %q", out)
	}
	if _, err := s.Provider.WaitEvent(ctx, func(ev providerEvent) bool {
		return ev.Event == "refresh_token.destroyed" && ev.ClientID == cliID && ev.Sub == login
	}); err != nil {
		t.Errorf("the refresh token was not revoked: %v", err)
	}
}
