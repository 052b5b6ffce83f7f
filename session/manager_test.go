package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/session"
)

// login creates s in a fresh browser and returns the browser.
func login(t *testing.T, m *session.Manager, target string, s *session.Session) *jar {
	t.Helper()
	j := newJar(t)
	rec := httptest.NewRecorder()
	if err := m.Create(rec, j.request(target), s); err != nil {
		t.Fatal(err)
	}
	j.update(rec)
	return j
}

func TestCreateLoad(t *testing.T) {
	for _, target := range []string{"http://app.example/callback", "https://app.example/callback"} {
		t.Run(target, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, clk, nil)
			s := sample(clk)
			j := login(t, m, target, s)
			got, err := m.Load(j.request(strings.TrimSuffix(target, "callback") + "page"))
			if err != nil {
				t.Fatal(err)
			}
			if !sameSession(got, s) {
				t.Errorf("Load = %#v, want %#v", got, s)
			}
		})
	}
}

func TestCreateSetsIDAndTimes(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	refreshed := clk.Now().Add(-time.Minute)
	planted := &session.Session{ID: "planted-by-attacker", Subject: "alice", RefreshedAt: refreshed}
	j := login(t, m, "http://app.example/", planted)
	if planted.ID == "planted-by-attacker" || len(planted.ID) < 43 {
		t.Errorf("Create kept or weakened the ID: %q", planted.ID)
	}
	if !planted.CreatedAt.Equal(clk.Now()) || !planted.LastSeen.Equal(clk.Now()) || !planted.RefreshedAt.Equal(refreshed) {
		t.Errorf("times: created %v, last seen %v, refreshed %v", planted.CreatedAt, planted.LastSeen, planted.RefreshedAt)
	}
	first := planted.ID

	// A second login in the same browser gets another ID.
	clk.Advance(time.Minute)
	again := &session.Session{Subject: "alice"}
	rec := httptest.NewRecorder()
	if err := m.Create(rec, j.request("http://app.example/"), again); err != nil {
		t.Fatal(err)
	}
	j.update(rec)
	if again.ID == first || again.ID == "" {
		t.Errorf("ID not renewed at login: %q", again.ID)
	}
	if !again.RefreshedAt.Equal(clk.Now()) {
		t.Errorf("RefreshedAt = %v, want the login time %v", again.RefreshedAt, clk.Now())
	}
	got, err := m.Load(j.request("http://app.example/"))
	if err != nil || got.ID != again.ID {
		t.Errorf("Load after second login = %v, %v", got, err)
	}
}

func TestCookieAttributes(t *testing.T) {
	tests := []struct {
		name       string
		target     string
		edit       func(*session.Config)
		wantName   string
		wantSecure bool
		wantSite   http.SameSite
	}{
		{"http", "http://app.example/", nil, "oidcrp_session", false, http.SameSiteLaxMode},
		{"https", "https://app.example/", nil, "__Host-oidcrp_session", true, http.SameSiteLaxMode},
		{"Config.Secure behind a proxy", "http://app.example/", func(c *session.Config) { c.Secure = true }, "__Host-oidcrp_session", true, http.SameSiteLaxMode},
		{"custom name and SameSite", "http://app.example/", func(c *session.Config) {
			c.CookieName = "app"
			c.SameSite = http.SameSiteStrictMode
		}, "app", false, http.SameSiteStrictMode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, clk, tt.edit)
			rec := httptest.NewRecorder()
			s := &session.Session{Subject: "alice"}
			if err := m.Create(rec, httptest.NewRequest(http.MethodGet, tt.target, nil), s); err != nil {
				t.Fatal(err)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("set %d cookies, want 1: %v", len(cookies), rec.Header()["Set-Cookie"])
			}
			c := cookies[0]
			if c.Name != tt.wantName || c.Secure != tt.wantSecure || !c.HttpOnly || c.SameSite != tt.wantSite || c.Path != "/" || c.Domain != "" {
				t.Errorf("cookie %s: Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q", c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain)
			}
			// The cookie lives until the absolute timeout, by the
			// Manager's clock.
			if c.MaxAge != int((24 * time.Hour).Seconds()) {
				t.Errorf("Max-Age = %d, want %d", c.MaxAge, int((24 * time.Hour).Seconds()))
			}
			// Max-Age alone: Expires would need the clocks of browser and
			// server to agree.
			if !c.Expires.IsZero() {
				t.Errorf("Expires = %v, want none", c.Expires)
			}
			// Each name is read back only on requests of its kind.
			r := carry(t, httptest.NewRequest(http.MethodGet, tt.target, nil), rec, tt.target)
			if _, err := m.Load(r); err != nil {
				t.Errorf("Load: %v", err)
			}
		})
	}
}

// A cookie set over plain HTTP is not read as the "__Host-" cookie of a
// TLS request, and the other way round.
func TestCookieSchemesDoNotMix(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	plain := login(t, m, "http://app.example/", &session.Session{Subject: "a"})
	if _, err := m.Load(plain.request("https://app.example/")); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("http cookie over https: err = %v, want ErrNoSession", err)
	}
	secure := login(t, m, "https://app.example/", &session.Session{Subject: "a"})
	if _, err := m.Load(secure.request("http://app.example/")); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("https cookie over http: err = %v, want ErrNoSession", err)
	}
}

// The Manager's clock sets every time it writes: with a clock far from the
// real one, cookie lifetimes still follow the configured timeouts.
func TestManagerUsesItsClock(t *testing.T) {
	clk := testutil.NewClock(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
	m := newManager(t, clk, nil)
	rec := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
	if err := m.Create(rec, r, &session.Session{Subject: "a"}); err != nil {
		t.Fatal(err)
	}
	c := setCookies(rec)["oidcrp_session"]
	if c == nil || c.MaxAge != 24*3600 {
		t.Fatalf("session cookie %v: Max-Age should be 24h by the Manager's clock", c)
	}
	clk.Advance(time.Hour)
	s, err := m.Load(carry(t, r, rec, "http://app.example/"))
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	if err := m.Touch(rec, r, s); err != nil {
		t.Fatal(err)
	}
	if c := setCookies(rec)["oidcrp_session"]; c == nil || c.MaxAge != 23*3600 {
		t.Errorf("after an hour, cookie %v: Max-Age should be 23h", c)
	}
}

func TestLoadNoSession(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	tests := []struct {
		name   string
		target string
		cookie string
	}{
		{"no cookie header", "http://app.example/", ""},
		{"other cookies", "http://app.example/", "a=b; theme=dark"},
		{"longer name", "http://app.example/", "oidcrp_session_x=abc; oidcrp_sessionx=abc"},
		{"shorter name", "http://app.example/", "oidcrp_sessio=abc"},
		{"name without value", "http://app.example/", "oidcrp_session"},
		{"chunk without head", "http://app.example/", "oidcrp_session.1=abc"},
		{"__Host- over http", "http://app.example/", "__Host-oidcrp_session=abc"},
		{"plain over https", "https://app.example/", "oidcrp_session=abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tt.target, nil)
			if tt.cookie != "" {
				r.Header.Set("Cookie", tt.cookie)
			}
			s, err := m.Load(r)
			if !errors.Is(err, session.ErrNoSession) || s != nil {
				t.Errorf("Load = %v, %v; want ErrNoSession", s, err)
			}
		})
	}
}

func TestLoadInvalid(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	other := newManager(t, clk, nil)
	j := login(t, m, "http://app.example/", sample(clk))
	good := j.cookies["oidcrp_session"]
	foreign := seal(t, other, "oidcrp_session", sample(clk))
	wrongName := seal(t, m, "oidcrp_flow", sample(clk))
	notSession := seal(t, m, "oidcrp_session", []byte("not a session"))
	mid := len(good) / 2
	flip := func(c byte) string {
		if c == 'A' {
			return "B"
		}
		return "A"
	}
	tests := []struct {
		name  string
		value string
	}{
		{"empty", ""},
		{"tampered", good[:mid] + flip(good[mid]) + good[mid+1:]},
		{"truncated", good[:len(good)-10]},
		{"half", good[:mid]},
		{"garbage", "garbage"},
		{"another key", foreign},
		{"another name", wrongName},
		{"not a session", notSession},
		{"over 64 KiB", strings.Repeat("A", 70000)},
		// A cookie whose chunks are missing is invalid, not absent, so that
		// callers delete it.
		{"chunk count 1", "1.abc"},
		{"chunk count 9", "9.abc; oidcrp_session.1=a"},
		{"chunk count not a number", "x.abc; oidcrp_session.1=a"},
		{"chunk count negative", "-2.abc; oidcrp_session.1=a"},
		{"missing chunk", "3.abc; oidcrp_session.1=a"},
		{"chunks of garbage", "2.abc; oidcrp_session.1=def"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
			r.Header.Set("Cookie", "oidcrp_session="+tt.value)
			s, err := m.Load(r)
			if !errors.Is(err, session.ErrInvalid) || s != nil {
				t.Errorf("Load = %v, %v; want ErrInvalid", s, err)
			}
		})
	}
}

// Cookie headers as browsers and proxies write them.
func TestLoadCookieHeaderForms(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	s := sample(clk)
	j := login(t, m, "http://app.example/", s)
	v := j.cookies["oidcrp_session"]
	tests := []struct {
		name    string
		headers []string
	}{
		{"alone", []string{"oidcrp_session=" + v}},
		{"among others", []string{"a=1; oidcrp_session=" + v + "; b=2"}},
		{"no space after semicolon", []string{"a=1;oidcrp_session=" + v + ";b=2"}},
		{"tabs and spaces", []string{"a=1;\t oidcrp_session=" + v + " \t; b=2"}},
		{"quoted", []string{`oidcrp_session="` + v + `"`}},
		{"second header line", []string{"a=1", "oidcrp_session=" + v}},
		{"after a similar name", []string{"oidcrp_session_x=1; oidcrp_session=" + v}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
			r.Header["Cookie"] = tt.headers
			got, err := m.Load(r)
			if err != nil || !sameSession(got, s) {
				t.Errorf("Load = %v, %v", got, err)
			}
		})
	}
}

func TestLoadExpired(t *testing.T) {
	tests := []struct {
		name       string
		absolute   time.Duration // Config.AbsoluteTimeout; 0 for the default
		idle       time.Duration // Config.IdleTimeout; 0 for the default
		touchEvery time.Duration // Touch the session this often, if not 0
		after      time.Duration
		wantErr    error
	}{
		{name: "fresh", after: 0},
		{name: "at the idle timeout", after: 2 * time.Hour},
		{name: "past the idle timeout", after: 2*time.Hour + time.Millisecond, wantErr: session.ErrExpired},
		{name: "custom idle timeout", idle: 10 * time.Minute, after: 10*time.Minute + time.Second, wantErr: session.ErrExpired},
		{name: "kept alive", touchEvery: time.Hour, after: 23 * time.Hour},
		{name: "at the absolute timeout", touchEvery: time.Hour, after: 24 * time.Hour},
		{name: "past the absolute timeout though active", touchEvery: time.Hour, after: 24*time.Hour + time.Millisecond, wantErr: session.ErrExpired},
		{name: "absolute before idle", absolute: time.Hour, after: time.Hour + time.Millisecond, wantErr: session.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, clk, func(c *session.Config) {
				c.AbsoluteTimeout, c.IdleTimeout = tt.absolute, tt.idle
			})
			j := login(t, m, "http://app.example/", &session.Session{Subject: "alice"})
			remaining := tt.after
			for tt.touchEvery > 0 && remaining > tt.touchEvery {
				clk.Advance(tt.touchEvery)
				remaining -= tt.touchEvery
				r := j.request("http://app.example/")
				s, err := m.Load(r)
				if err != nil {
					t.Fatalf("%v after login: %v", tt.after-remaining, err)
				}
				rec := httptest.NewRecorder()
				if err := m.Touch(rec, r, s); err != nil {
					t.Fatal(err)
				}
				j.update(rec)
			}
			clk.Advance(remaining)
			s, err := m.Load(j.request("http://app.example/"))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Load = %v, %v; want %v", s, err, tt.wantErr)
			}
			if err != nil && s != nil {
				t.Errorf("expired session returned: %v", s)
			}
		})
	}
}

func TestTouch(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil) // IdleTimeout 2h: use recorded every 7.5 minutes
	j := login(t, m, "http://app.example/", &session.Session{Subject: "alice"})
	created := clk.Now()

	touch := func() (*session.Session, *httptest.ResponseRecorder) {
		t.Helper()
		r := j.request("http://app.example/")
		s, err := m.Load(r)
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		if err := m.Touch(rec, r, s); err != nil {
			t.Fatal(err)
		}
		j.update(rec)
		return s, rec
	}

	clk.Advance(7 * time.Minute)
	s, rec := touch()
	if h := rec.Header()["Set-Cookie"]; len(h) != 0 || !s.LastSeen.Equal(created) {
		t.Errorf("Touch within IdleTimeout/16 wrote %v, LastSeen %v", h, s.LastSeen)
	}
	clk.Advance(30 * time.Second) // 7.5 minutes since login
	s, rec = touch()
	if len(rec.Header()["Set-Cookie"]) != 1 || !s.LastSeen.Equal(created) {
		t.Fatalf("Touch after IdleTimeout/16 wrote %v, and changed the session it was given: LastSeen %v", rec.Header()["Set-Cookie"], s.LastSeen)
	}
	touchedAt := clk.Now()
	// Idle time now counts from the touch: 2h after it, still valid, though
	// 2h7.5m after login.
	clk.Advance(2 * time.Hour)
	got, err := m.Load(j.request("http://app.example/"))
	if err != nil || !got.LastSeen.Equal(touchedAt) || !got.CreatedAt.Equal(created) {
		t.Fatalf("Load after touch = %v, %v", got, err)
	}
	clk.Advance(time.Millisecond)
	if _, err := m.Load(j.request("http://app.example/")); !errors.Is(err, session.ErrExpired) {
		t.Errorf("past the idle timeout since the touch: err = %v, want ErrExpired", err)
	}
}

func TestSaveNeedsID(t *testing.T) {
	m := newManager(t, newClock(), nil)
	rec := httptest.NewRecorder()
	err := m.Save(rec, httptest.NewRequest(http.MethodGet, "/", nil), &session.Session{Subject: "x"})
	if err == nil || len(rec.Header()["Set-Cookie"]) != 0 {
		t.Errorf("Save without ID = %v, set %v", err, rec.Header()["Set-Cookie"])
	}
}

func TestSaveKeepsSession(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	s := &session.Session{Subject: "alice"}
	j := login(t, m, "http://app.example/", s)
	s.SetTokens(session.Tokens{AccessToken: "rotated"})
	s.RefreshedAt = clk.Now()
	rec := httptest.NewRecorder()
	if err := m.Save(rec, j.request("http://app.example/"), s); err != nil {
		t.Fatal(err)
	}
	j.update(rec)
	got, err := m.Load(j.request("http://app.example/"))
	if err != nil || got.ID != s.ID || got.AccessToken() != "rotated" {
		t.Errorf("Load after Save = %v, %v", got, err)
	}
}

func TestDestroy(t *testing.T) {
	for _, target := range []string{"http://app.example/", "https://app.example/"} {
		t.Run(target, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, clk, nil)
			s := &session.Session{Subject: "alice", Claims: []byte(`"` + randomText(9000) + `"`)}
			j := login(t, m, target, s)
			held := len(j.names)
			if held < 3 {
				t.Fatalf("session in %d cookies, want a chunked one", held)
			}
			rec := httptest.NewRecorder()
			if err := m.Destroy(rec, j.request(target)); err != nil {
				t.Fatal(err)
			}
			deleted := 0
			for _, c := range rec.Result().Cookies() {
				if c.MaxAge >= 0 || c.Value != "" {
					t.Errorf("Destroy set %s=%q Max-Age=%d", c.Name, c.Value, c.MaxAge)
				}
				deleted++
			}
			j.update(rec)
			if len(j.names) != 0 || deleted != held {
				t.Errorf("after Destroy (%d deletions) the browser keeps %v", deleted, j.names)
			}
			if _, err := m.Load(j.request(target)); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("Load after Destroy: err = %v, want ErrNoSession", err)
			}
		})
	}
}

// Destroy without a session still deletes the cookie, in case the browser
// holds one the request did not show.
func TestDestroyWithoutSession(t *testing.T) {
	m := newManager(t, newClock(), nil)
	rec := httptest.NewRecorder()
	if err := m.Destroy(rec, httptest.NewRequest(http.MethodGet, "/", nil)); err != nil {
		t.Fatal(err)
	}
	if c := setCookies(rec)["oidcrp_session"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("Destroy without session set %v", rec.Header()["Set-Cookie"])
	}
}

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name    string
		cfg     session.Config
		wantErr error
	}{
		{"no keys", session.Config{}, session.ErrInvalidConfig},
		{"empty key list", session.Config{Keys: [][]byte{}}, session.ErrInvalidConfig},
		{"short key", session.Config{Keys: [][]byte{make([]byte, 16)}}, session.ErrInvalidKey},
		{"negative AbsoluteTimeout", session.Config{Keys: [][]byte{newKey()}, AbsoluteTimeout: -time.Second}, session.ErrInvalidConfig},
		{"negative IdleTimeout", session.Config{Keys: [][]byte{newKey()}, IdleTimeout: -1}, session.ErrInvalidConfig},
		{"negative FlowTimeout", session.Config{Keys: [][]byte{newKey()}, FlowTimeout: -time.Minute}, session.ErrInvalidConfig},
		{"negative MaxFlows", session.Config{Keys: [][]byte{newKey()}, MaxFlows: -1}, session.ErrInvalidConfig},
		// Flow cookies are FlowCookieName_<16 characters>: a session cookie
		// named so would be dropped as a stale flow.
		{"CookieName among the flow cookies", session.Config{Keys: [][]byte{newKey()}, CookieName: "app_session", FlowCookieName: "app"}, session.ErrInvalidConfig},
		{"CookieName among the default flow cookies", session.Config{Keys: [][]byte{newKey()}, CookieName: "oidcrp_flow_x"}, session.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := session.New(tt.cfg)
			if !errors.Is(err, tt.wantErr) || m != nil {
				t.Errorf("New = %v, %v; want %v", m, err, tt.wantErr)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	m, err := session.New(session.Config{Keys: [][]byte{newKey()}})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config()
	if c.CookieName != "oidcrp_session" || c.FlowCookieName != "oidcrp_flow" || c.SameSite != http.SameSiteLaxMode ||
		c.AbsoluteTimeout != 24*time.Hour || c.IdleTimeout != 2*time.Hour || c.FlowTimeout != 10*time.Minute ||
		c.MaxFlows != 4 || c.Replay == nil || c.Revocations == nil || c.Now == nil || c.Secure || c.Store != nil {
		t.Errorf("defaults: %+v", c)
	}
	if d := time.Since(c.Now()); d < 0 || d > time.Minute {
		t.Errorf("default Now is %v off", d)
	}

	// Values set are kept.
	clk := newClock()
	replay := &session.MemoryReplayCache{}
	store := &session.MemoryStore{}
	set := session.Config{
		Keys: [][]byte{newKey()}, Store: store, CookieName: "s", FlowCookieName: "f", Secure: true,
		SameSite: http.SameSiteStrictMode, AbsoluteTimeout: time.Hour, IdleTimeout: time.Minute,
		FlowTimeout: time.Second, MaxFlows: 2, Replay: replay, Now: clk.Now,
	}
	m, err = session.New(set)
	if err != nil {
		t.Fatal(err)
	}
	c = m.Config()
	if c.CookieName != "s" || c.FlowCookieName != "f" || !c.Secure || c.SameSite != http.SameSiteStrictMode ||
		c.AbsoluteTimeout != time.Hour || c.IdleTimeout != time.Minute || c.FlowTimeout != time.Second ||
		c.MaxFlows != 2 || c.Replay != replay || c.Store != store || !c.Now().Equal(clk.Now()) {
		t.Errorf("config changed: %+v", c)
	}
}
