package session_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/internal/wire"
	"github.com/oidcrp/oidcrp/session"
)

// encodeV2 is s as version 2 wrote it (the tokens as text, no DPoP key or
// scopes), the first bytes of versions 3 and 4 too.
func encodeV2(s *session.Session, version byte) []byte {
	b := []byte{version}
	for _, v := range []string{s.ID, s.Issuer, s.Subject, s.SID, s.IDToken(), s.AccessToken(), s.RefreshToken()} {
		b = wire.AppendString(b, v)
	}
	for _, t := range []time.Time{s.Expiry, s.RefreshedAt, s.CreatedAt, s.LastSeen} {
		b = wire.AppendVarint(b, t.UnixMilli())
	}
	return wire.AppendBytes(b, s.Claims)
}

// TestSessionDPoPKey: a session with a DPoP key round-trips with it (a
// tagged field); sessions of versions 3 (a key after version 2's fields)
// and 4 (tagged fields after version 2's) still decode; an empty key is
// malformed.
func TestSessionDPoPKey(t *testing.T) {
	s := sample(newClock())
	s.DPoPKey = append([]byte{1}, bytes.Repeat([]byte{7}, 32)...)
	b, _ := s.MarshalBinary()
	if b[0] != 5 {
		t.Fatalf("version %d, want 5", b[0])
	}
	var back session.Session
	if err := back.UnmarshalBinary(b); err != nil || !sameSession(&back, s) {
		t.Fatalf("UnmarshalBinary = %v, %v", err, back)
	}
	if str := back.String(); bytes.Contains([]byte(str), s.DPoPKey[1:]) || !bytes.Contains([]byte(str), []byte("DPoPKey:[redacted]")) {
		t.Fatalf("String: %s", str)
	}
	v3 := wire.AppendBytes(encodeV2(s, 3), s.DPoPKey)
	if err := back.UnmarshalBinary(v3); err != nil || !sameSession(&back, s) {
		t.Fatalf("version 3: %v, %v", err, back)
	}
	v4 := wire.AppendBytes(append(encodeV2(s, 4), 1), s.DPoPKey)
	if err := back.UnmarshalBinary(v4); err != nil || !sameSession(&back, s) {
		t.Fatalf("version 4: %v, %v", err, back)
	}
	if err := back.UnmarshalBinary(encodeV2(s, 4)); !errors.Is(err, session.ErrMalformed) {
		t.Fatalf("version 4 without a tagged field: %v", err)
	}
	key := s.DPoPKey
	s.DPoPKey = []byte{}
	b3, _ := s.MarshalBinary() // an empty, non-nil key
	if err := back.UnmarshalBinary(b3); !errors.Is(err, session.ErrMalformed) {
		t.Fatalf("an empty key: %v", err)
	}
	s.DPoPKey = key
	if err := back.UnmarshalBinary(b[:len(b)-1]); !errors.Is(err, session.ErrMalformed) {
		t.Fatalf("truncated key: %v", err)
	}
}

// TestSessionScopes: granted scopes round-trip, with a DPoP key or alone,
// and tagged fields come in order, each once.
func TestSessionScopes(t *testing.T) {
	s := sample(newClock())
	s.Scopes = "openid email https://www.googleapis.com/auth/calendar.readonly"
	for _, key := range [][]byte{nil, append([]byte{1}, bytes.Repeat([]byte{7}, 32)...)} {
		s.DPoPKey = key
		b, _ := s.MarshalBinary()
		var back session.Session
		if err := back.UnmarshalBinary(b); err != nil || back.Scopes != s.Scopes || !bytes.Equal(back.DPoPKey, key) {
			t.Fatalf("with key %v: %v, %+v", key != nil, err, back)
		}
	}
	b, _ := s.MarshalBinary()
	twice := append(b, 2, 1, 'x') // the scopes tag again
	var back session.Session
	if err := back.UnmarshalBinary(twice); !errors.Is(err, session.ErrMalformed) {
		t.Fatalf("a tag twice: %v", err)
	}
	later := append(b, 9, 1, 'x') // a field of a later version: skipped
	if err := back.UnmarshalBinary(later); err != nil || back.Scopes != s.Scopes {
		t.Fatalf("a later field: %v", err)
	}
}

// TestFlowPending: it sees a flow's cookie without taking it.
func TestFlowPending(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, nil)
	j := newJar(t)
	state := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	if m.FlowPending(j.request("https://app.example/"), state) {
		t.Fatal("pending before SaveFlow")
	}
	rec := httptest.NewRecorder()
	if err := m.SaveFlow(rec, j.request("https://app.example/"), session.LoginFlow, state, []byte("data")); err != nil {
		t.Fatal(err)
	}
	j.update(rec)
	r := j.request("https://app.example/")
	if !m.FlowPending(r, state) || m.FlowPending(r, "other"+state) || m.FlowPending(r, "short") {
		t.Fatal("FlowPending does not see the flow, or sees others")
	}
	if data, err := m.TakeFlow(httptest.NewRecorder(), r, session.LoginFlow, state); err != nil || string(data) != "data" {
		t.Fatalf("TakeFlow after FlowPending = %q, %v", data, err)
	}
}

// TestOldCookiesLoad: a cookie sealed before version 5 (tokens as text)
// still loads, with its tokens, so deploying logs nobody out; the next save
// writes version 5.
func TestOldCookiesLoad(t *testing.T) {
	clk := newClock()
	key := make([]byte, 32)
	codec, err := session.NewCodec(key)
	if err != nil {
		t.Fatal(err)
	}
	m, err := session.New(session.Config{Keys: [][]byte{key}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	s := sample(clk)
	s.Issuer = "https://op.example"
	for _, tt := range []struct {
		old    []byte
		scopes string
	}{{encodeV2(s, 2), ""}, {wire.AppendString(append(encodeV2(s, 4), 2), "openid email"), "openid email"}} {
		old := tt.old
		value, err := codec.Encode("oidcrp_session", old)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest("GET", "http://app.example/", nil)
		r.AddCookie(&http.Cookie{Name: "oidcrp_session", Value: value})
		got, err := m.Load(r)
		if err != nil || !sameSession(got, withScopes(s, tt.scopes)) || got.IDToken() != s.IDToken() {
			t.Fatalf("version %d cookie: %v, %v", old[0], got, err)
		}
		b, _ := got.MarshalBinary()
		if b[0] != 5 {
			t.Fatalf("re-encoded as version %d", b[0])
		}
	}
}

// withScopes is a copy of s with scopes.
func withScopes(s *session.Session, scopes string) *session.Session {
	c := *s
	c.Scopes = scopes
	return &c
}
