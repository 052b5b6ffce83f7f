package session_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/oidcrp/oidcrp/internal/wire"
	"github.com/oidcrp/oidcrp/session"
)

// TestSessionDPoPKey: a session with a DPoP key round-trips with it (format
// version 4, a tagged field); one without keeps version 2; version 3 (a key
// after version 2's fields) still decodes; an empty key is malformed.
func TestSessionDPoPKey(t *testing.T) {
	s := sample(newClock())
	s.DPoPKey = append([]byte{1}, bytes.Repeat([]byte{7}, 32)...)
	b, _ := s.MarshalBinary()
	if b[0] != 4 {
		t.Fatalf("version %d, want 4", b[0])
	}
	var back session.Session
	if err := back.UnmarshalBinary(b); err != nil || !sameSession(&back, s) {
		t.Fatalf("UnmarshalBinary = %v, %v", err, back)
	}
	if str := back.String(); bytes.Contains([]byte(str), s.DPoPKey[1:]) || !bytes.Contains([]byte(str), []byte("DPoPKey:[redacted]")) {
		t.Fatalf("String: %s", str)
	}
	// Version 3: version 2's fields and the key, untagged.
	v3 := append([]byte{3}, b[1:len(b)-len(s.DPoPKey)-2]...)
	v3 = wire.AppendBytes(v3, s.DPoPKey)
	if err := back.UnmarshalBinary(v3); err != nil || !sameSession(&back, s) {
		t.Fatalf("version 3: %v, %v", err, back)
	}
	key := s.DPoPKey
	s.DPoPKey = nil
	b2, _ := s.MarshalBinary()
	if b2[0] != 2 {
		t.Fatalf("version without a key %d, want 2", b2[0])
	}
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
