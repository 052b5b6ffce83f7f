package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session/redisstore/redistest"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // the tests that stop Redis check its errors themselves
	os.Exit(m.Run())
}

// quiet discards go-redis's log lines.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

// instance is one app instance serving on its own port.
type instance struct {
	name, url string
}

// listen reserves a port for an instance, so that its URL is known before
// the provider registers it.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// serveApp serves the app configured by vars (LISTEN_ADDR set to l's) on
// l. The test fails if a handler panics.
func serveApp(t *testing.T, name string, l net.Listener, vars map[string]string) instance {
	t.Helper()
	vars = cloneVars(vars)
	vars["LISTEN_ADDR"] = l.Addr().String()
	cfg, err := configFromEnv(env(vars))
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(testContext(t), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	errLog := new(lockedBuffer)
	srv := &http.Server{Handler: a, ErrorLog: log.New(errLog, "", 0)}
	go srv.Serve(l)
	t.Cleanup(func() {
		srv.Close()
		a.Close()
		if s := errLog.String(); strings.Contains(s, "panic") {
			t.Errorf("instance %s panicked: %s", name, s)
		}
	})
	return instance{name: name, url: "http://" + l.Addr().String()}
}

func cloneVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

// lockedBuffer is a bytes.Buffer safe for concurrent use.
type lockedBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sharedVars is the configuration every instance shares: the provider, the
// session keys and Redis.
func sharedVars(t *testing.T, op *oidctest.Server, scopes, redisURL string) map[string]string {
	key := make([]byte, 32)
	rand.Read(key)
	vars := providerVars(op, scopes)
	vars["SESSION_KEYS"] = base64.StdEncoding.EncodeToString(key)
	vars["REDIS_URL"] = redisURL
	return vars
}

// TestRedisMultiInstance is issue 6's acceptance: three instances share
// Redis and session keys; a login through A works on B; a back-channel
// logout delivered to C ends the session, and the very next request on A
// and on B is rejected.
func TestRedisMultiInstance(t *testing.T) {
	rs := redistest.Start(t)
	lA, lB, lC := listen(t), listen(t), listen(t)
	op := oidctest.NewServer(oidctest.Config{Clients: []oidctest.Client{{
		ID: "webapp", Secret: "webapp-secret-0123456789abcdefghij",
		BackchannelLogoutURI: "http://" + lC.Addr().String() + "/auth/backchannel-logout",
	}}})
	defer op.Close()
	vars := sharedVars(t, op, "openid profile email", rs.URL)
	a, b, c := serveApp(t, "A", lA, vars), serveApp(t, "B", lB, vars), serveApp(t, "C", lC, vars)

	// Log in through A. Cookies are per host, not per port, so the
	// browser sends the session cookie to B and C as well, as a browser
	// would to instances behind one load balancer.
	br := oidctest.NewBrowser()
	start := time.Now()
	p, err := br.Get(testContext(t), a.url+"/auth/login?return_to=/me")
	if err != nil || p.StatusCode != http.StatusOK || !strings.Contains(string(p.Body), `"sub":"alice"`) {
		t.Fatalf("login through A: %v %v", p, err)
	}
	loginTime := time.Since(start)
	if _, ok := br.Cookie(b.url, "oidcrp_session"); !ok {
		t.Fatal("no session cookie for B")
	}
	var me struct {
		Sub string `json:"sub"`
	}
	for _, in := range []instance{a, b, c} {
		if status := get(t, br, in.url+"/me", &me); status != http.StatusOK || me.Sub != "alice" {
			t.Fatalf("/me on %s before logout: %d %+v", in.name, status, me)
		}
	}
	keysBefore, _ := rs.Client(t).DBSize(testContext(t)).Result()

	// The provider ends alice's session and delivers the logout token to C.
	start = time.Now()
	sids := op.Logout("alice")
	deliveryTime := time.Since(start)
	if errs := op.DeliveryErrors(); len(sids) != 1 || len(errs) != 0 || op.Stats().BackchannelLogouts != 1 {
		t.Fatalf("back-channel logout to C: sids %v, errors %v, stats %+v", sids, errs, op.Stats())
	}
	statusA := get(t, br, a.url+"/me", nil)
	statusB := get(t, br, b.url+"/me", nil)
	keysAfter, _ := rs.Client(t).DBSize(testContext(t)).Result()
	t.Logf("login through A in %v; /me 200 on A, B and C; back-channel logout to C answered 200 in %v; next request: A %d, B %d; Redis keys %d before logout (session, sid and sub indexes, used login attempt), %d after (used login attempt, used logout token, sid revocation)",
		loginTime.Round(time.Millisecond), deliveryTime.Round(time.Millisecond), statusA, statusB, keysBefore, keysAfter)
	if statusA != http.StatusUnauthorized || statusB != http.StatusUnauthorized {
		t.Fatalf("after logout: A %d, B %d, want 401", statusA, statusB)
	}
	if status := get(t, br, c.url+"/me", nil); status != http.StatusUnauthorized {
		t.Fatalf("after logout: C %d", status)
	}
}

// TestRedisRefreshAcrossInstances is issue 6's acceptance: access tokens
// live 2 s and refresh tokens rotate; after expiry, 50 concurrent requests
// of one session spread over three instances all succeed with exactly one
// refresh grant. Twice, so that the rotated token is refreshed too.
func TestRedisRefreshAcrossInstances(t *testing.T) {
	rs := redistest.Start(t)
	op := oidctest.NewServer(oidctest.Config{AccessTokenTTL: 2 * time.Second, RotateRefreshTokens: true})
	defer op.Close()
	vars := sharedVars(t, op, "openid profile email offline_access", rs.URL)
	instances := []instance{serveApp(t, "A", listen(t), vars), serveApp(t, "B", listen(t), vars), serveApp(t, "C", listen(t), vars)}
	br := oidctest.NewBrowser()
	if p, err := br.Get(testContext(t), instances[0].url+"/auth/login"); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", p, err)
	}
	var info map[string]any
	if status := get(t, br, instances[1].url+"/userinfo", &info); status != http.StatusOK || info["sub"] != "alice" {
		t.Fatalf("/userinfo: %d %v", status, info)
	}
	if s := op.Stats(); s.RefreshGrants != 0 {
		t.Fatalf("refreshed before expiry: %+v", s)
	}
	for round := 1; round <= 2; round++ {
		time.Sleep(2100 * time.Millisecond) // past the access token's expiry
		const n = 50
		statuses := make([]int, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			wg.Go(func() {
				p, err := br.Get(testContext(t), instances[i%3].url+"/userinfo", "Accept", "application/json")
				if err != nil {
					t.Error(err)
					return
				}
				statuses[i] = p.StatusCode
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		failures := map[string]int{}
		for i, s := range statuses {
			if s != http.StatusOK {
				failures[fmt.Sprintf("%s:%d", instances[i%3].name, s)]++
			}
		}
		s := op.Stats()
		t.Logf("round %d: %d concurrent GET /userinfo (%d on A, %d on B, %d on C) in %v: %d failures %v; provider saw %d refresh grants in all, %d reuses, %d failed grants",
			round, n, (n+2)/3, (n+1)/3, n/3, elapsed.Round(time.Millisecond), len(failures), failures, s.RefreshGrants, s.RefreshTokenReuses, s.FailedGrants)
		if len(failures) != 0 || s.RefreshGrants != round || s.RefreshTokenReuses != 0 || s.FailedGrants != 0 {
			t.Fatalf("round %d: statuses %v, stats %+v", round, statuses, s)
		}
	}
}

// TestRedisDown: with Redis down, requests fail closed with 503 (never
// 200, never a redirect to a login that would fail too), and nothing
// panics; once Redis is back, the app serves again. redistest's Redis
// keeps nothing on disk, so the session did not survive: the user is
// asked to log in (401), and a new login works.
func TestRedisDown(t *testing.T) {
	rs := redistest.Start(t)
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	vars := sharedVars(t, op, "", rs.URL)
	a, b := serveApp(t, "A", listen(t), vars), serveApp(t, "B", listen(t), vars)
	br := oidctest.NewBrowser()
	if p, err := br.Get(testContext(t), a.url+"/auth/login?return_to=/me"); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login: %v %v", p, err)
	}

	rs.Stop()
	start := time.Now()
	for _, c := range []struct {
		name, url string
		header    []string
	}{
		{"/me (API) on A", a.url + "/me", []string{"Accept", "application/json"}},
		{"/me (browser) on B", b.url + "/me", nil},
		{"/userinfo on A", a.url + "/userinfo", []string{"Accept", "application/json"}},
		{"login on B", b.url + "/auth/login?return_to=/me", nil}, // the callback's replay check fails
	} {
		p, err := br.Get(testContext(t), c.url, c.header...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("%s with Redis down: %v, want 503", c.name, p)
		}
	}
	t.Logf("with Redis down, 4 requests answered 503 in %v", time.Since(start).Round(time.Millisecond))
	p, err := br.PostForm(testContext(t), a.url+"/auth/backchannel-logout", map[string][]string{"logout_token": {op.LogoutToken("oidctest-client", "alice", "", nil)}})
	if err != nil || p.StatusCode != http.StatusBadRequest {
		t.Errorf("back-channel logout with Redis down: %v %v, want 400 (the logout failed)", p, err)
	}

	rs.Restart()
	restarted := time.Now()
	var status int
	for {
		status = get(t, br, a.url+"/me", nil)
		if status != http.StatusServiceUnavailable || time.Since(restarted) > 10*time.Second {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("Redis back: /me answered %d after %v", status, time.Since(restarted).Round(time.Millisecond))
	if status != http.StatusUnauthorized {
		t.Fatalf("/me after Redis came back empty: %d, want 401", status)
	}
	if p, err := br.Get(testContext(t), b.url+"/auth/login?return_to=/me"); err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("login after Redis came back: %v %v", p, err)
	}
	for _, in := range []instance{a, b} {
		if status := get(t, br, in.url+"/me", nil); status != http.StatusOK {
			t.Fatalf("/me on %s after a new login: %d", in.name, status)
		}
	}
}

// TestRedisStartupErrors: a malformed REDIS_URL, or a Redis that does not
// answer, stops the app at start-up with one line that names REDIS_URL and
// no password.
func TestRedisStartupErrors(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	closed := listen(t)
	closedAddr := closed.Addr().String()
	closed.Close()
	for name, redisURL := range map[string]string{
		"not redis":   "http://127.0.0.1:6379",
		"bad db":      "redis://127.0.0.1:6379/notanumber",
		"bad URL":     "redis://user:hunter2@[::1",
		"unreachable": "redis://:hunter2@" + closedAddr + "/0",
	} {
		t.Run(name, func(t *testing.T) {
			vars := providerVars(op, "")
			vars["REDIS_URL"] = redisURL
			vars["LISTEN_ADDR"] = "127.0.0.1:0"
			ctx, cancel := context.WithTimeout(testContext(t), 20*time.Second)
			defer cancel()
			err := run(ctx, env(vars), slog.New(slog.DiscardHandler))
			if err == nil {
				t.Fatal("run succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, "REDIS_URL") || strings.Contains(msg, "hunter2") {
				t.Fatalf("not one line naming REDIS_URL without the password: %q", msg)
			}
			t.Log(msg)
		})
	}
}

// TestRedisHealthz: /healthz answers 503 naming Redis while Redis is down,
// and 200 once it is back.
func TestRedisHealthz(t *testing.T) {
	rs := redistest.Start(t)
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app := serveApp(t, "A", listen(t), sharedVars(t, op, "openid", rs.URL))
	if status, v := healthz(t, app.url); status != http.StatusOK {
		t.Fatalf("/healthz: %d %v", status, v)
	}
	rs.Stop()
	if status, v := healthz(t, app.url); status != http.StatusServiceUnavailable || !strings.Contains(v["reason"], "Redis") {
		t.Fatalf("/healthz with Redis down: %d %v", status, v)
	}
	rs.Restart()
	var status int
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(50 * time.Millisecond) {
		if status, _ = healthz(t, app.url); status == http.StatusOK {
			break
		}
	}
	if status != http.StatusOK {
		t.Fatalf("/healthz with Redis back: %d", status)
	}
}
