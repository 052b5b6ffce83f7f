package native_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/native"
	"github.com/oidcrp/oidcrp/oidctest"
)

// clock is a settable Now.
type clock struct {
	mu  sync.Mutex // guards now
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// loggedIn logs in through the loopback listener and saves the login in a
// new cache of a temporary directory.
func loggedIn(t *testing.T, op *oidctest.Server, rp *client.RP, now func() time.Time) *native.Cache {
	t.Helper()
	cache, err := native.OpenCache(native.CacheConfig{Issuer: op.URL, ClientID: cliClient.ID, Dir: filepath.Join(t.TempDir(), "oidcrp"), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t}
	tokens, err := native.Login(testContext(t), native.LoginConfig{RP: rp, OpenBrowser: b.open, Output: &strings.Builder{}})
	b.wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := cache.Save(native.NewRecord(rp, tokens, now(), nil)); err != nil {
		t.Fatal(err)
	}
	return cache
}

func skipWithoutModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not say who may read a file on Windows")
	}
}

// TestCachePermissions: the directory is made 0700 and the file 0600, and
// a file or directory others can read is refused.
func TestCachePermissions(t *testing.T) {
	skipWithoutModes(t)
	op, rp := newCLI(t, oidctest.Config{})
	cache := loggedIn(t, op, rp, time.Now)
	fi, err := os.Stat(cache.Path())
	if err != nil {
		t.Fatal(err)
	}
	di, err := os.Stat(filepath.Dir(cache.Path()))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("file %v, directory %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	rec, err := cache.Load()
	if err != nil || rec.Subject != oidctest.DefaultUser.Subject || rec.RefreshToken == "" {
		t.Fatalf("Load: %v, %v", rec, err)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(cache.Path()), ".tokens-*")); len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}

	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		os.Chmod(cache.Path(), mode)
		var pe *native.PermissionError
		if _, err := cache.Load(); !errors.As(err, &pe) || pe.Path != cache.Path() || pe.Mode.Perm() != mode {
			t.Errorf("mode %v: Load = %v, want a *PermissionError", mode, err)
		}
		if _, err := cache.Token(testContext(t), rp); !errors.As(err, &pe) {
			t.Errorf("mode %v: Token = %v, want a *PermissionError", mode, err)
		}
	}
	os.Chmod(cache.Path(), 0o600)
	if _, err := cache.Load(); err != nil {
		t.Errorf("back to 0600: %v", err)
	}

	open := filepath.Join(t.TempDir(), "open")
	os.Mkdir(open, 0o755)
	os.Chmod(open, 0o755) // whatever the umask
	var pe *native.PermissionError
	if _, err := native.OpenCache(native.CacheConfig{Issuer: op.URL, ClientID: cliClient.ID, Dir: open}); !errors.As(err, &pe) {
		t.Errorf("a directory others can read: %v, want a *PermissionError", err)
	}
}

func TestCacheLoadErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "c")
	cache, err := native.OpenCache(native.CacheConfig{Issuer: "https://op.example", ClientID: "cli", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cache.Load(); !errors.Is(err, native.ErrNotLoggedIn) {
		t.Errorf("no file: %v, want ErrNotLoggedIn", err)
	}
	for name, content := range map[string]string{
		"not JSON":        "{",
		"unknown member":  `{"version":1,"issuer":"https://op.example","client_id":"cli","access_token":"a","token_type":"Bearer","x":1}`,
		"another version": `{"version":2,"issuer":"https://op.example","client_id":"cli","access_token":"a","token_type":"Bearer"}`,
		"another client":  `{"version":1,"issuer":"https://op.example","client_id":"other","access_token":"a","token_type":"Bearer"}`,
		"no token":        `{"version":1,"issuer":"https://op.example","client_id":"cli","token_type":"Bearer"}`,
		"oversized":       `{"version":1,"issuer":"https://op.example","client_id":"cli","access_token":"` + strings.Repeat("a", 300<<10) + `","token_type":"Bearer"}`,
	} {
		os.WriteFile(cache.Path(), []byte(content), 0o600)
		if _, err := cache.Load(); !errors.Is(err, native.ErrCorruptCache) {
			t.Errorf("%s: %v, want ErrCorruptCache", name, err)
		}
	}
	if err := cache.Delete(); err != nil {
		t.Fatal(err)
	}
	if err := cache.Delete(); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
	other, _ := native.OpenCache(native.CacheConfig{Issuer: "https://op.example", ClientID: "other", Dir: dir})
	if other.Path() == cache.Path() {
		t.Error("two clients share a file")
	}
	if _, err := native.OpenCache(native.CacheConfig{ClientID: "cli"}); !errors.Is(err, native.ErrInvalidConfig) {
		t.Errorf("no issuer: %v", err)
	}
}

// TestCacheToken: the cached token until it is due, then one refresh,
// whose rotated refresh token is saved before Token returns.
func TestCacheToken(t *testing.T) {
	clk := &clock{now: time.Now()}
	op, rp := newCLI(t, oidctest.Config{RotateRefreshTokens: true, AccessTokenTTL: time.Hour, Now: clk.Now})
	cache := loggedIn(t, op, rp, clk.Now)
	first, err := cache.Load()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cache.Token(testContext(t), rp)
	if err != nil || rec.AccessToken != first.AccessToken {
		t.Fatalf("Token before expiry: %v, %v; want the cached token", rec, err)
	}

	clk.Advance(time.Hour - 10*time.Second) // within the 30 s leeway
	rec, err = cache.Token(testContext(t), rp)
	if err != nil {
		t.Fatal(err)
	}
	if rec.AccessToken == first.AccessToken || rec.RefreshToken == first.RefreshToken || rec.Subject != first.Subject {
		t.Errorf("after refresh: %v, want new tokens of the same subject", rec)
	}
	saved, err := cache.Load()
	if err != nil || saved.RefreshToken != rec.RefreshToken || saved.AccessToken != rec.AccessToken {
		t.Errorf("saved %v (%v), want the rotated login", saved, err)
	}
	if n := op.Stats().RefreshGrants; n != 1 {
		t.Errorf("refreshes = %d, want 1", n)
	}
	if n := op.Stats().RefreshTokenReuses; n != 0 {
		t.Errorf("refresh token reuses = %d", n)
	}

	// The provider is down: a token not yet expired is still returned;
	// an expired one is not.
	clk.Advance(time.Hour - 10*time.Second)
	op.SetDown(true)
	if got, err := cache.Token(testContext(t), rp); err != nil || got.AccessToken != rec.AccessToken {
		t.Errorf("provider down, token valid for 10 s: %v, %v", got, err)
	}
	clk.Advance(time.Minute)
	if _, err := cache.Token(testContext(t), rp); !errors.Is(err, client.ErrProviderUnavailable) {
		t.Errorf("provider down, token expired: %v, want ErrProviderUnavailable", err)
	}
	op.SetDown(false)

	// The provider ends the login: it is deleted.
	cur, _ := cache.Load()
	rp.Revoke(testContext(t), cur.RefreshToken, "refresh_token")
	if _, err := cache.Token(testContext(t), rp); !errors.Is(err, native.ErrLoginExpired) || !errors.Is(err, client.ErrInvalidGrant) {
		t.Errorf("refresh token revoked: %v, want ErrLoginExpired", err)
	}
	if _, err := cache.Load(); !errors.Is(err, native.ErrNotLoggedIn) {
		t.Errorf("after the login ended: %v, want ErrNotLoggedIn", err)
	}
}

// TestCacheTokenConcurrent: many callers at once, in one process or
// through two Caches of one file, refresh once.
func TestCacheTokenConcurrent(t *testing.T) {
	clk := &clock{now: time.Now()}
	op, rp := newCLI(t, oidctest.Config{RotateRefreshTokens: true, Now: clk.Now})
	cache := loggedIn(t, op, rp, clk.Now)
	twin, err := native.OpenCache(native.CacheConfig{Issuer: op.URL, ClientID: cliClient.ID, Dir: filepath.Dir(cache.Path()), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	for i := range 20 {
		c := cache
		if i%2 == 1 {
			c = twin
		}
		wg.Go(func() {
			if _, err := c.Token(testContext(t), rp); err != nil {
				t.Errorf("Token: %v", err)
			}
		})
	}
	wg.Wait()
	if n, reuses := op.Stats().RefreshGrants, op.Stats().RefreshTokenReuses; n != 1 || reuses != 0 {
		t.Errorf("refreshes = %d, reuses = %d; want 1 and 0", n, reuses)
	}
}

func TestCacheTokenNoRefreshToken(t *testing.T) {
	clk := &clock{now: time.Now()}
	op, rp := newCLI(t, oidctest.Config{Now: clk.Now})
	cache := loggedIn(t, op, rp, clk.Now)
	rec, _ := cache.Load()
	rec.RefreshToken = ""
	cache.Save(rec)
	clk.Advance(2 * time.Hour)
	if _, err := cache.Token(testContext(t), rp); !errors.Is(err, native.ErrLoginExpired) {
		t.Errorf("expired without a refresh token: %v, want ErrLoginExpired", err)
	}
}

func TestRecordRedacted(t *testing.T) {
	r := native.Record{AccessToken: "at-secret", RefreshToken: "rt-secret", IDToken: "id-secret"}
	for _, s := range []string{r.String(), r.GoString(), must(r.MarshalJSON())} {
		if strings.Contains(s, "secret") {
			t.Errorf("%s reveals a token", s)
		}
	}
}

func must[T any](v T, err error) string {
	if err != nil {
		panic(err)
	}
	switch v := any(v).(type) {
	case []byte:
		return string(v)
	}
	return ""
}
