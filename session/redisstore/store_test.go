package redisstore

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/internal/testutil"
	"github.com/oidcrp/oidcrp/session"
	"github.com/oidcrp/oidcrp/session/redisstore/redistest"
)

func TestMain(m *testing.M) {
	redis.SetLogger(quiet{}) // the tests that stop Redis report its errors themselves
	os.Exit(m.Run())
}

// quiet discards go-redis's log lines.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func testContext(t *testing.T) context.Context { return testutil.Context(t) }

// newStore starts a redis-server and returns a Store on it, with the
// client it uses.
func newStore(t *testing.T, opts Options) (*Store, *redis.Client, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	s, rdb := storeOn(t, srv, opts)
	return s, rdb, srv
}

// storeOn returns another Store on srv, with a client of its own, like
// another app instance.
func storeOn(t *testing.T, srv *redistest.Server, opts Options) (*Store, *redis.Client) {
	t.Helper()
	rdb := srv.Client(t)
	s, err := New(rdb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, rdb
}

// pttl returns key's remaining time to live; negative when it has none
// (-1) or does not exist (-2).
func pttl(t *testing.T, rdb *redis.Client, key string) time.Duration {
	t.Helper()
	ms, err := rdb.Do(testContext(t), "pttl", key).Int64()
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(ms) * time.Millisecond
}

// near reports whether d is within 1.5 s below want (or a few milliseconds
// above it: expiries are rounded up to the millisecond).
func near(d, want time.Duration) bool {
	return d <= want+5*time.Millisecond && d > want-1500*time.Millisecond
}

func TestNewOptions(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	for name, opts := range map[string]Options{
		"negative LockTTL":     {LockTTL: -1},
		"tiny LockTTL":         {LockTTL: time.Millisecond},
		"negative poll":        {PollInterval: -1},
		"negative coordinator": {CoordinatorTimeout: -time.Second},
	} {
		if _, err := New(rdb, opts); !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := New(nil, Options{}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("nil client: %v", err)
	}
	s, err := New(rdb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Options{Prefix: "oidcrp:", LockTTL: 10 * time.Second, PollInterval: 25 * time.Millisecond, CoordinatorTimeout: time.Minute}
	if s.opts != want {
		t.Errorf("defaults: %+v", s.opts)
	}
}

func TestStoreLoadSaveDelete(t *testing.T) {
	ctx := testContext(t)
	s, rdb, _ := newStore(t, Options{})
	if _, err := s.Load(ctx, "nope"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("load of a missing record: %v", err)
	}
	rec := session.Record{ID: "id1", Subject: "alice", SID: "sid1", Data: []byte("sealed\x00bytes"), Expires: time.Now().Add(time.Hour)}
	if err := s.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if data, err := s.Load(ctx, "id1"); err != nil || string(data) != string(rec.Data) {
		t.Fatalf("load: %q %v", data, err)
	}
	if d := pttl(t, rdb, "oidcrp:session:id1"); !near(d, time.Hour) {
		t.Errorf("record TTL %v, want about 1h", d)
	}
	rec.Data = []byte("replaced")
	if err := s.Save(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if data, _ := s.Load(ctx, "id1"); string(data) != "replaced" {
		t.Fatalf("load after replace: %q", data)
	}
	if err := s.Delete(ctx, "id1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "id1"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("load after delete: %v", err)
	}
	if err := s.Delete(ctx, "id1"); err != nil {
		t.Fatalf("delete of a missing record: %v", err)
	}
	// Delete took the record out of its indexes too.
	for _, idx := range []string{s.issuerKey(sidIndex, "", "sid1"), s.issuerKey(subIndex, "", "alice")} {
		if n, _ := rdb.SCard(ctx, idx).Result(); n != 0 {
			t.Errorf("%s still has %d members", idx, n)
		}
	}
}

// TestStoreTTL: a record expires at its Expires; each index lives as long
// as its longest-lived member.
func TestStoreTTL(t *testing.T) {
	ctx := testContext(t)
	s, rdb, _ := newStore(t, Options{Prefix: "app:"})
	now := time.Now()
	save := func(id, sid string, d time.Duration) {
		t.Helper()
		if err := s.Save(ctx, session.Record{ID: id, Subject: "alice", SID: sid, Data: []byte(id), Expires: now.Add(d)}); err != nil {
			t.Fatal(err)
		}
	}
	save("long", "sid1", 2*time.Hour)
	save("short", "sid1", time.Hour) // must not shorten the index
	for key, want := range map[string]time.Duration{
		"app:session:long":                 2 * time.Hour,
		"app:session:short":                time.Hour,
		s.issuerKey(sidIndex, "", "sid1"):  2 * time.Hour,
		s.issuerKey(subIndex, "", "alice"): 2 * time.Hour,
	} {
		if d := pttl(t, rdb, key); !near(d, want) {
			t.Errorf("%s: TTL %v, want about %v", key, d, want)
		}
	}
	save("longer", "sid2", 3*time.Hour) // extends the subject's index
	if d := pttl(t, rdb, s.issuerKey(subIndex, "", "alice")); !near(d, 3*time.Hour) {
		t.Errorf("subject index TTL %v, want about 3h", d)
	}
	if d := pttl(t, rdb, s.issuerKey(sidIndex, "", "sid1")); !near(d, 2*time.Hour) {
		t.Errorf("sid1 index TTL %v, want about 2h", d)
	}

	// A record is gone once Expires passes.
	if err := s.Save(ctx, session.Record{ID: "brief", Subject: "bob", Data: []byte("x"), Expires: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "brief"); err != nil {
		t.Fatalf("load before expiry: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := s.Load(ctx, "brief"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("load after expiry: %v", err)
	}
	// An expiry in the past stores nothing lasting.
	if err := s.Save(ctx, session.Record{ID: "past", Subject: "carol", Data: []byte("x"), Expires: time.Now().Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(ctx, "past"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("load of a record saved expired: %v", err)
	}
}

// TestRevoker: DeleteBySID and DeleteBySubject delete exactly the matching
// sessions, and stale index members (expired, deleted, moved, or never
// there) break nothing.
func TestRevoker(t *testing.T) {
	ctx := testContext(t)
	s, rdb, _ := newStore(t, Options{})
	exp := time.Now().Add(time.Hour)
	recs := []session.Record{
		{ID: "a1", Subject: "alice", SID: "sidA", Expires: exp},
		{ID: "a2", Subject: "alice", SID: "sidA", Expires: exp},
		{ID: "a3", Subject: "alice", SID: "sidB", Expires: exp},
		{ID: "b1", Subject: "bob", SID: "sidC", Expires: exp},
		{ID: "c1", Subject: "carol", Expires: exp}, // a provider without sid
	}
	for _, r := range recs {
		r.Data = []byte("data of " + r.ID)
		if err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	alive := func() []string {
		var ids []string
		for _, r := range recs {
			if _, err := s.Load(ctx, r.ID); err == nil {
				ids = append(ids, r.ID)
			} else if !errors.Is(err, session.ErrNotFound) {
				t.Fatal(err)
			}
		}
		return ids
	}

	// Stale members: one that never existed, one whose record was deleted
	// behind the index's back, and one that moved to another sid.
	rdb.SAdd(ctx, s.issuerKey(sidIndex, "", "sidA"), "ghost")
	rdb.SAdd(ctx, s.issuerKey(subIndex, "", "alice"), "ghost")
	rdb.SAdd(ctx, s.issuerKey(sidIndex, "", "sidA"), "b1") // b1 belongs to sidC
	if err := s.Save(ctx, session.Record{ID: "moved", Subject: "alice", SID: "sidA", Data: []byte("m"), Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(ctx, session.Record{ID: "moved", Subject: "dave", SID: "sidD", Data: []byte("m"), Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := rdb.SIsMember(ctx, s.issuerKey(sidIndex, "", "sidA"), "moved").Result(); ok {
		t.Error("a record saved under another sid is still in its old index")
	}

	n, err := s.DeleteBySID(ctx, "", "sidA")
	if err != nil || n != 2 {
		t.Fatalf("DeleteBySID(sidA) = %d, %v; want 2", n, err)
	}
	if got, want := alive(), []string{"a3", "b1", "c1"}; !slices.Equal(got, want) {
		t.Fatalf("after DeleteBySID(sidA): %v, want %v", got, want)
	}
	if _, err := s.Load(ctx, "moved"); err != nil {
		t.Fatalf("the moved record was deleted: %v", err)
	}
	if n, err := s.DeleteBySID(ctx, "", "sidA"); err != nil || n != 0 {
		t.Fatalf("DeleteBySID(sidA) again = %d, %v", n, err)
	}
	// The sid's sessions left the subject's index too.
	if members, _ := rdb.SMembers(ctx, s.issuerKey(subIndex, "", "alice")).Result(); slices.Contains(members, "a1") || slices.Contains(members, "a2") {
		t.Errorf("subject index still names deleted sessions: %v", members)
	}

	// An expired member is skipped.
	if err := s.Save(ctx, session.Record{ID: "a4", Subject: "alice", SID: "sidB", Data: []byte("x"), Expires: time.Now().Add(50 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if n, err := s.DeleteBySubject(ctx, "", "alice"); err != nil || n != 1 {
		t.Fatalf("DeleteBySubject(alice) = %d, %v; want 1", n, err)
	}
	if got, want := alive(), []string{"b1", "c1"}; !slices.Equal(got, want) {
		t.Fatalf("after DeleteBySubject(alice): %v, want %v", got, want)
	}
	if n, _ := rdb.Exists(ctx, s.issuerKey(subIndex, "", "alice")).Result(); n != 0 {
		t.Error("the emptied subject index is left")
	}
	// sidB's index keeps only the expired a4, until its own TTL.
	if members, _ := rdb.SMembers(ctx, s.issuerKey(sidIndex, "", "sidB")).Result(); !slices.Equal(members, []string{"a4"}) {
		t.Errorf("sidB index: %v", members)
	}
	if d := pttl(t, rdb, s.issuerKey(sidIndex, "", "sidB")); !near(d, time.Hour) {
		t.Errorf("sidB index TTL %v", d)
	}
	if n, err := s.DeleteBySubject(ctx, "", "carol"); err != nil || n != 1 {
		t.Fatalf("DeleteBySubject(carol) = %d, %v", n, err)
	}
	if n, err := s.DeleteBySID(ctx, "", ""); err != nil || n != 0 {
		t.Fatalf(`DeleteBySID("") = %d, %v`, n, err)
	}
	if n, err := s.DeleteBySubject(ctx, "", "nobody"); err != nil || n != 0 {
		t.Fatalf("DeleteBySubject(nobody) = %d, %v", n, err)
	}
	if got, want := alive(), []string{"b1"}; !slices.Equal(got, want) {
		t.Fatalf("at the end: %v, want %v", got, want)
	}
}

// TestReplay: a key is fresh once, on every instance, until it expires.
func TestReplay(t *testing.T) {
	ctx := testContext(t)
	s, rdb, srv := newStore(t, Options{})
	other, _ := storeOn(t, srv, Options{})
	exp := time.Now().Add(time.Hour)
	if fresh, err := s.Use(ctx, "flow:abc", exp); err != nil || !fresh {
		t.Fatalf("first use: %v %v", fresh, err)
	}
	if fresh, err := s.Use(ctx, "flow:abc", exp); err != nil || fresh {
		t.Fatalf("second use: %v %v", fresh, err)
	}
	if fresh, err := other.Use(ctx, "flow:abc", exp); err != nil || fresh {
		t.Fatalf("use on another instance: %v %v", fresh, err)
	}
	if d := pttl(t, rdb, "oidcrp:replay:flow:abc"); !near(d, time.Hour) {
		t.Errorf("TTL %v, want about 1h", d)
	}
	if fresh, err := s.Use(ctx, "short", time.Now().Add(80*time.Millisecond)); err != nil || !fresh {
		t.Fatalf("short: %v %v", fresh, err)
	}
	time.Sleep(120 * time.Millisecond)
	if fresh, err := s.Use(ctx, "short", exp); err != nil || !fresh {
		t.Fatalf("use after expiry: %v %v", fresh, err)
	}
	// A key that has expired already is not kept.
	past := time.Now().Add(-time.Second)
	for range 2 {
		if fresh, err := s.Use(ctx, "past", past); err != nil || !fresh {
			t.Fatalf("use with a past expiry: %v %v", fresh, err)
		}
	}
}

// TestRevocations: logouts are recorded only for issued sids and subjects
// (and session IDs), the latest revocation wins, the session ID's, sid's and
// subject's records are all checked, and records last until their expiry.
func TestRevocations(t *testing.T) {
	ctx := testContext(t)
	s, rdb, srv := newStore(t, Options{})
	other, _ := storeOn(t, srv, Options{})
	t0 := time.Now().Truncate(time.Millisecond)
	before, after := t0.Add(-time.Second), t0.Add(time.Second)
	sess := func(id, sid, sub string, created time.Time) *session.Session {
		return &session.Session{ID: id, SID: sid, Subject: sub, CreatedAt: created}
	}
	revoke := func(r session.Revocation) {
		t.Helper()
		if err := s.Revoke(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	if revoked, err := s.Revoked(ctx, sess("s1", "sid1", "alice", before)); err != nil || revoked {
		t.Fatalf("revoked with no record: %v %v", revoked, err)
	}
	// Unverified (front-channel) logouts of what was never issued leave no
	// key.
	revoke(session.Revocation{SID: "sid1", Subject: "alice", Unverified: true, At: t0, Expires: t0.Add(time.Hour)})
	revoke(session.Revocation{Subject: "alice", Unverified: true, At: t0, Expires: t0.Add(time.Hour)})
	if n := rdb.DBSize(ctx).Val(); n != 0 {
		t.Fatalf("logouts of sids and subjects never issued left %d keys", n)
	}
	for _, i := range []struct{ sid, sub string }{{"sid1", "alice"}, {"sid2", "alice"}, {"", "bob"}, {"", "dave"}, {"sid9", "dave"}} {
		if err := s.Issue(ctx, &session.Session{SID: i.sid, Subject: i.sub}, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	revoke(session.Revocation{SID: "sid1", Subject: "dave", At: t0, Expires: t0.Add(time.Hour)})
	revoke(session.Revocation{ID: "copied", At: t0, Expires: t0.Add(time.Hour)})
	tests := []struct {
		name         string
		id, sid, sub string
		created      time.Time
		want         bool
	}{
		{"sid, created before", "s1", "sid1", "alice", before, true},
		{"sid, created at", "s1", "sid1", "alice", t0, true},
		{"sid, created after", "s1", "sid1", "alice", after, false},
		{"other sid", "s2", "sid2", "alice", before, false},
		{"no sid, same subject", "s3", "", "alice", before, false}, // a sid revocation names one provider session
		{"sid and subject: the subject's session without sid", "s4", "", "dave", before, true},
		{"sid and subject: the subject's session with another sid", "s5", "sid9", "dave", before, false},
		{"session ID", "copied", "sid2", "alice", before, true},
	}
	for _, tt := range tests {
		if got, err := other.Revoked(ctx, sess(tt.id, tt.sid, tt.sub, tt.created)); err != nil || got != tt.want {
			t.Errorf("%s: %v %v, want %v", tt.name, got, err, tt.want)
		}
	}
	if d := pttl(t, rdb, s.issuerKey(revokedSID, "", "sid1")); !near(d, time.Hour) {
		t.Errorf("TTL %v, want about 1h", d)
	}

	// The latest time wins, and the longest expiry.
	revoke(session.Revocation{SID: "sid1", At: after, Expires: t0.Add(2 * time.Hour)})
	revoke(session.Revocation{SID: "sid1", At: before, Expires: t0.Add(30 * time.Minute)})
	if got, _ := s.Revoked(ctx, sess("s1", "sid1", "alice", t0.Add(500*time.Millisecond))); !got {
		t.Error("an earlier revocation replaced a later one")
	}
	if d := pttl(t, rdb, s.issuerKey(revokedSID, "", "sid1")); !near(d, 2*time.Hour) {
		t.Errorf("TTL %v, want about 2h", d)
	}

	// A subject's revocation covers every sid.
	revoke(session.Revocation{Subject: "bob", At: t0, Expires: t0.Add(time.Hour)})
	if got, _ := s.Revoked(ctx, sess("s6", "any", "bob", before)); !got {
		t.Error("subject revocation not applied")
	}
	if got, _ := s.Revoked(ctx, sess("s6", "any", "bob", after)); got {
		t.Error("subject revocation applied to a later session")
	}

	// Records end at their expiry.
	if err := s.Issue(ctx, &session.Session{Subject: "carol"}, time.Now().Add(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	revoke(session.Revocation{Subject: "carol", At: t0, Expires: time.Now().Add(500 * time.Millisecond)})
	if got, _ := s.Revoked(ctx, sess("s7", "", "carol", before)); !got {
		t.Error("not revoked before expiry")
	}
	time.Sleep(600 * time.Millisecond)
	if got, _ := s.Revoked(ctx, sess("s7", "", "carol", before)); got {
		t.Error("revoked after the record's expiry")
	}

	// A malformed record fails closed.
	rdb.Set(ctx, s.issuerKey(revokedSub, "", "mallory"), "garbage", time.Minute)
	if _, err := s.Revoked(ctx, sess("s8", "", "mallory", before)); !errors.Is(err, session.ErrStore) {
		t.Errorf("malformed record: %v", err)
	}
}

// TestRevokerPerIssuer: sessions of two providers with the same sub and sid
// are indexed apart: a logout of one provider deletes only its own, and
// its revocations cover only its own.
func TestRevokerPerIssuer(t *testing.T) {
	ctx := testContext(t)
	s, _, _ := newStore(t, Options{})
	exp := time.Now().Add(time.Hour)
	for _, r := range []session.Record{
		{ID: "a", Issuer: "https://a.example", Subject: "alice", SID: "s1", Expires: exp},
		{ID: "b", Issuer: "https://b.example", Subject: "alice", SID: "s1", Expires: exp},
	} {
		r.Data = []byte(r.ID)
		if err := s.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteBySubject(ctx, "https://b.example", "alice"); err != nil || n != 1 {
		t.Fatalf("DeleteBySubject at B = %d, %v; want 1", n, err)
	}
	if n, err := s.DeleteBySID(ctx, "https://b.example", "s1"); err != nil || n != 0 {
		t.Fatalf("DeleteBySID at B again = %d, %v; want 0", n, err)
	}
	if _, err := s.Load(ctx, "a"); err != nil {
		t.Fatalf("A's session after B's logouts: %v", err)
	}
	if _, err := s.Load(ctx, "b"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("B's session after B's logout: %v", err)
	}

	created := time.Now().Add(-time.Minute)
	a := &session.Session{ID: "a", Issuer: "https://a.example", Subject: "alice", SID: "s1", CreatedAt: created}
	b := &session.Session{ID: "b", Issuer: "https://b.example", Subject: "alice", SID: "s1", CreatedAt: created}
	for _, sess := range []*session.Session{a, b} {
		if err := s.Issue(ctx, sess, exp); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Revoke(ctx, session.Revocation{Issuer: "https://b.example", Subject: "alice", At: time.Now(), Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if revoked, err := s.Revoked(ctx, a); err != nil || revoked {
		t.Errorf("A's session after B's logout of alice: revoked %v, %v", revoked, err)
	}
	if revoked, err := s.Revoked(ctx, b); err != nil || !revoked {
		t.Errorf("B's session after B's logout of alice: revoked %v, %v", revoked, err)
	}
}

// TestLegacyIndexes: records saved before issuers were recorded (a hash
// without "iss", indexed under sid: and sub:) are still deleted by a
// logout of their sid or subject, and move to the new indexes when saved
// again.
func TestLegacyIndexes(t *testing.T) {
	ctx := testContext(t)
	s, rdb, _ := newStore(t, Options{})
	exp := time.Now().Add(time.Hour)
	for _, id := range []string{"old1", "old2"} {
		rdb.HSet(ctx, "oidcrp:session:"+id, "data", "d", "sid", "s1", "sub", "alice")
		rdb.PExpireAt(ctx, "oidcrp:session:"+id, exp)
		rdb.SAdd(ctx, "oidcrp:sid:s1", id)
		rdb.SAdd(ctx, "oidcrp:sub:alice", id)
	}
	// old2 is saved again: it leaves the legacy indexes for the new ones.
	if err := s.Save(ctx, session.Record{ID: "old2", Issuer: "https://op.example", Subject: "alice", SID: "s2", Data: []byte("d"), Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := rdb.SIsMember(ctx, "oidcrp:sid:s1", "old2").Result(); ok {
		t.Error("a record saved again is still in its legacy index")
	}
	if n, err := s.DeleteBySID(ctx, "https://op.example", "s1"); err != nil || n != 1 {
		t.Fatalf("DeleteBySID of a legacy record = %d, %v; want 1", n, err)
	}
	if _, err := s.Load(ctx, "old1"); !errors.Is(err, session.ErrNotFound) {
		t.Fatalf("legacy record after its sid's logout: %v", err)
	}
	if n, err := s.DeleteBySubject(ctx, "https://op.example", "alice"); err != nil || n != 1 {
		t.Fatalf("DeleteBySubject of the resaved record = %d, %v; want 1", n, err)
	}
}
