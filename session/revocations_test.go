package session_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

func TestMemoryRevocations(t *testing.T) {
	ctx := context.Background()
	var r session.MemoryRevocations // the zero value is ready
	at := time.Now().Truncate(time.Millisecond)
	later := at.Add(time.Hour)
	if revoked, err := r.Revoked(ctx, "op-1", "alice", at); revoked || err != nil {
		t.Fatalf("empty: Revoked = %v, %v", revoked, err)
	}
	r.Revoke(ctx, "op-1", "ignored when sid is set", at, later)
	r.Revoke(ctx, "", "bob", at, later)
	tests := []struct {
		name     string
		sid, sub string
		created  time.Time
		want     bool
	}{
		{"sid, created before", "op-1", "alice", at.Add(-time.Minute), true},
		{"sid, created at the logout", "op-1", "alice", at, true},
		{"sid, created after", "op-1", "alice", at.Add(time.Millisecond), false},
		{"other sid", "op-2", "alice", at.Add(-time.Minute), false},
		{"subject of a sid revocation", "", "ignored when sid is set", at.Add(-time.Minute), false},
		{"subject", "op-7", "bob", at.Add(-time.Minute), true},
		{"subject without sid", "", "bob", at, true},
		{"subject, created after", "", "bob", at.Add(time.Second), false},
		{"other subject", "", "carol", at.Add(-time.Minute), false},
	}
	for _, tt := range tests {
		revoked, err := r.Revoked(ctx, tt.sid, tt.sub, tt.created)
		if err != nil || revoked != tt.want {
			t.Errorf("%s: Revoked = %v, %v; want %v", tt.name, revoked, err, tt.want)
		}
	}

	// An earlier revocation does not undo a later one; a later one extends it.
	r.Revoke(ctx, "op-1", "", at.Add(-time.Hour), later)
	if revoked, _ := r.Revoked(ctx, "op-1", "", at); !revoked {
		t.Error("an earlier revocation replaced a later one")
	}
	r.Revoke(ctx, "op-1", "", at.Add(time.Minute), later)
	if revoked, _ := r.Revoked(ctx, "op-1", "", at.Add(time.Second)); !revoked {
		t.Error("a later revocation was ignored")
	}

	// Expired records are forgotten at the next Revoke.
	r.Revoke(ctx, "op-old", "", at, time.Now().Add(-time.Second))
	r.Revoke(ctx, "op-new", "", at, later)
	if revoked, _ := r.Revoked(ctx, "op-old", "", at.Add(-time.Hour)); revoked {
		t.Error("expired revocation still held")
	}
}

func TestMemoryRevocationsConcurrent(t *testing.T) {
	var r session.MemoryRevocations
	ctx := context.Background()
	at := time.Now()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				sid := string(rune('a'+i)) + string(rune('a'+j%26))
				r.Revoke(ctx, sid, "", at, at.Add(time.Hour))
				if revoked, _ := r.Revoked(ctx, sid, "", at); !revoked {
					t.Errorf("%s not revoked", sid)
				}
			}
		})
	}
	wg.Wait()
}

// failingRevocations fails every call.
type failingRevocations struct{}

func (failingRevocations) Revoke(context.Context, string, string, time.Time, time.Time) error {
	return errDown
}

func (failingRevocations) Revoked(context.Context, string, string, time.Time) (bool, error) {
	return false, errDown
}

// When revocations cannot be checked, no session is granted.
func TestRevocationsFailure(t *testing.T) {
	clk := newClock()
	m := newManager(t, clk, func(c *session.Config) { c.Revocations = failingRevocations{} })
	j := login(t, m, "http://app.example/", &session.Session{Subject: "alice", SID: "op-1"})
	s, err := m.Load(j.request("http://app.example/"))
	if s != nil || !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) || errors.Is(err, session.ErrNoSession) {
		t.Errorf("Load = %v, %v; want ErrStore", s, err)
	}
	if err := m.Revoke(context.Background(), "op-1", ""); !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Revoke: err = %v, want ErrStore", err)
	}
}

// A Revoker store that fails makes Revoke fail.
func TestRevokeStoreFailure(t *testing.T) {
	clk := newClock()
	m := newStoreManager(t, clk, failingRevoker{session.NewMemoryStore()})
	if err := m.Revoke(context.Background(), "op-1", ""); !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Revoke by sid: err = %v, want ErrStore", err)
	}
	if err := m.Revoke(context.Background(), "", "alice"); !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Revoke by subject: err = %v, want ErrStore", err)
	}
}

type failingRevoker struct{ *session.MemoryStore }

func (failingRevoker) DeleteBySID(context.Context, string) (int, error)     { return 0, errDown }
func (failingRevoker) DeleteBySubject(context.Context, string) (int, error) { return 0, errDown }
