package redisstore

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

// TestRedisDown: with Redis down every method returns an *Error matching
// session.ErrStore (no panic, no false "not found" or "fresh"), within a
// bounded time; once Redis is back, the same Store works again.
func TestRedisDown(t *testing.T) {
	s, _, srv := newStore(t, Options{})
	exp := time.Now().Add(time.Hour)
	calls := map[string]func(ctx context.Context) error{
		"Load": func(ctx context.Context) error { _, err := s.Load(ctx, "id"); return err },
		"Save": func(ctx context.Context) error {
			return s.Save(ctx, session.Record{ID: "id", Subject: "alice", SID: "sid", Data: []byte("d"), Expires: exp})
		},
		"Delete":      func(ctx context.Context) error { return s.Delete(ctx, "id") },
		"DeleteBySID": func(ctx context.Context) error { _, err := s.DeleteBySID(ctx, "https://op.example", "sid"); return err },
		"DeleteBySubject": func(ctx context.Context) error {
			_, err := s.DeleteBySubject(ctx, "https://op.example", "alice")
			return err
		},
		"Use": func(ctx context.Context) error { _, err := s.Use(ctx, "flow:x", exp); return err },
		"Revoke": func(ctx context.Context) error {
			return s.Revoke(ctx, session.Revocation{SID: "sid", Subject: "alice", At: time.Now(), Expires: exp})
		},
		"Issue": func(ctx context.Context) error {
			return s.Issue(ctx, &session.Session{Issuer: "https://op.example", SID: "sid", Subject: "alice"}, exp)
		},
		"Revoked": func(ctx context.Context) error {
			_, err := s.Revoked(ctx, &session.Session{SID: "sid", Subject: "alice", CreatedAt: time.Now()})
			return err
		},
		"Do": func(ctx context.Context) error {
			// A new key each time: results of the last minute are reused
			// without asking Redis.
			_, err := s.Do(ctx, time.Now().String(), time.Minute, func(context.Context) ([]byte, error) { return []byte("v"), nil })
			return err
		},
	}
	// Warm the client's pool and script cache first, so that the failures
	// below are of a client that was connected.
	for name, call := range calls {
		if err := call(testContext(t)); err != nil && !errors.Is(err, session.ErrNotFound) {
			t.Fatalf("%s with Redis up: %v", name, err)
		}
	}
	s.Delete(testContext(t), "id")

	srv.Stop()
	var wg sync.WaitGroup
	for name, call := range calls {
		wg.Go(func() {
			start := time.Now()
			err := call(testContext(t))
			elapsed := time.Since(start)
			var rerr *Error
			if !errors.Is(err, session.ErrStore) || !errors.As(err, &rerr) {
				t.Errorf("%s with Redis down: %v, want an *Error matching session.ErrStore", name, err)
			}
			if elapsed > 10*time.Second {
				t.Errorf("%s took %v to fail", name, elapsed)
			}
			t.Logf("%s with Redis down: failed in %v: %v", name, elapsed.Round(time.Millisecond), err)
		})
	}
	wg.Wait()

	// go-redis redials a server that refused it about once a second: the
	// Store works again within a few seconds of Redis coming back.
	srv.Restart() // empty: redistest keeps nothing on disk
	restarted := time.Now()
	for name, call := range calls {
		for {
			err := call(testContext(t))
			if err == nil || errors.Is(err, session.ErrNotFound) {
				break
			}
			if time.Since(restarted) > 10*time.Second {
				t.Fatalf("%s %v after Redis came back: %v", name, time.Since(restarted), err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	t.Logf("every method worked again %v after Redis came back", time.Since(restarted).Round(time.Millisecond))
	if err := calls["Save"](testContext(t)); err != nil {
		t.Fatal(err)
	}
	if data, err := s.Load(testContext(t), "id"); err != nil || string(data) != "d" {
		t.Errorf("load after Redis came back: %q %v", data, err)
	}
}

// TestManager: a session.Manager on the Store, as the middleware uses it:
// create, load on another instance, revoke by sid, and fail closed with
// ErrStore while Redis is down.
func TestManager(t *testing.T) {
	s, _, srv := newStore(t, Options{})
	other, _ := storeOn(t, srv, Options{})
	key := make([]byte, session.KeySize)
	manager := func(s *Store) *session.Manager {
		m, err := session.New(session.Config{Keys: [][]byte{key}, Store: s, Replay: s, Revocations: s})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, b := manager(s), manager(other)

	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	s1 := &session.Session{Subject: "alice", SID: "sid1"}
	s1.SetTokens(session.Tokens{AccessToken: "at"})
	if err := a.Create(w, r, s1); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range w.Result().Cookies() {
		req.AddCookie(c)
	}
	if got, err := b.Load(req); err != nil || got.Subject != "alice" || got.AccessToken() != "at" {
		t.Fatalf("load on the other instance: %v %v", got, err)
	}

	srv.Stop()
	if _, err := b.Load(req); !errors.Is(err, session.ErrStore) {
		t.Fatalf("load with Redis down: %v", err)
	}
	if err := b.Revoke(testContext(t), session.Revocation{SID: "sid1", Subject: "alice"}); !errors.Is(err, session.ErrStore) {
		t.Fatalf("revoke with Redis down: %v", err)
	}
	srv.Restart()
	if _, err := b.Load(req); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("load after Redis came back empty: %v", err)
	}

	w = httptest.NewRecorder()
	if err := a.Create(w, r, &session.Session{Subject: "alice", SID: "sid1"}); err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	for _, c := range w.Result().Cookies() {
		req.AddCookie(c)
	}
	if _, err := a.Load(req); err != nil {
		t.Fatalf("load of a new session: %v", err)
	}
	if err := b.Revoke(testContext(t), session.Revocation{SID: "sid1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Load(req); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("load after revoke on the other instance: %v", err)
	}
}
