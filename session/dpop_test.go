package session_test

import (
	"bytes"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/oidcrp/oidcrp/session"
)

// TestSessionDPoPKey: a session with a DPoP key round-trips with it (format
// version 3); one without keeps version 2; version 3 without a key is
// malformed.
func TestSessionDPoPKey(t *testing.T) {
	s := sample(newClock())
	s.DPoPKey = append([]byte{1}, bytes.Repeat([]byte{7}, 32)...)
	b, _ := s.MarshalBinary()
	if b[0] != 3 {
		t.Fatalf("version %d, want 3", b[0])
	}
	var back session.Session
	if err := back.UnmarshalBinary(b); err != nil || !sameSession(&back, s) {
		t.Fatalf("UnmarshalBinary = %v, %v", err, back)
	}
	if str := back.String(); bytes.Contains([]byte(str), s.DPoPKey[1:]) || !bytes.Contains([]byte(str), []byte("DPoPKey:[redacted]")) {
		t.Fatalf("String: %s", str)
	}
	s.DPoPKey = nil
	b2, _ := s.MarshalBinary()
	if b2[0] != 2 {
		t.Fatalf("version without a key %d, want 2", b2[0])
	}
	s.DPoPKey = []byte{}
	b3, _ := s.MarshalBinary() // an empty, non-nil key: version 3 with nothing
	if err := back.UnmarshalBinary(b3); !errors.Is(err, session.ErrMalformed) {
		t.Fatalf("version 3 with an empty key: %v", err)
	}
	if err := back.UnmarshalBinary(b[:len(b)-1]); !errors.Is(err, session.ErrMalformed) {
		t.Fatalf("truncated key: %v", err)
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
