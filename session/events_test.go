package session_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/events"
	"github.com/oidcrp/oidcrp/events/eventstest"
	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/session"
)

// TestRefreshEvents: a refresh that many requests need at once is one
// RefreshSucceeded, and each request served from it a RefreshShared, those
// that waited for it and those that came later with the replaced tokens; a
// failed redemption is one RefreshFailed with its reason, whoever waited
// for it.
func TestRefreshEvents(t *testing.T) {
	clk := newClock()
	rec := new(eventstest.Recorder)
	m := newManager(t, clk, func(c *session.Config) { c.Events = rec })
	ctx := testutil.Context(t)
	s := withTokens(&session.Session{Issuer: "https://op.example", Subject: "alice", RefreshedAt: clk.Now().Add(-time.Hour)},
		"", "at-secret-1", "rt-secret-1", clk.Now().Add(10*time.Second))

	gate := make(chan struct{})
	var redemptions int
	redeem := func(ctx context.Context, old *session.Session) (session.Tokens, error) {
		<-gate
		redemptions++
		return session.Tokens{AccessToken: "at-secret-2", RefreshToken: "rt-secret-2", Expiry: clk.Now().Add(time.Hour)}, nil
	}
	const n = 8
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := m.Refresh(ctx, s, redeem); err != nil {
				t.Error(err)
			}
		})
	}
	// Let the redemption finish once every request waits for it (or, for
	// late ones, find its result).
	time.Sleep(50 * time.Millisecond)
	close(gate)
	wg.Wait()
	if redemptions != 1 {
		t.Fatalf("%d redemptions", redemptions)
	}
	ok, shared := rec.Named(events.RefreshSucceeded), rec.Named(events.RefreshShared)
	if len(ok) != 1 || len(shared) != n-1 {
		t.Fatalf("%d RefreshSucceeded and %d RefreshShared, want 1 and %d", len(ok), len(shared), n-1)
	}
	if ok[0].Issuer != "https://op.example" || ok[0].Subject != "alice" {
		t.Errorf("RefreshSucceeded: %+v", ok[0])
	}

	// A request that still carries the replaced tokens, later.
	clk.Advance(time.Second)
	rec.Reset()
	if _, err := m.Refresh(ctx, s, redeem); err != nil {
		t.Fatal(err)
	}
	if evs := rec.Events(); len(evs) != 1 || evs[0].Name != events.RefreshShared || evs[0].Subject != "alice" {
		t.Fatalf("a late request: %+v", evs)
	}

	// A failed redemption, waited for by several requests.
	rec.Reset()
	errGrant := fmt.Errorf("client: token endpoint: %w", events.NewError(events.ReasonInvalidGrant, "invalid_grant"))
	s2 := *s
	s2.SetTokens(session.Tokens{AccessToken: s2.AccessToken(), RefreshToken: "rt-secret-3", Expiry: s2.Expiry})
	gate2 := make(chan struct{})
	for range 3 {
		wg.Go(func() {
			_, err := m.Refresh(ctx, &s2, func(context.Context, *session.Session) (session.Tokens, error) {
				<-gate2
				return session.Tokens{}, errGrant
			})
			if !errors.Is(err, errGrant) {
				t.Errorf("Refresh: %v", err)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	close(gate2)
	wg.Wait()
	failed := rec.Named(events.RefreshFailed)
	if len(failed) != 1 || failed[0].Reason != events.ReasonInvalidGrant || failed[0].Subject != "alice" || !errors.Is(failed[0].Err, errGrant) {
		t.Fatalf("RefreshFailed: %+v (all: %+v)", failed, rec.Events())
	}
	if leaks := rec.Leaks("at-secret-1", "at-secret-2", "rt-secret-1", "rt-secret-2", "rt-secret-3"); len(leaks) > 0 {
		t.Errorf("events carry tokens: %q", leaks)
	}
}

// TestSessionEndEvents: Load refusing an expired or revoked session emits
// one event saying which.
func TestSessionEndEvents(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		kind  string
	}{
		{"idle", 2*time.Hour + time.Second, "idle"},
		{"absolute", 25 * time.Hour, "absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			rec := new(eventstest.Recorder)
			m := newManager(t, clk, func(c *session.Config) {
				c.Events = rec
				if tt.kind == "absolute" {
					c.IdleTimeout = 100 * time.Hour
				}
			})
			j := login(t, m, "http://app.example/", &session.Session{Issuer: "https://op.example", Subject: "alice"})
			clk.Advance(tt.after)
			if _, err := m.Load(j.request("http://app.example/")); !errors.Is(err, session.ErrExpired) {
				t.Fatalf("Load: %v", err)
			}
			evs := rec.Events()
			if len(evs) != 1 || evs[0].Name != events.SessionExpired || evs[0].Kind != tt.kind || evs[0].Subject != "alice" || evs[0].Issuer != "https://op.example" {
				t.Fatalf("events: %+v", evs)
			}
		})
	}
	t.Run("revoked", func(t *testing.T) {
		clk := newClock()
		rec := new(eventstest.Recorder)
		m := newManager(t, clk, func(c *session.Config) { c.Events = rec })
		j := login(t, m, "http://app.example/", &session.Session{Issuer: "https://op.example", Subject: "alice", SID: "sid-1"})
		clk.Advance(time.Second)
		if err := m.Revoke(testutil.Context(t), session.Revocation{Issuer: "https://op.example", SID: "sid-1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Load(j.request("http://app.example/")); !errors.Is(err, session.ErrRevoked) {
			t.Fatalf("Load: %v", err)
		}
		if evs := rec.Events(); len(evs) != 1 || evs[0].Name != events.SessionRevoked || evs[0].Subject != "alice" {
			t.Fatalf("events: %+v", evs)
		}
	})
}
