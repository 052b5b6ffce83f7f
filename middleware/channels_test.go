package middleware_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/oidctest"
	"github.com/oidcrp/oidcrp/session"
)

// postLogout delivers a back-channel logout request with form as its body.
func (h *harness) postLogout(t *testing.T, form url.Values) (int, http.Header, map[string]string) {
	t.Helper()
	resp, err := http.PostForm(h.srv.URL+"/auth/backchannel-logout", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, resp.Header, body
}

// loggedIn logs a browser in and returns it with its session's sid.
func (h *harness) loggedIn(t *testing.T) (*oidctest.Browser, string) {
	t.Helper()
	b := oidctest.NewBrowser()
	h.login(t, b, "")
	p, me := h.me(t, b)
	if p.StatusCode != http.StatusOK {
		t.Fatalf("/me after login: %v", p)
	}
	return b, me["sid"].(string)
}

// TestBackchannelLogoutViolations: each invalid logout token answers 400
// with a JSON error and no-store, and the session keeps working.
func TestBackchannelLogoutViolations(t *testing.T) {
	h := newHarness(t, options{})
	b, sid := h.loggedIn(t)
	id := oidctest.DefaultClient.ID
	lt := func(edit func(map[string]any)) string { return h.op.LogoutToken(id, "alice", sid, edit) }
	now := time.Now()
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	del := func(k string) func(map[string]any) { return func(c map[string]any) { delete(c, k) } }
	alg := base64url(`{"alg":"none"}`) + "." + base64url(`{"iss":"`+h.op.URL+`","aud":"`+id+`","sid":"`+sid+`"}`) + "."
	replayed := h.op.LogoutToken(id, "", "some-other-sid", nil)
	if status, _, _ := h.postLogout(t, url.Values{"logout_token": {replayed}}); status != http.StatusOK {
		t.Fatalf("first delivery of a valid token: %d", status)
	}
	tests := []struct {
		name string
		form url.Values
	}{
		{"bad signature", url.Values{"logout_token": {lt(nil)[:len(lt(nil))-4] + "AAAA"}}},
		{"alg none", url.Values{"logout_token": {alg}}},
		{"other issuer", url.Values{"logout_token": {lt(set("iss", "https://evil.example.com"))}}},
		{"other audience", url.Values{"logout_token": {lt(set("aud", "someone-else"))}}},
		{"no iat", url.Values{"logout_token": {lt(del("iat"))}}},
		{"iat in the future", url.Values{"logout_token": {lt(set("iat", now.Add(time.Hour).Unix()))}}},
		{"expired", url.Values{"logout_token": {lt(set("exp", now.Add(-time.Hour).Unix()))}}},
		{"no events", url.Values{"logout_token": {lt(del("events"))}}},
		{"other event", url.Values{"logout_token": {lt(set("events", map[string]any{"urn:x": map[string]any{}}))}}},
		{"nonce", url.Values{"logout_token": {lt(set("nonce", "n"))}}},
		{"neither sid nor sub", url.Values{"logout_token": {h.op.LogoutToken(id, "", "", nil)}}},
		{"no jti", url.Values{"logout_token": {lt(del("jti"))}}},
		{"replayed jti", url.Values{"logout_token": {replayed}}},
		{"ID token instead", url.Values{"logout_token": {h.op.SignJWT(map[string]any{"iss": h.op.URL, "aud": id, "sub": "alice", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": "n"}, "JWT")}}},
		{"no token", url.Values{}},
		{"two tokens", url.Values{"logout_token": {lt(nil), lt(nil)}}},
		{"garbage", url.Values{"logout_token": {"garbage"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := h.postLogout(t, tt.form)
			if status != http.StatusBadRequest || header.Get("Cache-Control") != "no-store" ||
				header.Get("Content-Type") != "application/json" || body["error"] == "" {
				t.Fatalf("status %d, headers %v, body %v", status, header, body)
			}
			if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
				t.Fatalf("session ended by an invalid token: %v", p)
			}
		})
	}
	// Not a POST.
	resp, err := http.Get(h.srv.URL + "/auth/backchannel-logout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
}

// TestBackchannelLogout: a valid logout token by sid or by sub ends the
// session (cookie sessions included) from the very next request; a later
// login works.
func TestBackchannelLogout(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store session.Store
		bySID bool
	}{
		{"cookie session, by sid", nil, true},
		{"cookie session, by sub", nil, false},
		{"server-side session, by sid", &session.MemoryStore{}, true},
		{"server-side session, by sub", &session.MemoryStore{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, options{session: session.Config{Store: tt.store}})
			b, sid := h.loggedIn(t)
			other, _ := h.loggedIn(t) // the same user in another browser, in the same provider session
			sub := "alice"
			if tt.bySID {
				sub = ""
			} else {
				sid = ""
			}
			status, header, _ := h.postLogout(t, url.Values{"logout_token": {h.op.LogoutToken(oidctest.DefaultClient.ID, sub, sid, nil)}})
			if status != http.StatusOK || header.Get("Cache-Control") != "no-store" {
				t.Fatalf("valid logout token: %d %v", status, header)
			}
			for _, br := range []*oidctest.Browser{b, other} {
				if p, _ := h.me(t, br); p.StatusCode != http.StatusUnauthorized {
					t.Fatalf("/me after back-channel logout: %v", p)
				}
				if p, err := br.Get(ctx(t), h.srv.URL+"/me"); err != nil || p.StatusCode != http.StatusOK || len(p.Hops) != 5 {
					t.Fatalf("browser after back-channel logout should log in again: %v %v", p, err)
				}
			}
		})
	}
}

// TestProviderInitiatedLogout: logging out at the provider reaches the app
// over the back channel and ends the session.
func TestProviderInitiatedLogout(t *testing.T) {
	h := newHarness(t, options{})
	b, _ := h.loggedIn(t)
	if sids := h.op.Logout("alice"); len(sids) != 1 {
		t.Fatalf("provider ended %d sessions", len(sids))
	}
	if errs := h.op.DeliveryErrors(); len(errs) != 0 || h.op.Stats().BackchannelLogouts != 1 {
		t.Fatalf("delivery: %v, stats %+v", errs, h.op.Stats())
	}
	if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/me: %v", p)
	}
}

func TestFrontchannelLogout(t *testing.T) {
	h := newHarness(t, options{})
	b, sid := h.loggedIn(t)
	get := func(query string) *http.Response {
		resp, err := http.Get(h.srv.URL + "/auth/frontchannel-logout?" + query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, q := range []string{
		url.Values{"iss": {"https://evil.example.com"}, "sid": {sid}}.Encode(),
		url.Values{"iss": {h.op.URL}}.Encode(),
		url.Values{"sid": {sid}}.Encode(),
	} {
		if resp := get(q); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("%s: %d", q, resp.StatusCode)
		}
		if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
			t.Fatalf("session ended by a bad front-channel request: %v", p)
		}
	}
	resp := get(url.Values{"iss": {h.op.URL}, "sid": {sid}}.Encode())
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "no-cache") || resp.Header.Get("Pragma") != "no-cache" {
		t.Fatalf("front-channel logout: %d %v", resp.StatusCode, resp.Header)
	}
	if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/me after front-channel logout: %v", p)
	}
	// Without iss and sid, the frame's own session cookie is deleted.
	b2, _ := h.loggedIn(t)
	p, err := b2.Get(ctx(t), h.srv.URL+"/auth/frontchannel-logout")
	if err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("%v %v", p, err)
	}
	if p, _ := h.me(t, b2); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/me: %v", p)
	}
}

// TestLogoutRevokesRefreshToken: logout revokes the session's refresh
// token at the provider (RFC 7009).
func TestLogoutRevokesRefreshToken(t *testing.T) {
	h := newHarness(t, options{provider: oidctest.Config{AlwaysIssueRefreshToken: true}})
	b, _ := h.loggedIn(t)
	p, err := b.PostForm(ctx(t), h.srv.URL+"/auth/logout", nil)
	if err != nil || p.StatusCode != http.StatusOK {
		t.Fatalf("logout: %v %v", p, err)
	}
	if n := h.op.Stats().Revocations; n != 1 {
		t.Fatalf("provider saw %d revocations", n)
	}
	// A logout without a session just lands home.
	p, err = oidctest.NewBrowser().PostForm(ctx(t), h.srv.URL+"/auth/logout", nil)
	if err != nil || p.URL.Path != "/" || len(p.Hops) != 2 {
		t.Fatalf("logout without a session: %v %v", p, err)
	}
}

// flakyRevocations is a MemoryRevocations whose Revoke fails while told to.
type flakyRevocations struct {
	session.MemoryRevocations
	fails atomic.Bool
}

func (f *flakyRevocations) Revoke(ctx context.Context, r session.Revocation) error {
	if f.fails.Load() {
		return errDown
	}
	return f.MemoryRevocations.Revoke(ctx, r)
}

// TestBackchannelLogoutRedelivery: when the logout cannot be recorded, the
// token's jti is not spent: the provider's redelivery of the same token
// ends the session. A delivery after that is a replay.
func TestBackchannelLogoutRedelivery(t *testing.T) {
	revocations := &flakyRevocations{}
	h := newHarness(t, options{session: session.Config{Revocations: revocations}})
	b, sid := h.loggedIn(t)
	token := h.op.LogoutToken(oidctest.DefaultClient.ID, "alice", sid, nil)

	revocations.fails.Store(true)
	if status, _, _ := h.postLogout(t, url.Values{"logout_token": {token}}); status != http.StatusBadRequest {
		t.Fatalf("delivery with the revocation store down: %d, want 400", status)
	}
	if p, _ := h.me(t, b); p.StatusCode != http.StatusOK {
		t.Fatalf("/me after a failed logout: %v (the logout was not recorded)", p)
	}
	revocations.fails.Store(false)
	if status, _, body := h.postLogout(t, url.Values{"logout_token": {token}}); status != http.StatusOK {
		t.Fatalf("redelivery once the store is back: %d %v, want 200", status, body)
	}
	if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/me after the redelivered logout: %v", p)
	}
	if status, _, body := h.postLogout(t, url.Values{"logout_token": {token}}); status != http.StatusBadRequest || body["error_description"] != "logout token already used" {
		t.Fatalf("third delivery: %d %v, want a replay", status, body)
	}
}

// TestBackchannelLogoutWithoutSIDInSessions: a provider that puts no sid in
// ID tokens but sends sid and sub in logout tokens still logs the user out:
// sessions without a sid fall back to the subject.
func TestBackchannelLogoutWithoutSIDInSessions(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store session.Store
	}{{"cookie sessions", nil}, {"server-side sessions", &session.MemoryStore{}}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, options{session: session.Config{Store: tt.store}})
			h.op.SetHooks(oidctest.Hooks{IDToken: func(c map[string]any) { delete(c, "sid") }})
			b, sid := h.loggedIn(t)
			if sid != "" {
				t.Fatalf("session has sid %q", sid)
			}
			token := h.op.LogoutToken(oidctest.DefaultClient.ID, "alice", "op-session-7", nil)
			if status, _, body := h.postLogout(t, url.Values{"logout_token": {token}}); status != http.StatusOK {
				t.Fatalf("logout: %d %v", status, body)
			}
			if p, _ := h.me(t, b); p.StatusCode != http.StatusUnauthorized {
				t.Fatalf("/me after the logout of a session without sid: %v", p)
			}
		})
	}
}
