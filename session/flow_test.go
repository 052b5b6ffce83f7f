package session_test

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/session"
)

// startLogin saves a flow for state in the browser j, as the login handler
// does.
func startLogin(t *testing.T, m *session.Manager, j *jar, target, state string, data []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := m.SaveFlow(rec, j.request(target), session.LoginFlow, state, data); err != nil {
		t.Fatal(err)
	}
	j.update(rec)
}

// callback takes the flow for state from the browser j, as the callback
// handler does, and applies the response to j.
func callback(m *session.Manager, j *jar, target, state string) ([]byte, error) {
	rec := httptest.NewRecorder()
	data, err := m.TakeFlow(rec, j.request(target), session.LoginFlow, state)
	j.update(rec)
	return data, err
}

func TestFlowRoundTrip(t *testing.T) {
	for _, target := range []string{"http://app.example/auth/callback", "https://app.example/auth/callback"} {
		t.Run(target, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, clk, nil)
			j := newJar(t)
			state := newState()
			rec := httptest.NewRecorder()
			if err := m.SaveFlow(rec, j.request(target), session.LoginFlow, state, []byte("flow data")); err != nil {
				t.Fatal(err)
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("SaveFlow set %d cookies", len(cookies))
			}
			c := cookies[0]
			wantName := "oidcrp_flow_" + state[:16]
			if strings.HasPrefix(target, "https") {
				wantName = session.HostPrefix + wantName
			}
			if c.Name != wantName || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" ||
				c.MaxAge != 600 || !c.Expires.IsZero() ||
				c.Secure != strings.HasPrefix(target, "https") {
				t.Errorf("flow cookie: %+v", c)
			}
			if strings.Contains(c.Value, "flow data") || strings.Contains(c.Value, state) {
				t.Error("flow cookie is not sealed")
			}
			j.update(rec)
			replay := j.request(target) // the callback request, kept to replay

			clk.Advance(9 * time.Minute)
			rec = httptest.NewRecorder()
			data, err := m.TakeFlow(rec, replay, session.LoginFlow, state)
			if err != nil || string(data) != "flow data" {
				t.Fatalf("TakeFlow = %q, %v", data, err)
			}
			if c := setCookies(rec)[wantName]; c == nil || c.MaxAge >= 0 {
				t.Errorf("TakeFlow did not delete the cookie: %v", rec.Header()["Set-Cookie"])
			}
			j.update(rec)
			if len(j.names) != 0 {
				t.Errorf("browser keeps %v", j.names)
			}

			// The same callback replayed, cookie and all.
			if data, err := m.TakeFlow(httptest.NewRecorder(), replay, session.LoginFlow, state); !errors.Is(err, session.ErrFlowUsed) || data != nil {
				t.Errorf("replayed: TakeFlow = %q, %v; want ErrFlowUsed", data, err)
			}
			// Without the cookie.
			if _, err := callback(m, j, target, state); !errors.Is(err, session.ErrNoFlow) {
				t.Errorf("taken twice: err = %v, want ErrNoFlow", err)
			}
		})
	}
}

func TestFlowEmptyAndLargeData(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	for _, data := range [][]byte{nil, []byte(randomText(2000))} {
		j := newJar(t)
		state := newState()
		startLogin(t, m, j, "https://app.example/", state, data)
		got, err := callback(m, j, "https://app.example/", state)
		if err != nil || string(got) != string(data) {
			t.Errorf("TakeFlow = %q, %v; want %q", got, err, data)
		}
	}
}

func TestTakeFlowRejects(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	other := newManager(t, clk, nil)
	state := newState()
	sibling := state[:16] + newState()[16:] // same cookie name, another state
	if sibling == state {
		t.Fatal("states collide")
	}
	tests := []struct {
		name    string
		save    string // state saved, if not ""
		by      *session.Manager
		take    string
		cookie  func(*jar) // edits the browser's cookies before the callback
		wantErr error
	}{
		{name: "no flow", take: state, wantErr: session.ErrNoFlow},
		{name: "unknown state", save: state, take: newState(), wantErr: session.ErrNoFlow},
		{name: "empty state", save: state, take: "", wantErr: session.ErrNoFlow},
		{name: "short state", save: state, take: state[:15], wantErr: session.ErrNoFlow},
		{name: "state prefix only", save: state, take: state[:16], wantErr: session.ErrNoFlow},
		{name: "state with bad characters", save: state, take: state[:5] + ";=" + state[7:], wantErr: session.ErrNoFlow},
		{name: "state with a dot", save: state, take: state[:5] + "." + state[6:], wantErr: session.ErrNoFlow},
		{name: "state with a space", save: state, take: " " + state[1:], wantErr: session.ErrNoFlow},
		{name: "state extended", save: state, take: state + "x", wantErr: session.ErrNoFlow},
		{name: "state truncated", save: state, take: state[:len(state)-1], wantErr: session.ErrNoFlow},
		{name: "same prefix, other state", save: state, take: sibling, wantErr: session.ErrNoFlow},
		{name: "sealed by another app", save: state, by: other, take: state, wantErr: session.ErrNoFlow},
		{name: "tampered cookie", save: state, take: state, wantErr: session.ErrNoFlow, cookie: func(j *jar) {
			n := j.names[0]
			v := j.cookies[n]
			j.set(n, v[:20]+strings.Map(func(r rune) rune {
				if r == 'A' {
					return 'B'
				}
				return 'A'
			}, v[20:21])+v[21:])
		}},
		{name: "truncated cookie", save: state, take: state, wantErr: session.ErrNoFlow, cookie: func(j *jar) {
			j.set(j.names[0], j.cookies[j.names[0]][:30])
		}},
		{name: "session cookie as flow cookie", save: state, take: state, wantErr: session.ErrNoFlow, cookie: func(j *jar) {
			v := seal(t, m, "oidcrp_session", []byte("x"))
			j.set(j.names[0], v)
		}},
		{name: "not a flow record", save: state, take: state, wantErr: session.ErrNoFlow, cookie: func(j *jar) {
			v := seal(t, m, "oidcrp_flow_"+state[:16], []byte("\x01junk"))
			j.set(j.names[0], v)
		}},
		{name: "flow record of another version", save: state, take: state, wantErr: session.ErrNoFlow, cookie: func(j *jar) {
			v := seal(t, m, "oidcrp_flow_"+state[:16], []byte("\x02"))
			j.set(j.names[0], v)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := newJar(t)
			if tt.save != "" {
				by := tt.by
				if by == nil {
					by = m
				}
				startLogin(t, by, j, "http://app.example/", tt.save, []byte("data"))
			}
			if tt.cookie != nil {
				tt.cookie(j)
			}
			data, err := callback(m, j, "http://app.example/", tt.take)
			if !errors.Is(err, tt.wantErr) || errors.Is(err, session.ErrFlowUsed) || data != nil {
				t.Errorf("TakeFlow = %q, %v; want %v", data, err, tt.wantErr)
			}
		})
	}
}

func TestSaveFlowRejectsState(t *testing.T) {
	m := newManager(t, newClock(), nil)
	for _, state := range []string{"", "short", "0123456789abcde", "0123456789abcde!", "0123456789 abcdef", "ünicode-state-value-here"} {
		rec := httptest.NewRecorder()
		if err := m.SaveFlow(rec, httptest.NewRequest(http.MethodGet, "/", nil), session.LoginFlow, state, nil); err == nil {
			t.Errorf("SaveFlow(%q) succeeded", state)
		}
		if h := rec.Header()["Set-Cookie"]; len(h) != 0 {
			t.Errorf("SaveFlow(%q) set %v", state, h)
		}
	}
}

func TestFlowTimeout(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration // Config.FlowTimeout; 0 for the default
		after   time.Duration
		wantErr error
	}{
		{name: "in time", after: 10 * time.Minute},
		{name: "timed out", after: 10*time.Minute + time.Millisecond, wantErr: session.ErrNoFlow},
		{name: "custom timeout, in time", timeout: time.Minute, after: time.Minute},
		{name: "custom timeout, timed out", timeout: time.Minute, after: time.Minute + time.Millisecond, wantErr: session.ErrNoFlow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			m := newManager(t, clk, func(c *session.Config) { c.FlowTimeout = tt.timeout })
			j := newJar(t)
			state := newState()
			startLogin(t, m, j, "http://app.example/", state, []byte("d"))
			clk.Advance(tt.after)
			if _, err := callback(m, j, "http://app.example/", state); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if len(j.names) != 0 {
				t.Errorf("flow cookie kept: %v", j.names)
			}
		})
	}
}

// Logins started in two tabs of one browser complete independently, in
// either order.
func TestFlowTwoTabs(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	j := newJar(t)
	a, b := newState(), newState()
	startLogin(t, m, j, "https://app.example/login", a, []byte("tab a"))
	clk.Advance(time.Second)
	startLogin(t, m, j, "https://app.example/login", b, []byte("tab b"))
	if n := len(j.names); n != 2 {
		t.Fatalf("%d flow cookies, want 2", n)
	}
	if data, err := callback(m, j, "https://app.example/callback", b); err != nil || string(data) != "tab b" {
		t.Errorf("tab b: %q, %v", data, err)
	}
	if data, err := callback(m, j, "https://app.example/callback", a); err != nil || string(data) != "tab a" {
		t.Errorf("tab a: %q, %v", data, err)
	}
	if len(j.names) != 0 {
		t.Errorf("cookies left: %v", j.names)
	}
}

// A browser keeps at most MaxFlows login attempts; older ones are dropped
// as new ones start, so abandoned logins cannot grow the Cookie header.
func TestMaxFlows(t *testing.T) {
	for _, maxFlows := range []int{0, 1, 2} {
		clk := newClock()
		m := newManager(t, clk, func(c *session.Config) { c.MaxFlows = maxFlows })
		limit := m.Config().MaxFlows
		j := newJar(t)
		var states []string
		for i := range limit + 3 {
			state := newState()
			states = append(states, state)
			startLogin(t, m, j, "https://app.example/login", state, []byte{byte(i)})
			if n := len(j.withPrefix("__Host-oidcrp_flow_")); n > limit || n != min(i+1, limit) {
				t.Fatalf("MaxFlows %d: after %d logins, %d flow cookies", limit, i+1, n)
			}
			clk.Advance(time.Second)
		}
		// The newest remain, the oldest were dropped.
		var want []string
		for _, s := range states[len(states)-limit:] {
			want = append(want, "__Host-oidcrp_flow_"+s[:16])
		}
		got := j.withPrefix("__Host-oidcrp_flow_")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("MaxFlows %d: cookies %v, want %v", limit, got, want)
		}
		for i, s := range states {
			data, err := callback(m, j, "https://app.example/callback", s)
			if kept := i >= len(states)-limit; kept != (err == nil) || (kept && data[0] != byte(i)) {
				t.Errorf("MaxFlows %d: login %d: %v, %v", limit, i, data, err)
			}
		}
	}
}

// Dropping makes room with invalid and timed-out flow cookies first.
func TestMaxFlowsDropsInvalidFirst(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, func(c *session.Config) { c.MaxFlows = 3 })
	j := newJar(t)
	stale := newState()
	startLogin(t, m, j, "http://app.example/", stale, nil)
	clk.Advance(11 * time.Minute) // stale times out
	live := newState()
	startLogin(t, m, j, "http://app.example/", live, nil)
	j.set("oidcrp_flow_AAAAAAAAAAAAAAAA", "garbage")
	if len(j.names) != 3 {
		t.Fatalf("cookies: %v", j.names)
	}
	fresh := newState()
	rec := httptest.NewRecorder()
	if err := m.SaveFlow(rec, j.request("http://app.example/"), session.LoginFlow, fresh, nil); err != nil {
		t.Fatal(err)
	}
	set := setCookies(rec)
	for _, n := range []string{"oidcrp_flow_AAAAAAAAAAAAAAAA", "oidcrp_flow_" + stale[:16]} {
		if c := set[n]; c == nil || c.MaxAge >= 0 {
			t.Errorf("%s not deleted: %v", n, rec.Header()["Set-Cookie"])
		}
	}
	if c := set["oidcrp_flow_"+live[:16]]; c != nil {
		t.Errorf("live flow touched: %v", c)
	}
	j.update(rec)
	if len(j.names) != 2 {
		t.Errorf("cookies: %v", j.names)
	}
	for _, s := range []string{live, fresh} {
		if _, err := callback(m, j, "http://app.example/", s); err != nil {
			t.Errorf("flow %.8s...: %v", s, err)
		}
	}
}

// Flow cookies of the other scheme, and other cookies, do not count.
func TestMaxFlowsCountsOwnCookiesOnly(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, func(c *session.Config) { c.MaxFlows = 1 })
	j := newJar(t)
	j.set("oidcrp_session", "x")
	j.set("oidcrp_flow", "x")
	j.set("oidcrp_flow_AAAAAAAAAAAAAAAA", "x") // plain-HTTP flow cookie
	state := newState()
	rec := httptest.NewRecorder()
	if err := m.SaveFlow(rec, j.request("https://app.example/"), session.LoginFlow, state, nil); err != nil {
		t.Fatal(err)
	}
	if h := rec.Header()["Set-Cookie"]; len(h) != 1 {
		t.Errorf("SaveFlow over https touched other cookies: %v", h)
	}
}

// A callback whose replay cache fails grants nothing.
func TestTakeFlowReplayCacheFailure(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, func(c *session.Config) { c.Replay = failingReplay{} })
	j := newJar(t)
	state := newState()
	startLogin(t, m, j, "http://app.example/", state, []byte("d"))
	data, err := callback(m, j, "http://app.example/", state)
	if !errors.Is(err, errDown) || errors.Is(err, session.ErrNoFlow) || data != nil {
		t.Errorf("TakeFlow = %q, %v; want the cache's error", data, err)
	}
}

type failingReplay struct{}

func (failingReplay) Use(context.Context, string, time.Time) (bool, error) { return false, errDown }

// The replay cache remembers a flow until it would have timed out anyway,
// by the Manager's clock: even a clock far from the real one stops replays.
func TestFlowReplayUsesManagerClock(t *testing.T) {
	clk := testutil.NewClock(time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC))
	m := newManager(t, clk, nil)
	j := newJar(t)
	state := newState()
	startLogin(t, m, j, "http://app.example/", state, []byte("d"))
	replay := j.request("http://app.example/")
	if _, err := m.TakeFlow(httptest.NewRecorder(), replay, session.LoginFlow, state); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	if _, err := m.TakeFlow(httptest.NewRecorder(), replay, session.LoginFlow, state); !errors.Is(err, session.ErrFlowUsed) {
		t.Errorf("replay: err = %v, want ErrFlowUsed", err)
	}
}

// Starting logins never deletes the session cookie, whatever the names.
func TestSaveFlowKeepsSessionCookie(t *testing.T) {
	names := []struct{ cookie, flow string }{
		{"", ""},
		{"app", "app"},
		{"app_session", "app_flow"},
		{"session", "app"},
	}
	for _, n := range names {
		clk := newClock()
		m := newManager(t, clk, func(c *session.Config) { c.CookieName, c.FlowCookieName, c.MaxFlows = n.cookie, n.flow, 1 })
		j := login(t, m, "http://app.example/", &session.Session{Subject: "alice", Claims: bigClaims(5000)})
		for range 3 {
			startLogin(t, m, j, "http://app.example/", newState(), nil)
			clk.Advance(time.Second)
		}
		if _, err := m.Load(j.request("http://app.example/")); err != nil {
			t.Errorf("names %q/%q: session lost to SaveFlow: %v", n.cookie, n.flow, err)
		}
	}
}

// TestFlowKinds: the state of a logout cannot complete a login, nor the
// reverse; flows saved before kinds existed (version 1) still open, as
// what they were.
func TestFlowKinds(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	target := "http://app.example/"
	for _, tt := range []struct{ saved, taken session.FlowKind }{
		{session.LogoutFlow, session.LoginFlow},
		{session.LoginFlow, session.LogoutFlow},
	} {
		j := newJar(t)
		state := newState()
		rec := httptest.NewRecorder()
		if err := m.SaveFlow(rec, j.request(target), tt.saved, state, nil); err != nil {
			t.Fatal(err)
		}
		j.update(rec)
		if _, err := m.TakeFlow(httptest.NewRecorder(), j.request(target), tt.taken, state); !errors.Is(err, session.ErrNoFlow) {
			t.Errorf("flow of kind %d taken as %d: %v, want ErrNoFlow", tt.saved, tt.taken, err)
		}
	}
	// Version 1 records: a login's data, and the logout mark 'L'.
	for _, tt := range []struct {
		data []byte
		kind session.FlowKind
	}{{[]byte("\x01login flow"), session.LoginFlow}, {[]byte("L"), session.LogoutFlow}} {
		j := newJar(t)
		state := newState()
		rec := append([]byte{1}, wireVarint(clk.Now().UnixMilli())...)
		rec = append(append(rec, byte(len(state))), state...)
		rec = append(append(rec, byte(len(tt.data))), tt.data...)
		j.set("oidcrp_flow_"+state[:16], seal(t, m, "oidcrp_flow_"+state[:16], rec))
		if got, err := m.TakeFlow(httptest.NewRecorder(), j.request(target), tt.kind, state); err != nil || string(got) != string(tt.data) {
			t.Errorf("version 1 flow %q as kind %d: %q, %v", tt.data, tt.kind, got, err)
		}
	}
}

// wireVarint is binary.AppendVarint, as the flow record writes times.
func wireVarint(v int64) []byte { return binary.AppendVarint(nil, v) }
