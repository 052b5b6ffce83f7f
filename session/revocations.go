package session

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrRevoked: the session was ended by a logout: one the provider announced
// (back-channel or front-channel), or the user's own, for a copy of the
// session cookie taken before it.
var ErrRevoked = errors.New("session: revoked by logout")

// Revocations records logouts, so that sessions the app cannot delete,
// cookie sessions above all, are refused from then on. Logouts the provider
// announces name a provider session (sid) or a user (sub) of one issuer.
// Those that come in an anonymous request (front-channel logout, which
// carries no credentials) are recorded only for the sids of sessions this
// app issued (Issue), so that a request naming anything else makes the app
// store nothing. Implementations must be safe for concurrent use; share one
// between instances (Redis) so that a logout delivered to one instance ends
// the session on all of them.
type Revocations interface {
	// Issue records, at login, that this app holds session s (its Issuer,
	// SID, and Subject) until expires.
	Issue(ctx context.Context, s *Session, expires time.Time) error

	// Revoke records the logout r.
	Revoke(ctx context.Context, r Revocation) error

	// Revoked reports whether a logout recorded since covers the session
	// s (by its ID, Issuer, SID, Subject and CreatedAt).
	Revoked(ctx context.Context, s *Session) (bool, error)
}

// Revocation is one logout to record. Sessions created after At are not
// covered: a user who logs in again is not logged out by an old logout.
type Revocation struct {
	// ID, if set, ends the session with that ID: the user's own logout,
	// recorded so that a copy of a cookie session stops working.
	ID string

	// Issuer is the issuer of the provider that announced the logout: the
	// SID and Subject are its own, and end only sessions of that provider.
	Issuer string

	// SID, if set, ends every session of that provider session.
	SID string

	// Subject, if set, ends every session of that user when SID is empty;
	// with SID, it ends the user's sessions that carry no sid (providers
	// that send no sid in ID tokens but both in logout tokens).
	Subject string

	// Unverified marks a logout that came in a request anyone can send (a
	// front-channel logout): it is recorded only for a SID or Subject of a
	// session this app issued.
	Unverified bool

	// At is when the logout happened.
	At time.Time

	// Expires is when the record may be forgotten: when every session it
	// covers has expired anyway.
	Expires time.Time
}

// defaultMaxRevocations bounds a MemoryRevocations whose MaxEntries is zero.
const defaultMaxRevocations = 1 << 18

// MemoryRevocations is Revocations in this process's memory, for a single
// instance. It keeps at most MaxEntries records (issued sids and subjects,
// and logouts); past that, the oldest are forgotten first. Expired records
// are swept a few at a time as new ones arrive. While no logout is
// recorded, a check costs one atomic load, and at most three map lookups
// after. The zero value is ready to use.
type MemoryRevocations struct {
	// MaxEntries bounds the records kept. If zero, 262,144: room for about
	// that many logins per session lifetime (Config.AbsoluteTimeout).
	MaxEntries int

	// Now returns the current time, for sweeping expired records. If nil,
	// time.Now; session.New sets its Config.Now here.
	Now func() time.Time

	revoked atomic.Int64 // records holding a logout; zero: Revoked answers at once

	mu      sync.RWMutex // guards records and queue
	records map[revocationKey]*revocationRecord
	queue   []queued // records in the order they were added or extended
}

// revocationKey names a record: a session ID, or a provider session or a
// user of an issuer.
type revocationKey struct {
	kind   byte // 'i' (session ID), 's' (sid), 'u' (subject)
	issuer string
	value  string
}

// revocationRecord is what is known of one key. A zero time means no logout.
type revocationRecord struct {
	expires time.Time
	all     time.Time // every session of the key created at or before it is revoked
	noSID   time.Time // for a subject: its sessions without a sid, likewise
}

type queued struct {
	key     revocationKey
	expires time.Time
}

var _ Revocations = (*MemoryRevocations)(nil)

func (m *MemoryRevocations) now() time.Time { return nowOf(m.Now) }

func (m *MemoryRevocations) setClock(now func() time.Time) {
	if m.Now == nil {
		m.Now = now
	}
}

// Issue implements Revocations.
func (m *MemoryRevocations) Issue(_ context.Context, s *Session, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	if s.SID != "" {
		m.record(revocationKey{'s', s.Issuer, s.SID}, expires)
	}
	if s.Subject != "" {
		m.record(revocationKey{'u', s.Issuer, s.Subject}, expires)
	}
	return nil
}

// Revoke implements Revocations.
func (m *MemoryRevocations) Revoke(_ context.Context, r Revocation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep()
	if r.ID != "" {
		// The user's own logout, of a session they hold.
		m.revoke(revocationKey{'i', "", r.ID}, r, false, true)
	}
	if r.SID != "" {
		m.revoke(revocationKey{'s', r.Issuer, r.SID}, r, false, !r.Unverified)
	}
	if r.Subject != "" {
		m.revoke(revocationKey{'u', r.Issuer, r.Subject}, r, r.SID != "", !r.Unverified)
	}
	return nil
}

// revoke records r in key's record, in its noSID time or its all time,
// keeping the latest. Unless add is set, only a record that exists (an
// issued sid or subject) is revoked.
func (m *MemoryRevocations) revoke(key revocationKey, r Revocation, noSID, add bool) {
	if !add && m.records[key] == nil {
		return
	}
	rec := m.record(key, r.Expires)
	if rec.all.IsZero() && rec.noSID.IsZero() {
		m.revoked.Add(1)
	}
	at := &rec.all
	if noSID {
		at = &rec.noSID
	}
	if r.At.After(*at) {
		*at = r.At
	}
}

// record returns the record of key, added or kept until at least expires.
func (m *MemoryRevocations) record(key revocationKey, expires time.Time) *revocationRecord {
	if m.records == nil {
		m.records = make(map[revocationKey]*revocationRecord)
	}
	rec := m.records[key]
	if rec == nil {
		limit := m.MaxEntries
		if limit <= 0 {
			limit = defaultMaxRevocations
		}
		for len(m.records) >= limit && len(m.queue) > 0 {
			m.drop(m.queue[0], true)
			m.queue = m.queue[1:]
		}
		rec = &revocationRecord{expires: expires}
		m.records[key] = rec
	} else if expires.After(rec.expires) {
		rec.expires = expires
	} else {
		return rec
	}
	m.queue = append(m.queue, queued{key, expires})
	return rec
}

// sweep forgets a few records whose time has passed, oldest first: each
// call does a bounded amount of work, and records leave about as fast as
// they come.
func (m *MemoryRevocations) sweep() {
	now := m.now()
	for range 4 {
		if len(m.queue) == 0 || now.Before(m.queue[0].expires) {
			break
		}
		m.drop(m.queue[0], false)
		m.queue = m.queue[1:]
	}
	if len(m.queue) > 2*len(m.records)+64 {
		// Extended records left stale entries behind: rebuild the queue
		// from the records, in order of expiry. Amortized, this is O(1)
		// per added entry.
		live := m.queue[:0:0]
		for _, q := range m.queue {
			if rec := m.records[q.key]; rec != nil && rec.expires.Equal(q.expires) {
				live = append(live, q)
			}
		}
		m.queue = live
	}
}

// drop forgets q's record if q is its latest entry in the queue (or, when
// force is set, whatever its entry).
func (m *MemoryRevocations) drop(q queued, force bool) {
	rec := m.records[q.key]
	if rec == nil || (!force && !rec.expires.Equal(q.expires)) {
		return
	}
	if !rec.all.IsZero() || !rec.noSID.IsZero() {
		m.revoked.Add(-1)
	}
	delete(m.records, q.key)
}

// Revoked implements Revocations.
func (m *MemoryRevocations) Revoked(_ context.Context, s *Session) (bool, error) {
	if m.revoked.Load() == 0 {
		return false, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	covered := func(at time.Time) bool { return !at.IsZero() && !s.CreatedAt.After(at) }
	if rec := m.records[revocationKey{'i', "", s.ID}]; rec != nil && covered(rec.all) {
		return true, nil
	}
	if s.SID != "" {
		if rec := m.records[revocationKey{'s', s.Issuer, s.SID}]; rec != nil && covered(rec.all) {
			return true, nil
		}
	}
	if rec := m.records[revocationKey{'u', s.Issuer, s.Subject}]; rec != nil {
		if covered(rec.all) || (s.SID == "" && covered(rec.noSID)) {
			return true, nil
		}
	}
	return false, nil
}

// Len returns the number of records held: issued sids and subjects, and
// logouts.
func (m *MemoryRevocations) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.records)
}
