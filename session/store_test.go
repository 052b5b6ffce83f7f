package session_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

func newStoreManager(t *testing.T, clk *clock, store session.Store) *session.Manager {
	t.Helper()
	return newManager(t, clk, func(c *session.Config) { c.Store = store })
}

func TestStoreSession(t *testing.T) {
	for _, target := range []string{"http://app.example/", "https://app.example/"} {
		t.Run(target, func(t *testing.T) {
			clk := newClock()
			store := &session.MemoryStore{}
			m := newStoreManager(t, clk, store)
			s := referenceSession(clk)
			j := login(t, m, target, s)
			if len(j.names) != 1 {
				t.Fatalf("cookies %v, want one", j.names)
			}
			value := j.cookies[j.names[0]]
			t.Logf("session ID cookie: %d bytes", len(value))
			if len(value) >= 200 {
				t.Errorf("the cookie holds %d bytes, want only a sealed ID", len(value))
			}
			if store.Len() != 1 {
				t.Errorf("store holds %d records, want 1", store.Len())
			}
			data, err := store.Load(context.Background(), s.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, secret := range secrets(s) {
				if secret != s.ID && bytes.Contains(data, []byte(secret)) {
					t.Errorf("the store sees %q in the clear", secret)
				}
			}
			got, err := m.Load(j.request(target))
			if err != nil || !sameSession(got, s) {
				t.Fatalf("Load = %v, %v", got, err)
			}

			// Touch and Save update the record.
			clk.Advance(time.Hour)
			got.SetTokens(session.Tokens{AccessToken: "rotated"})
			rec := httptest.NewRecorder()
			if err := m.Touch(rec, j.request(target), got); err != nil {
				t.Fatal(err)
			}
			j.update(rec)
			again, err := m.Load(j.request(target))
			if err != nil || again.AccessToken() != "rotated" || !again.LastSeen.Equal(clk.Now()) {
				t.Errorf("Load after Touch = %v, %v", again, err)
			}
		})
	}
}

func TestStoreCreateDeletesPrevious(t *testing.T) {
	clk := newClock()
	store := &session.MemoryStore{}
	m := newStoreManager(t, clk, store)
	first := &session.Session{Subject: "alice"}
	j := login(t, m, "http://app.example/", first)
	oldCookie := j.cookies["oidcrp_session"]

	second := &session.Session{Subject: "alice"}
	rec := httptest.NewRecorder()
	if err := m.Create(rec, j.request("http://app.example/"), second); err != nil {
		t.Fatal(err)
	}
	j.update(rec)
	if store.Len() != 1 {
		t.Errorf("store holds %d records after a second login, want 1", store.Len())
	}
	if _, err := store.Load(context.Background(), first.ID); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("previous record: err = %v, want ErrNotFound", err)
	}
	// The old cookie, replayed, no longer grants a session.
	r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
	r.AddCookie(&http.Cookie{Name: "oidcrp_session", Value: oldCookie})
	if s, err := m.Load(r); !errors.Is(err, session.ErrNoSession) || s != nil {
		t.Errorf("old cookie: Load = %v, %v; want ErrNoSession", s, err)
	}
	if got, err := m.Load(j.request("http://app.example/")); err != nil || got.ID != second.ID {
		t.Errorf("Load = %v, %v", got, err)
	}
}

func TestStoreDestroy(t *testing.T) {
	clk := newClock()
	store := &session.MemoryStore{}
	m := newStoreManager(t, clk, store)
	j := login(t, m, "https://app.example/", &session.Session{Subject: "alice"})
	before := j.request("https://app.example/")
	rec := httptest.NewRecorder()
	if err := m.Destroy(rec, before); err != nil {
		t.Fatal(err)
	}
	if store.Len() != 0 {
		t.Errorf("store holds %d records after Destroy", store.Len())
	}
	if c := setCookies(rec)["__Host-oidcrp_session"]; c == nil || c.MaxAge >= 0 {
		t.Errorf("cookie not deleted: %v", rec.Header()["Set-Cookie"])
	}
	// Even the cookie replayed is worthless now.
	if _, err := m.Load(before); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("replayed cookie after Destroy: err = %v, want ErrNoSession", err)
	}
}

func TestRevoke(t *testing.T) {
	tests := []struct {
		name  string
		store func() session.Store
	}{
		{"cookie sessions", func() session.Store { return nil }},
		{"MemoryStore", func() session.Store { return &session.MemoryStore{} }},
		{"store without Revoker", func() session.Store { return &flakyStore{Store: &session.MemoryStore{}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			store := tt.store()
			m := newStoreManager(t, clk, store)
			type user struct {
				sub, sid string
				j        *jar
			}
			users := []*user{
				{sub: "alice", sid: "op-1"},
				{sub: "alice", sid: "op-2"},
				{sub: "alice", sid: "op-2"}, // two browsers on one provider session
				{sub: "bob", sid: "op-3"},
				{sub: "carol", sid: ""},
				{sub: "dave", sid: "op-4"},
			}
			for _, u := range users {
				u.j = login(t, m, "http://app.example/", &session.Session{Subject: u.sub, SID: u.sid})
			}
			loggedIn := func(u *user) bool {
				_, err := m.Load(u.j.request("http://app.example/"))
				if err != nil && !errors.Is(err, session.ErrNoSession) && !errors.Is(err, session.ErrRevoked) {
					t.Errorf("%s/%s: %v", u.sub, u.sid, err)
				}
				return err == nil
			}
			steps := []struct {
				name      string
				sid, sub  string
				wantStill []bool // per user
			}{
				{"by sid", "op-2", "", []bool{true, false, false, true, true, true}},
				{"by unknown sid", "op-9", "", []bool{true, false, false, true, true, true}},
				{"by subject", "", "alice", []bool{false, false, false, true, true, true}},
				// A logout token with both: the sid's sessions, and the
				// subject's that have no sid, but not its other sids'.
				{"by sid and subject", "op-3", "carol", []bool{false, false, false, false, false, true}},
				{"by unknown sid and subject", "op-9", "dave", []bool{false, false, false, false, false, true}},
				{"by subject with a sid", "", "dave", []bool{false, false, false, false, false, false}},
			}
			for _, st := range steps {
				clk.Advance(time.Second)
				if err := m.Revoke(context.Background(), session.Revocation{SID: st.sid, Subject: st.sub}); err != nil {
					t.Errorf("%s: Revoke: %v", st.name, err)
				}
				for i, u := range users {
					if got := loggedIn(u); got != st.wantStill[i] {
						t.Errorf("%s: user %d (%s/%s) logged in = %v, want %v", st.name, i, u.sub, u.sid, got, st.wantStill[i])
					}
				}
			}
			// Every record is gone but carol's: a logout naming a sid and
			// a subject deletes the sid's records; the subject's records
			// without a sid are refused by the revocation and expire.
			if ms, ok := store.(*session.MemoryStore); ok && ms.Len() != 1 {
				t.Errorf("store holds %d records, want 1", ms.Len())
			}
			// A login after the logout is a new session.
			clk.Advance(time.Millisecond)
			j := login(t, m, "http://app.example/", &session.Session{Subject: "alice", SID: "op-2"})
			if _, err := m.Load(j.request("http://app.example/")); err != nil {
				t.Errorf("login after revocation: %v", err)
			}
		})
	}
}

func TestRevokeNeedsSIDOrSubject(t *testing.T) {
	m := newManager(t, newClock(), nil)
	if err := m.Revoke(context.Background(), session.Revocation{}); err == nil {
		t.Error("Revoke of nothing succeeded")
	}
}

func TestStoreRecordOfAnotherSession(t *testing.T) {
	clk := newClock()
	store := &session.MemoryStore{}
	m := newStoreManager(t, clk, store)
	alice := &session.Session{Subject: "alice"}
	mallory := &session.Session{Subject: "mallory"}
	ja := login(t, m, "http://app.example/", alice)
	login(t, m, "http://app.example/", mallory)
	// Someone with write access to the store puts mallory's record under
	// alice's ID.
	ctx := context.Background()
	data, err := store.Load(ctx, mallory.ID)
	if err != nil {
		t.Fatal(err)
	}
	store.Save(ctx, session.Record{ID: alice.ID, Subject: "alice", Data: data, Expires: clk.Now().Add(time.Hour)})
	if s, err := m.Load(ja.request("http://app.example/")); !errors.Is(err, session.ErrInvalid) || s != nil {
		t.Errorf("Load = %v, %v; want ErrInvalid", s, err)
	}
	// A record that is not a sealed session at all.
	store.Save(ctx, session.Record{ID: alice.ID, Data: []byte("junk"), Expires: clk.Now().Add(time.Hour)})
	if s, err := m.Load(ja.request("http://app.example/")); !errors.Is(err, session.ErrInvalid) || s != nil {
		t.Errorf("junk record: Load = %v, %v; want ErrInvalid", s, err)
	}
}

// The cookie of a store-backed Manager is not a session for a cookie-only
// one with the same keys, and the other way round.
func TestStoreAndCookieSessionsDoNotMix(t *testing.T) {
	clk := newClock()
	key := newKey()
	withStore := newManager(t, clk, func(c *session.Config) { c.Keys = [][]byte{key}; c.Store = &session.MemoryStore{} })
	cookieOnly := newManager(t, clk, func(c *session.Config) { c.Keys = [][]byte{key} })
	j := login(t, withStore, "http://app.example/", &session.Session{Subject: "a"})
	if _, err := cookieOnly.Load(j.request("http://app.example/")); !errors.Is(err, session.ErrInvalid) {
		t.Errorf("ID cookie as a session: err = %v, want ErrInvalid", err)
	}
	j = login(t, cookieOnly, "http://app.example/", &session.Session{Subject: "a"})
	if _, err := withStore.Load(j.request("http://app.example/")); !errors.Is(err, session.ErrNoSession) {
		t.Errorf("session cookie as an ID: err = %v, want ErrNoSession", err)
	}
}

func TestStoreExpired(t *testing.T) {
	clk := newClock()
	m := newStoreManager(t, clk, &session.MemoryStore{})
	j := login(t, m, "http://app.example/", &session.Session{Subject: "alice"})
	clk.Advance(2*time.Hour + time.Millisecond)
	if _, err := m.Load(j.request("http://app.example/")); !errors.Is(err, session.ErrExpired) {
		t.Errorf("err = %v, want ErrExpired", err)
	}
}

var errDown = errors.New("store down")

// flakyStore is a Store (not a Revoker) whose operations fail on demand.
type flakyStore struct {
	session.Store
	mu                             sync.Mutex // guards the fields below
	failLoad, failSave, failDelete bool
}

func (s *flakyStore) fail(load, save, del bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failLoad, s.failSave, s.failDelete = load, save, del
}

func (s *flakyStore) Load(ctx context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	fail := s.failLoad
	s.mu.Unlock()
	if fail {
		return nil, errDown
	}
	return s.Store.Load(ctx, id)
}

func (s *flakyStore) Save(ctx context.Context, r session.Record) error {
	s.mu.Lock()
	fail := s.failSave
	s.mu.Unlock()
	if fail {
		return errDown
	}
	return s.Store.Save(ctx, r)
}

func (s *flakyStore) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	fail := s.failDelete
	s.mu.Unlock()
	if fail {
		return errDown
	}
	return s.Store.Delete(ctx, id)
}

func TestStoreFailure(t *testing.T) {
	clk := newClock()
	store := &flakyStore{Store: &session.MemoryStore{}}
	m := newStoreManager(t, clk, store)
	j := login(t, m, "http://app.example/", &session.Session{Subject: "alice"})

	store.fail(true, false, false)
	s, err := m.Load(j.request("http://app.example/"))
	if s != nil || err == nil {
		t.Fatalf("Load with a failing store = %v, %v; want no session and an error", s, err)
	}
	if errors.Is(err, session.ErrNoSession) || !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("err = %v; want ErrStore wrapping the store's error, not ErrNoSession", err)
	}

	store.fail(false, false, true)
	rec := httptest.NewRecorder()
	if err := m.Destroy(rec, j.request("http://app.example/")); !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Destroy with a failing store: err = %v, want ErrStore wrapping the store's error", err)
	}
	// The record lives on: the cookie is kept, so that the user can try
	// again, rather than dropped while a copy of it still works.
	if c := setCookies(rec)["oidcrp_session"]; c != nil {
		t.Errorf("Destroy with a failing store dropped the cookie: %v", rec.Header()["Set-Cookie"])
	}

	store.fail(false, true, false)
	rec = httptest.NewRecorder()
	err = m.Create(rec, j.request("http://app.example/"), &session.Session{Subject: "alice"})
	if !errors.Is(err, session.ErrStore) || !errors.Is(err, errDown) {
		t.Errorf("Create with a failing store: err = %v, want ErrStore", err)
	}
	if h := rec.Header()["Set-Cookie"]; len(h) != 0 {
		t.Errorf("failed Create wrote cookies: %v", h)
	}
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	var s session.MemoryStore // the zero value is ready
	if _, err := s.Load(ctx, "x"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("Load from empty: err = %v", err)
	}
	if err := s.Delete(ctx, "x"); err != nil {
		t.Errorf("Delete of nothing: %v", err)
	}
	data := []byte("sealed")
	if err := s.Save(ctx, session.Record{ID: "a", Subject: "alice", SID: "op-1", Data: data, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	data[0] = 'X' // the store keeps its own copy
	if got, err := s.Load(ctx, "a"); err != nil || string(got) != "sealed" {
		t.Errorf("Load = %q, %v", got, err)
	}
	// Replacing keeps one record.
	s.Save(ctx, session.Record{ID: "a", Data: []byte("v2"), Expires: time.Now().Add(time.Hour)})
	if got, _ := s.Load(ctx, "a"); string(got) != "v2" || s.Len() != 1 {
		t.Errorf("after replace: %q, %d records", got, s.Len())
	}
	// Expired records are not returned, and are dropped when met.
	s.Save(ctx, session.Record{ID: "old", Data: []byte("x"), Expires: time.Now().Add(-time.Second)})
	if _, err := s.Load(ctx, "old"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("expired record: err = %v, want ErrNotFound", err)
	}
	if s.Len() != 1 {
		t.Errorf("expired record kept: %d records", s.Len())
	}
	// Expired records are swept every 1024 saves.
	for i := range 1100 {
		s.Save(ctx, session.Record{ID: "expired-" + strconv.Itoa(i), Expires: time.Now().Add(-time.Second)})
	}
	if n := s.Len(); n > 1+100 {
		t.Errorf("after 1100 expired saves, %d records: no sweep", n)
	}
	if _, err := s.Load(ctx, "a"); err != nil {
		t.Errorf("sweep dropped a live record: %v", err)
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "a"); !errors.Is(err, session.ErrNotFound) {
		t.Errorf("after Delete: err = %v", err)
	}
}

func TestMemoryStoreConcurrent(t *testing.T) {
	clk := newClock()
	store := &session.MemoryStore{}
	m := newStoreManager(t, clk, store)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			sub := "user" + strconv.Itoa(i)
			for range 20 {
				r := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
				rec := httptest.NewRecorder()
				if err := m.Create(rec, r, &session.Session{Subject: sub, SID: sub}); err != nil {
					t.Error(err)
					return
				}
				if _, err := m.Load(carry(t, r, rec, "http://app.example/")); err != nil {
					t.Error(err)
				}
			}
			if err := m.Revoke(context.Background(), session.Revocation{Subject: sub}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if store.Len() != 0 {
		t.Errorf("%d records left", store.Len())
	}
}
