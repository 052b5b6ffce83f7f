package session_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
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
	sess := func(id, sid, sub string, created time.Time) *session.Session {
		return &session.Session{ID: id, SID: sid, Subject: sub, CreatedAt: created}
	}
	if revoked, err := r.Revoked(ctx, sess("s1", "op-1", "alice", at)); revoked || err != nil {
		t.Fatalf("empty: Revoked = %v, %v", revoked, err)
	}
	for _, i := range []struct{ sid, sub string }{{"op-1", "alice"}, {"op-2", "alice"}, {"op-7", "bob"}, {"", "bob"}, {"", "dave"}, {"op-9", "dave"}} {
		r.Issue(ctx, &session.Session{SID: i.sid, Subject: i.sub}, later)
	}
	r.Revoke(ctx, session.Revocation{SID: "op-1", At: at, Expires: later})
	r.Revoke(ctx, session.Revocation{Subject: "bob", At: at, Expires: later})
	r.Revoke(ctx, session.Revocation{SID: "op-unknown", Subject: "dave", At: at, Expires: later}) // dave's sessions without sid
	r.Revoke(ctx, session.Revocation{ID: "s-copied", At: at, Expires: later})
	// Anonymous (front-channel) logouts of what was never issued store
	// nothing.
	r.Revoke(ctx, session.Revocation{SID: "op-never-issued", Unverified: true, At: at, Expires: later})
	r.Revoke(ctx, session.Revocation{Subject: "never-issued", Unverified: true, At: at, Expires: later})
	tests := []struct {
		name         string
		id, sid, sub string
		created      time.Time
		want         bool
	}{
		{"sid, created before", "s1", "op-1", "alice", at.Add(-time.Minute), true},
		{"sid, created at the logout", "s1", "op-1", "alice", at, true},
		{"sid, created after", "s1", "op-1", "alice", at.Add(time.Millisecond), false},
		{"other sid of the user", "s2", "op-2", "alice", at.Add(-time.Minute), false},
		{"subject", "s3", "op-7", "bob", at.Add(-time.Minute), true},
		{"subject without sid", "s4", "", "bob", at, true},
		{"subject, created after", "s4", "", "bob", at.Add(time.Second), false},
		{"other subject", "s5", "", "carol", at.Add(-time.Minute), false},
		{"sid and sub: the user's session without sid", "s6", "", "dave", at.Add(-time.Minute), true},
		{"sid and sub: the user's session with another sid", "s7", "op-9", "dave", at.Add(-time.Minute), false},
		{"session ID", "s-copied", "op-2", "alice", at.Add(-time.Minute), true},
		{"session ID, another session", "s-other", "op-2", "alice", at.Add(-time.Minute), false},
	}
	for _, tt := range tests {
		revoked, err := r.Revoked(ctx, sess(tt.id, tt.sid, tt.sub, tt.created))
		if err != nil || revoked != tt.want {
			t.Errorf("%s: Revoked = %v, %v; want %v", tt.name, revoked, err, tt.want)
		}
	}
	// Issued: op-1, op-2, op-7, op-9, alice, bob, dave; the session ID;
	// and op-unknown, from a verified logout.
	if n := r.Len(); n != 9 {
		t.Errorf("Len = %d, want 9: unverified logouts of what was never issued must store nothing", n)
	}

	// An earlier revocation does not undo a later one; a later one extends it.
	r.Revoke(ctx, session.Revocation{SID: "op-1", At: at.Add(-time.Hour), Expires: later})
	if revoked, _ := r.Revoked(ctx, sess("s1", "op-1", "", at)); !revoked {
		t.Error("an earlier revocation replaced a later one")
	}
	r.Revoke(ctx, session.Revocation{SID: "op-1", At: at.Add(time.Minute), Expires: later})
	if revoked, _ := r.Revoked(ctx, sess("s1", "op-1", "", at.Add(time.Second))); !revoked {
		t.Error("a later revocation was ignored")
	}
}

// TestMemoryRevocationsExpiry: records are swept once their time has
// passed, a few at every write, by the configured clock.
func TestMemoryRevocationsExpiry(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	r := session.MemoryRevocations{Now: func() time.Time { return now }}
	for i := range 100 {
		r.Issue(ctx, &session.Session{SID: fmt.Sprint("op-", i)}, now.Add(time.Hour))
	}
	r.Revoke(ctx, session.Revocation{SID: "op-1", At: now, Expires: now.Add(2 * time.Hour)})
	now = now.Add(90 * time.Minute)
	for i := range 100 {
		r.Issue(ctx, &session.Session{SID: fmt.Sprint("new-", i)}, now.Add(time.Hour))
	}
	// 99 expired sids were swept while 100 were added; op-1's revocation
	// lives on.
	if n := r.Len(); n != 101 {
		t.Errorf("Len = %d, want 101", n)
	}
	if revoked, _ := r.Revoked(ctx, &session.Session{SID: "op-1", CreatedAt: now.Add(-2 * time.Hour)}); !revoked {
		t.Error("the revocation was swept before its expiry")
	}
}

// TestMemoryRevocationsBounded: past MaxEntries, the oldest records go.
func TestMemoryRevocationsBounded(t *testing.T) {
	ctx := context.Background()
	r := session.MemoryRevocations{MaxEntries: 1000}
	for i := range 5000 {
		r.Issue(ctx, &session.Session{SID: fmt.Sprint("op-", i)}, time.Now().Add(time.Hour))
	}
	if n := r.Len(); n != 1000 {
		t.Errorf("Len = %d, want 1000", n)
	}
	r.Revoke(ctx, session.Revocation{SID: "op-4999", At: time.Now(), Expires: time.Now().Add(time.Hour)})
	if revoked, _ := r.Revoked(ctx, &session.Session{SID: "op-4999", CreatedAt: time.Now().Add(-time.Minute)}); !revoked {
		t.Error("the newest sid was forgotten")
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
				r.Issue(ctx, &session.Session{SID: sid}, at.Add(time.Hour))
				r.Revoke(ctx, session.Revocation{SID: sid, At: at, Expires: at.Add(time.Hour)})
				if revoked, _ := r.Revoked(ctx, &session.Session{SID: sid, CreatedAt: at}); !revoked {
					t.Errorf("%s not revoked", sid)
				}
			}
		})
	}
	wg.Wait()
}

// failingRevocations fails every call but Issue, unless issueFails.
type failingRevocations struct{ issueFails bool }

func (f failingRevocations) Issue(context.Context, *session.Session, time.Time) error {
	if f.issueFails {
		return errDown
	}
	return nil
}

func (failingRevocations) Revoke(context.Context, session.Revocation) error { return errDown }
func (failingRevocations) Revoked(context.Context, *session.Session) (bool, error) {
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
	if err := m.Revoke(context.Background(), session.Revocation{SID: "op-1"}); !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Revoke: err = %v, want ErrStore", err)
	}
}

// A login whose sid and subject cannot be recorded fails: a logout the
// provider announced later could not end it.
func TestIssueFailure(t *testing.T) {
	m := newManager(t, newClock(), func(c *session.Config) { c.Revocations = failingRevocations{issueFails: true} })
	w := httptest.NewRecorder()
	err := m.Create(w, httptest.NewRequest("GET", "http://app.example/", nil), &session.Session{Subject: "alice", SID: "op-1"})
	if !errors.Is(err, session.ErrStore) || len(w.Result().Cookies()) != 0 {
		t.Errorf("Create = %v with %d cookies; want ErrStore and none", err, len(w.Result().Cookies()))
	}
}

// A Revoker store that fails makes Revoke fail.
func TestRevokeStoreFailure(t *testing.T) {
	clk := newClock()
	m := newStoreManager(t, clk, failingRevoker{&session.MemoryStore{}})
	if err := m.Revoke(context.Background(), session.Revocation{SID: "op-1"}); !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Revoke by sid: err = %v, want ErrStore", err)
	}
	if err := m.Revoke(context.Background(), session.Revocation{Subject: "alice"}); !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Revoke by subject: err = %v, want ErrStore", err)
	}
}

type failingRevoker struct{ *session.MemoryStore }

func (failingRevoker) DeleteBySID(context.Context, string, string) (int, error) { return 0, errDown }
func (failingRevoker) DeleteBySubject(context.Context, string, string) (int, error) {
	return 0, errDown
}

// TestRevocationsPerIssuer: a sub or sid is unique per issuer only: a
// logout from one provider never ends a session of another with the same
// sub or sid.
func TestRevocationsPerIssuer(t *testing.T) {
	ctx := context.Background()
	var r session.MemoryRevocations
	at := time.Now()
	a := &session.Session{ID: "a", Issuer: "https://a.example", Subject: "alice", SID: "s1", CreatedAt: at.Add(-time.Minute)}
	b := &session.Session{ID: "b", Issuer: "https://b.example", Subject: "alice", SID: "s1", CreatedAt: at.Add(-time.Minute)}
	r.Issue(ctx, a, at.Add(time.Hour))
	r.Issue(ctx, b, at.Add(time.Hour))
	for _, rev := range []session.Revocation{
		{Issuer: "https://b.example", Subject: "alice", At: at, Expires: at.Add(time.Hour)},
		{Issuer: "https://b.example", SID: "s1", At: at, Expires: at.Add(time.Hour)},
	} {
		r.Revoke(ctx, rev)
	}
	if revoked, _ := r.Revoked(ctx, a); revoked {
		t.Error("a logout from provider B ended a session of provider A")
	}
	if revoked, _ := r.Revoked(ctx, b); !revoked {
		t.Error("provider B's logout did not end its own session")
	}
}
