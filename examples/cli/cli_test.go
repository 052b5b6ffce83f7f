package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// browser plays the system browser in a goroutine the test waits for.
type browser struct {
	t  *testing.T
	wg sync.WaitGroup
}

func (b *browser) open(ctx context.Context, u string) error {
	b.wg.Go(func() {
		if _, err := oidctest.NewBrowser().Get(testContext(b.t), u); err != nil {
			b.t.Errorf("browser: %v", err)
		}
	})
	return nil
}

// cli runs one command with env and returns its exit code and output.
func cli(t *testing.T, env map[string]string, stderr *syncBuffer, args ...string) (int, string) {
	t.Helper()
	var stdout bytes.Buffer
	if stderr == nil {
		stderr = &syncBuffer{}
	}
	b := &browser{t: t}
	code := run(testContext(t), args, func(k string) string { return env[k] }, &stdout, stderr, b.open)
	b.wg.Wait()
	if code != 0 {
		t.Logf("cli %v: stderr %s", args, stderr.String())
	}
	return code, stdout.String()
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once,
// calling onWrite with what it holds after each write.
type syncBuffer struct {
	mu      sync.Mutex // guards buf
	buf     bytes.Buffer
	onWrite func(string)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	n, err := s.buf.Write(p)
	all := s.buf.String()
	s.mu.Unlock()
	if s.onWrite != nil {
		s.onWrite(all)
	}
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

func TestCommands(t *testing.T) {
	c := oidctest.Client{ID: "my-cli", RedirectURIs: []string{"http://127.0.0.1/callback"}}
	op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{c}, RotateRefreshTokens: true, DeviceInterval: 50 * time.Millisecond})
	t.Cleanup(op.Close)
	env := map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": c.ID, "OIDC_CACHE_DIR": filepath.Join(t.TempDir(), "oidcrp")}

	if code, _ := cli(t, env, nil, "token"); code != 1 {
		t.Errorf("token before login: exit %d, want 1", code)
	}
	code, out := cli(t, env, nil, "login")
	if code != 0 || out != "Logged in as alice.\n" {
		t.Fatalf("login: %d %q", code, out)
	}
	code, tok1 := cli(t, env, nil, "token")
	if code != 0 || strings.Count(tok1, ".") != 2 {
		t.Fatalf("token: %d %q", code, tok1)
	}
	if _, tok2 := cli(t, env, nil, "token"); tok2 != tok1 {
		t.Error("token changed without being due")
	}
	code, out = cli(t, env, nil, "whoami")
	var claims map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &claims) != nil || claims["sub"] != "alice" || claims["email"] != "alice@example.com" {
		t.Errorf("whoami: %d %s", code, out)
	}
	if code, out = cli(t, env, nil, "logout"); code != 0 || out != "Logged out.\n" || op.Stats().Revocations != 1 {
		t.Errorf("logout: %d %q, %d revocations", code, out, op.Stats().Revocations)
	}
	if code, _ := cli(t, env, nil, "whoami"); code != 1 {
		t.Errorf("whoami after logout: exit %d", code)
	}

	// The device flow: the "user" opens the printed link, which the
	// provider's verification page approves.
	var once sync.Once
	link := regexp.MustCompile(`\(or open (\S+)\)`)
	stderr := &syncBuffer{}
	stderr.onWrite = func(all string) {
		if m := link.FindStringSubmatch(all); m != nil {
			once.Do(func() {
				go func() { // ends with the request, which the test bounds
					if resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(m[1]); err == nil {
						resp.Body.Close()
					}
				}()
			})
		}
	}
	if code, out = cli(t, env, stderr, "login", "-device"); code != 0 || out != "Logged in as alice.\n" {
		t.Fatalf("login -device: %d %q; stderr %s", code, out, stderr)
	}
	if !strings.Contains(stderr.String(), "and enter the code") || op.Stats().DeviceGrants != 1 {
		t.Errorf("login -device stderr %q, %d device grants", stderr, op.Stats().DeviceGrants)
	}
	if code, _ := cli(t, env, nil, "whoami"); code != 0 {
		t.Errorf("whoami after the device login: exit %d", code)
	}
}

// TestEmbeddedProvider: with no environment, login runs against the
// embedded provider and shows the demo user's userinfo.
func TestEmbeddedProvider(t *testing.T) {
	stderr := &syncBuffer{}
	code, out := cli(t, map[string]string{}, stderr, "login")
	if code != 0 || !strings.HasPrefix(out, "Logged in as demo.\n") || !strings.Contains(out, `"name": "Demo User"`) {
		t.Fatalf("login: %d %q", code, out)
	}
	if !strings.Contains(stderr.String(), "embedded development provider") {
		t.Errorf("stderr %q does not warn", stderr)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"nope"}, {"token", "-device"}, {"login", "extra"}} {
		if code, _ := cli(t, map[string]string{}, nil, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _ := cli(t, map[string]string{"OIDC_ISSUER": "https://op.example"}, nil, "token"); code != 1 {
		t.Errorf("issuer without client ID: exit %d, want 1", code)
	}
}
