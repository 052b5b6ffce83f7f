package session_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/session"
)

// clock is the tests' clock (Config.Now), moved by hand.
type clock = testutil.Clock

// newClock starts at the current time, to the millisecond, the precision
// sessions keep.
func newClock() *clock { return testutil.NewClock(time.Now().Truncate(time.Millisecond)) }

// newKey returns a fresh session key.
func newKey() []byte {
	k := make([]byte, session.KeySize)
	rand.Read(k)
	return k
}

// newState returns a state as client makes them: 43 base64url characters.
func newState() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// randomText returns n characters that do not compress or repeat.
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// newManager returns a Manager with a fresh key and the clock, after
// applying edit to its config (if not nil).
func newManager(t testing.TB, clk *clock, edit func(*session.Config)) *session.Manager {
	t.Helper()
	cfg := session.Config{Keys: [][]byte{newKey()}, Now: clk.Now}
	if edit != nil {
		edit(&cfg)
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Keys) > 0 {
		managerKeys.Store(m, cfg.Keys)
	}
	return m
}

// managerKeys holds the keys of the Managers newManager made.
var managerKeys sync.Map // *session.Manager → [][]byte

// seal seals v under name with m's keys, as m would.
func seal(t testing.TB, m *session.Manager, name string, v any) string {
	t.Helper()
	keys, ok := managerKeys.Load(m)
	if !ok {
		t.Fatal("seal: a Manager newManager did not make")
	}
	c, err := session.NewCodec(keys.([][]byte)...)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Encode(name, v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jar is one browser's cookies for one site, enough for these tests: it
// applies a response's Set-Cookie headers (Max-Age<0 deletes, as browsers
// do) and sends the cookies back on the next request. It checks the rules
// browsers enforce for "__Host-" cookies.
type jar struct {
	t       testing.TB
	names   []string // in the order set, as a browser sends them
	cookies map[string]string
}

func newJar(t testing.TB) *jar { return &jar{t: t, cookies: map[string]string{}} }

// update applies the cookies rec's response set.
func (j *jar) update(rec *httptest.ResponseRecorder) {
	j.t.Helper()
	for _, c := range rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, session.HostPrefix) && (!c.Secure || c.Path != "/" || c.Domain != "") {
			j.t.Errorf("browser rejects %s: Secure=%v Path=%q Domain=%q", c.Name, c.Secure, c.Path, c.Domain)
			continue
		}
		if c.MaxAge < 0 {
			j.delete(c.Name)
			continue
		}
		if _, ok := j.cookies[c.Name]; !ok {
			j.names = append(j.names, c.Name)
		}
		j.cookies[c.Name] = c.Value
	}
}

func (j *jar) set(name, value string) {
	if _, ok := j.cookies[name]; !ok {
		j.names = append(j.names, name)
	}
	j.cookies[name] = value
}

func (j *jar) delete(name string) {
	if _, ok := j.cookies[name]; ok {
		delete(j.cookies, name)
		j.names = slices.DeleteFunc(j.names, func(n string) bool { return n == name })
	}
}

// request returns a GET request for target carrying the jar's cookies.
func (j *jar) request(target string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, n := range j.names {
		r.AddCookie(&http.Cookie{Name: n, Value: j.cookies[n]})
	}
	return r
}

// withPrefix returns the names of the jar's cookies starting with prefix.
func (j *jar) withPrefix(prefix string) []string {
	var names []string
	for _, n := range j.names {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	return names
}

// carry is the one-step form of jar: a new request for target carrying the
// cookies of r as updated by rec's response.
func carry(t testing.TB, r *http.Request, rec *httptest.ResponseRecorder, target string) *http.Request {
	t.Helper()
	j := newJar(t)
	for _, c := range r.Cookies() {
		j.set(c.Name, c.Value)
	}
	j.update(rec)
	return j.request(target)
}

// setCookies returns the cookies rec's response sets, by name.
func setCookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		m[c.Name] = c
	}
	return m
}

// sameSession reports whether a and b hold the same data, comparing times
// as instants.
func sameSession(a, b *session.Session) bool {
	return a.ID == b.ID && a.Subject == b.Subject && a.SID == b.SID &&
		a.IDToken() == b.IDToken() && a.AccessToken() == b.AccessToken() && a.RefreshToken() == b.RefreshToken() &&
		a.Expiry.Equal(b.Expiry) && a.RefreshedAt.Equal(b.RefreshedAt) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.LastSeen.Equal(b.LastSeen) &&
		bytes.Equal(a.Claims, b.Claims) && bytes.Equal(a.DPoPKey, b.DPoPKey) &&
		a.Issuer == b.Issuer && a.Scopes == b.Scopes
}

// sample returns a session with every field set, times to the millisecond.
func sample(clk *clock) *session.Session {
	now := clk.Now()
	return withTokens(&session.Session{
		ID:          "id-" + randomText(40),
		Subject:     "248289761001",
		SID:         "08a5019c-17e1-4977-8f42-65a12843ea02",
		RefreshedAt: now.Add(-time.Minute),
		CreatedAt:   now,
		LastSeen:    now,
		Claims:      []byte(`{"email":"alice@example.com","name":"Alice"}`),
	}, "eyJhbGciOiJSUzI1NiJ9.id-token-secret."+randomText(20), "access-token-secret-"+randomText(20),
		"refresh-token-secret-"+randomText(20), now.Add(time.Hour))
}

// withTokens gives s the tokens, and returns it.
func withTokens(s *session.Session, idToken, accessToken, refreshToken string, expiry time.Time) *session.Session {
	s.SetTokens(session.Tokens{IDToken: idToken, AccessToken: accessToken, RefreshToken: refreshToken, Expiry: expiry})
	return s
}
