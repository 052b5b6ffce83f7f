// Command cli is a command-line tool that logs its user in with OpenID
// Connect and calls APIs as them: the oidcrp library's native package
// (loopback login, RFC 8252) and device flow (RFC 8628), configured only
// through the environment.
//
//	go run ./examples/cli login           # opens the browser; the URL is printed too
//	go run ./examples/cli login -device   # prints a code to enter at the provider
//	go run ./examples/cli token           # a valid access token, refreshed silently
//	go run ./examples/cli whoami          # the provider's userinfo, as JSON
//	go run ./examples/cli logout          # revokes the refresh token, deletes the login
//
// Environment:
//
//	OIDC_ISSUER         the provider; unset: an embedded development provider,
//	                    for the duration of the command (see below)
//	OIDC_CLIENT_ID      required with OIDC_ISSUER; register it as a native
//	                    app with the redirect URI http://127.0.0.1/callback
//	                    (any port) and, for -device, the device code grant
//	OIDC_CLIENT_SECRET  empty: a public client (PKCE only), as CLIs usually are
//	OIDC_SCOPES         default "openid profile email offline_access"
//	OIDC_CACHE_DIR      where logins are kept; default "oidcrp" in the user's
//	                    configuration directory (~/.config/oidcrp on Linux)
//	BROWSER             the command that opens the login page; default
//	                    xdg-open, open or rundll32
//
// Without OIDC_ISSUER the command starts oidctest in-process, which logs in
// a demo user without asking, and stops it when the command ends. Its login
// is kept in a temporary directory removed at the end, since it names a
// provider that is gone: login shows the whole flow (and whoami's answer),
// but token, whoami and logout in later runs need a real provider.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/native"
	"github.com/oidcrp/oidcrp/oidctest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr, nil))
}

const usage = `usage: cli login [-device] | token | whoami | logout
`

// run runs one command and returns the exit code. open, if not nil,
// replaces the system browser.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, open func(context.Context, string) error) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	device := fs.Bool("device", false, "log in with the device flow (RFC 8628) instead of the browser")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || (*device && args[0] != "login") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	t, err := newTool(ctx, getenv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "cli:", err)
		return 1
	}
	defer t.Close()
	switch args[0] {
	case "login":
		err = t.login(ctx, *device, stdout, stderr, open)
	case "token":
		err = t.token(ctx, stdout)
	case "whoami":
		err = t.whoami(ctx, stdout)
	case "logout":
		err = t.logout(ctx, stdout)
	default:
		fmt.Fprint(stderr, usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "cli:", explain(err))
		return 1
	}
	return 0
}

// explain turns the errors a user can act on into advice.
func explain(err error) string {
	var pe *native.PermissionError
	switch {
	case errors.Is(err, native.ErrNotLoggedIn):
		return "not logged in: run cli login"
	case errors.Is(err, native.ErrLoginExpired):
		return "the login has expired: run cli login"
	case errors.As(err, &pe):
		return err.Error() + ": fix its mode, or delete it and log in again"
	case errors.Is(err, client.ErrAccessDenied):
		return "the login was declined at the provider"
	case errors.Is(err, client.ErrDeviceCodeExpired):
		return "the code expired before the login was finished: run cli login -device again"
	case errors.Is(err, client.ErrProviderUnavailable):
		return "the provider cannot be reached: " + err.Error()
	}
	return err.Error()
}

// tool is the configured client and its login cache.
type tool struct {
	rp       *client.RP
	cache    *native.Cache
	embedded *oidctest.Server // nil with OIDC_ISSUER
	tmpDir   string           // the embedded provider's cache directory
}

func newTool(ctx context.Context, getenv func(string) string, stderr io.Writer) (*tool, error) {
	t := &tool{}
	issuer, clientID, secret := getenv("OIDC_ISSUER"), getenv("OIDC_CLIENT_ID"), getenv("OIDC_CLIENT_SECRET")
	scopes := strings.Fields(getenv("OIDC_SCOPES"))
	if len(scopes) == 0 {
		scopes = []string{"openid", "profile", "email", "offline_access"}
	}
	dir := getenv("OIDC_CACHE_DIR")
	if issuer == "" {
		if clientID == "" {
			clientID = "oidcrp-cli"
		}
		t.embedded = oidctest.NewServer(oidctest.Config{
			Clients:        []oidctest.Client{{ID: clientID, Secret: secret, RedirectURIs: []string{"http://127.0.0.1/callback", "http://[::1]/callback"}}},
			Users:          []oidctest.User{{Subject: "demo", Claims: map[string]any{"name": "Demo User", "email": "demo@example.com", "email_verified": true}}},
			DeviceInterval: time.Second,
		})
		issuer = t.embedded.URL
		var err error
		if t.tmpDir, err = os.MkdirTemp("", "oidcrp-cli-"); err != nil {
			t.Close()
			return nil, err
		}
		dir = t.tmpDir
		fmt.Fprintf(stderr, "OIDC_ISSUER is unset: using an embedded development provider at %s for this command only; it logs in a demo user without asking\n", issuer)
	} else if clientID == "" {
		return nil, errors.New("OIDC_CLIENT_ID is required when OIDC_ISSUER is set")
	}
	rp, err := client.New(ctx, client.Config{Issuer: issuer, ClientID: clientID, ClientSecret: secret, Scopes: scopes})
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("provider %s: %w", issuer, err)
	}
	t.rp = rp
	if t.cache, err = native.OpenCache(native.CacheConfig{Issuer: rp.Config().Issuer, ClientID: clientID, Dir: dir}); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// Close releases the provider, and stops the embedded one.
func (t *tool) Close() {
	if t.rp != nil {
		t.rp.Close()
	}
	if t.embedded != nil {
		t.embedded.Close()
	}
	if t.tmpDir != "" {
		os.RemoveAll(t.tmpDir)
	}
}

func (t *tool) login(ctx context.Context, device bool, stdout, stderr io.Writer, open func(context.Context, string) error) error {
	var (
		tokens *client.Tokens
		err    error
	)
	if device {
		tokens, err = t.deviceLogin(ctx, stderr)
	} else {
		tokens, err = native.Login(ctx, native.LoginConfig{RP: t.rp, OpenBrowser: open, Output: stderr})
	}
	if err != nil {
		return err
	}
	rec := native.NewRecord(t.rp, tokens, time.Now(), nil)
	if err := t.cache.Save(rec); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Logged in as %s.\n", rec.Subject)
	if t.embedded != nil {
		fmt.Fprintln(stdout, "The embedded provider stops with this command; its userinfo now:")
		return t.whoami(ctx, stdout)
	}
	return nil
}

// deviceLogin runs the device flow, showing the code on stderr.
func (t *tool) deviceLogin(ctx context.Context, stderr io.Writer) (*client.Tokens, error) {
	auth, err := t.rp.DeviceAuthorization(ctx, client.DeviceRequest{})
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "On any device, open\n\n    %s\n\nand enter the code\n\n    %s\n\n", auth.VerificationURI, auth.UserCode)
	if auth.VerificationURIComplete != "" {
		fmt.Fprintf(stderr, "(or open %s)\n\n", auth.VerificationURIComplete)
	}
	fmt.Fprintf(stderr, "Waiting for the login (until %s)...\n", auth.Expiry.Format(time.Kitchen))
	return t.rp.PollDevice(ctx, auth)
}

func (t *tool) token(ctx context.Context, stdout io.Writer) error {
	rec, err := t.cache.Token(ctx, t.rp)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, rec.AccessToken)
	return nil
}

func (t *tool) whoami(ctx context.Context, stdout io.Writer) error {
	rec, err := t.cache.Token(ctx, t.rp)
	if err != nil {
		return err
	}
	info, err := t.rp.UserInfo(ctx, rec.AccessToken, rec.Subject)
	if err != nil {
		return err
	}
	var claims map[string]any
	if err := info.Claims(&claims); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(claims)
}

// logout revokes the login's tokens at the provider, when it has a
// revocation endpoint, and deletes the login. A login the provider cannot
// revoke now is deleted all the same, and the error reported.
func (t *tool) logout(ctx context.Context, stdout io.Writer) error {
	rec, err := t.cache.Load()
	if err != nil && !errors.As(err, new(*native.PermissionError)) {
		return err
	}
	var revokeErr error
	if rec != nil {
		token, hint := rec.RefreshToken, "refresh_token"
		if token == "" {
			token, hint = rec.AccessToken, "access_token"
		}
		if revokeErr = t.rp.Revoke(ctx, token, hint); errors.Is(revokeErr, client.ErrNoEndpoint) {
			revokeErr = nil
		}
	}
	if err := t.cache.Delete(); err != nil {
		return err
	}
	if revokeErr != nil {
		return fmt.Errorf("logged out here, but the provider did not revoke the login: %w", revokeErr)
	}
	fmt.Fprintln(stdout, "Logged out.")
	return nil
}
