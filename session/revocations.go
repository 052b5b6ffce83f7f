package session

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrRevoked: the session was ended by a logout that reached the app out of
// band (back-channel or front-channel logout from the provider).
var ErrRevoked = errors.New("session: revoked by logout")

// Revocations records logouts the provider announces, so that sessions the
// app cannot delete, cookie sessions above all, are refused from then on.
// Implementations must be safe for concurrent use; share one between
// instances (Redis) so that a logout delivered to one instance ends the
// session on all of them.
type Revocations interface {
	// Revoke records that the sessions of provider session sid or, when sid
	// is "", every session of the user sub, created at or before at, are
	// over. The record may be forgotten after expires, when those sessions
	// would have expired anyway.
	Revoke(ctx context.Context, sid, sub string, at, expires time.Time) error

	// Revoked reports whether a session of provider session sid and user
	// sub, created at created, has been revoked.
	Revoked(ctx context.Context, sid, sub string, created time.Time) (bool, error)
}

// MemoryRevocations is Revocations in this process's memory, for a single
// instance. The zero value is ready to use. While it holds no record, a
// check costs one atomic load.
type MemoryRevocations struct {
	n       atomic.Int64 // len(records), read without the lock
	mu      sync.RWMutex // guards records
	records map[string]revocation
}

type revocation struct{ at, expires time.Time }

var _ Revocations = (*MemoryRevocations)(nil)

// Revoke implements Revocations.
func (m *MemoryRevocations) Revoke(_ context.Context, sid, sub string, at, expires time.Time) error {
	key := "sub:" + sub
	if sid != "" {
		key = "sid:" + sid
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.records == nil {
		m.records = make(map[string]revocation)
	}
	now := time.Now()
	for k, r := range m.records {
		if now.After(r.expires) {
			delete(m.records, k)
		}
	}
	if old, ok := m.records[key]; !ok || at.After(old.at) {
		m.records[key] = revocation{at: at, expires: expires}
	}
	m.n.Store(int64(len(m.records)))
	return nil
}

// Revoked implements Revocations.
func (m *MemoryRevocations) Revoked(_ context.Context, sid, sub string, created time.Time) (bool, error) {
	if m.n.Load() == 0 {
		return false, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, key := range [2]string{"sid:" + sid, "sub:" + sub} {
		if r, ok := m.records[key]; ok && !created.After(r.at) {
			return true, nil
		}
	}
	return false, nil
}
