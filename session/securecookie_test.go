package session_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/oidcrp/oidcrp/session"
)

// Codec serves wherever gorilla's codecs do.
func TestCodecAsSecureCookieCodec(t *testing.T) {
	oldKey, newKey_ := newKey(), newKey()
	old := newCodec(t, oldKey)
	rotated := newCodec(t, newKey_, oldKey)
	v, err := securecookie.EncodeMulti("n", map[string]string{"a": "b"}, old)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := securecookie.DecodeMulti("n", v, &got, rotated); err != nil || got["a"] != "b" {
		t.Errorf("DecodeMulti = %v, %v", got, err)
	}
	// Codecs tried in turn: a ring of our codec and gorilla's reads both.
	gorilla := securecookie.CodecsFromPairs(securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32))
	codecs := append([]securecookie.Codec{rotated}, gorilla...)
	g, _ := securecookie.EncodeMulti("n", map[string]string{"a": "gorilla"}, gorilla...)
	if err := securecookie.DecodeMulti("n", g, &got, codecs...); err != nil || got["a"] != "gorilla" {
		t.Errorf("DecodeMulti of a gorilla value = %v, %v", got, err)
	}
	if err := securecookie.DecodeMulti("other", v, &got, codecs...); err == nil {
		t.Error("DecodeMulti under another name succeeded")
	}
	if err := securecookie.DecodeMulti("n", v, &got, newCodec(t, newKey())); err == nil {
		t.Error("DecodeMulti with another key succeeded")
	}
}

// A Manager runs on gorilla's codecs: their gob serializer stores a
// Session through its MarshalBinary.
func TestManagerWithSecureCookieCodecs(t *testing.T) {
	clk := newClock()
	codecs := securecookie.CodecsFromPairs(securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32))
	for _, withStore := range []bool{false, true} {
		m := newManager(t, clk, func(c *session.Config) {
			c.Keys, c.Codecs = nil, codecs
			if withStore {
				c.Store = &session.MemoryStore{}
			}
		})
		s := sample(clk)
		j := login(t, m, "https://app.example/", s)
		got, err := m.Load(j.request("https://app.example/"))
		if err != nil || !sameSession(got, s) {
			t.Errorf("store %v: Load = %v, %v", withStore, got, err)
		}
		// Flows too.
		state := newState()
		startLogin(t, m, j, "https://app.example/", state, []byte("flow"))
		if data, err := callback(m, j, "https://app.example/", state); err != nil || string(data) != "flow" {
			t.Errorf("store %v: TakeFlow = %q, %v", withStore, data, err)
		}
		// Tampering is caught.
		name := "__Host-oidcrp_session"
		v := j.cookies[name]
		j.set(name, v[:len(v)-4]+"AAAA")
		if _, err := m.Load(j.request("https://app.example/")); !errors.Is(err, session.ErrInvalid) {
			t.Errorf("store %v: tampered: err = %v, want ErrInvalid", withStore, err)
		}
	}
}

// Moving from securecookie to Codec: a Manager with [Codec(new),
// securecookie(old)] reads the cookies the old securecookie-only Manager
// wrote, and rewrites them with Codec.
func TestMigrationFromSecureCookie(t *testing.T) {
	clk := newClock()
	oldCodecs := securecookie.CodecsFromPairs(securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32))
	before := newManager(t, clk, func(c *session.Config) { c.Keys, c.Codecs = nil, oldCodecs })
	after := newManager(t, clk, func(c *session.Config) {
		c.Keys, c.Codecs = nil, append([]securecookie.Codec{newCodec(t, newKey())}, oldCodecs...)
	})
	s := sample(clk)
	j := login(t, before, "https://app.example/", s)
	oldValue := j.cookies["__Host-oidcrp_session"]
	state := newState()
	startLogin(t, before, j, "https://app.example/", state, []byte("pending login"))

	got, err := after.Load(j.request("https://app.example/"))
	if err != nil || !sameSession(got, s) {
		t.Fatalf("new Manager reading the old cookie: %v, %v", got, err)
	}
	if data, err := callback(after, j, "https://app.example/", state); err != nil || string(data) != "pending login" {
		t.Errorf("login pending across the upgrade: %q, %v", data, err)
	}
	// The next write uses the new codec.
	clk.Advance(10 * time.Minute)
	rec := httptest.NewRecorder()
	if err := after.Touch(rec, j.request("https://app.example/"), got); err != nil {
		t.Fatal(err)
	}
	j.update(rec)
	newValue := j.cookies["__Host-oidcrp_session"]
	if newValue == oldValue || len(newValue) >= len(oldValue) {
		t.Errorf("cookie not rewritten by Codec: %d bytes, was %d", len(newValue), len(oldValue))
	}
	if _, err := after.Load(j.request("https://app.example/")); err != nil {
		t.Errorf("Load of the rewritten cookie: %v", err)
	}
	if _, err := before.Load(j.request("https://app.example/")); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("old Manager reading the new cookie: err = %v, want ErrInvalid", err)
	}
}

// securecookie refuses values over its MaxLength (4096 by default); the
// Manager passes the refusal on and writes nothing.
func TestSecureCookieCodecLimits(t *testing.T) {
	clk := newClock()
	codecs := securecookie.CodecsFromPairs(securecookie.GenerateRandomKey(32), securecookie.GenerateRandomKey(32))
	for _, withStore := range []bool{false, true} {
		m := newManager(t, clk, func(c *session.Config) {
			c.Keys, c.Codecs = nil, codecs
			if withStore {
				c.Store = &session.MemoryStore{}
			}
		})
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
		if err := m.Create(rec, r, &session.Session{Subject: "a", Claims: bigClaims(6000)}); err == nil {
			t.Errorf("store %v: a session over securecookie's limit was saved", withStore)
		}
		if err := m.SaveFlow(rec, r, session.LoginFlow, newState(), []byte(randomText(6000))); err == nil {
			t.Errorf("store %v: a flow over securecookie's limit was saved", withStore)
		}
		if h := rec.Header()["Set-Cookie"]; len(h) != 0 {
			t.Errorf("store %v: failed saves wrote %v", withStore, h)
		}
	}
}
