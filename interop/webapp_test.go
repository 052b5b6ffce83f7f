package interop_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// webappBin and cliBin are the example web app and CLI, built once by
// TestMain.
var webappBin, cliBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "oidcrp-interop-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "interop:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	webappBin = filepath.Join(dir, "webapp")
	// Built from the repository root, so that go.work applies and the app
	// is built from this tree's library.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"build", "-o", webappBin}
	if raceEnabled {
		args = append(args, "-race") // a data race under real traffic fails the test
	}
	cmd := exec.CommandContext(ctx, "go", append(args, "github.com/oidcrp/oidcrp/examples/webapp")...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: go build examples/webapp: %v\n%s", err, out)
		return 1
	}
	cliBin = filepath.Join(dir, "cli")
	args[2] = cliBin
	cmd = exec.CommandContext(ctx, "go", append(args, "github.com/oidcrp/oidcrp/examples/cli")...)
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "interop: go build examples/cli: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// webappEnv is the example web app's documented configuration; fields left
// empty are not set.
type webappEnv struct {
	Issuer, ClientID, ClientSecret, RedirectURL, Scopes, PostLogoutRedirectURL, ListenAddr, SessionKeys string
	AuthMethod, PrivateKeyFile, PrivateKeyID                                                            string

	APIAudience, APIScopes, APIIntrospectionCache string // GET /api/me
	PAR, ResponseMode, DPoP                       string // issue 13

	Extra map[string]string // more variables, such as OIDC_PROVIDERS' (issue 14)
}

func (e webappEnv) environ() []string {
	var env []string
	for name, v := range map[string]string{
		"OIDC_ISSUER":                   e.Issuer,
		"OIDC_CLIENT_ID":                e.ClientID,
		"OIDC_CLIENT_SECRET":            e.ClientSecret,
		"OIDC_REDIRECT_URL":             e.RedirectURL,
		"OIDC_SCOPES":                   e.Scopes,
		"OIDC_POST_LOGOUT_REDIRECT_URL": e.PostLogoutRedirectURL,
		"LISTEN_ADDR":                   e.ListenAddr,
		"SESSION_KEYS":                  e.SessionKeys,
		"OIDC_AUTH_METHOD":              e.AuthMethod,
		"OIDC_PRIVATE_KEY_FILE":         e.PrivateKeyFile,
		"OIDC_PRIVATE_KEY_ID":           e.PrivateKeyID,
		"OIDC_API_AUDIENCE":             e.APIAudience,
		"OIDC_API_SCOPES":               e.APIScopes,
		"OIDC_API_INTROSPECTION_CACHE":  e.APIIntrospectionCache,
		"OIDC_PAR":                      e.PAR,
		"OIDC_RESPONSE_MODE":            e.ResponseMode,
		"OIDC_DPOP":                     e.DPoP,
	} {
		if v != "" {
			env = append(env, name+"="+v)
		}
	}
	for name, v := range e.Extra {
		env = append(env, name+"="+v)
	}
	return env
}

// webapp is a running example web app.
type webapp struct {
	URL  string // http://127.0.0.1:port, no trailing slash
	proc *process
	log  *logBuffer
}

// webappURLs are the URLs of a web app on port of 127.0.0.1, to register at
// the provider.
func webappURLs(port int) (base, redirect, postLogout, backchannel string) {
	base = fmt.Sprintf("http://127.0.0.1:%d", port)
	return base, base + "/auth/callback", base + "/", base + "/auth/backchannel-logout"
}

// startWebapp runs the example web app with env (it gets no other
// variable), waits until it answers at base, and stops it when the test
// ends.
func startWebapp(t testing.TB, base string, env webappEnv) *webapp {
	t.Helper()
	if env.SessionKeys == "" {
		key := make([]byte, 32)
		rand.Read(key)
		env.SessionKeys = base64.StdEncoding.EncodeToString(key)
	}
	w := &webapp{URL: base, log: new(logBuffer)}
	cmd := exec.Command(webappBin)
	cmd.Env = env.environ()
	cmd.Stdout, cmd.Stderr = w.log, w.log
	t.Cleanup(func() {
		// Registered before the process starts, so that it runs after
		// the process has stopped and written any race report.
		if strings.Contains(w.log.String(), "WARNING: DATA RACE") {
			t.Errorf("the race detector found a data race in the webapp")
		}
		if t.Failed() {
			t.Logf("webapp (%s) output:\n%s", w.URL, w.log)
		}
	})
	w.proc = startProcess(t, "webapp", cmd, 10*time.Second)

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(processStartTimeout)
	for {
		resp, err := client.Get(w.URL + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return w
			}
		}
		if w.proc.exited() {
			t.Fatalf("webapp %v (%v):\n%s", errExited, w.proc.err, w.log)
		}
		if time.Now().After(deadline) {
			t.Fatalf("webapp at %s not answering within %v (last error %v):\n%s", w.URL, processStartTimeout, err, w.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Logged reports whether the app's log has a line containing s.
func (w *webapp) Logged(s string) bool { return strings.Contains(w.log.String(), s) }
