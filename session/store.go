package session

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrNotFound is returned by a Store for an ID it does not hold.
var ErrNotFound = errors.New("session: not found in store")

// Store keeps sessions server-side; the cookie then holds only the session's
// ID, sealed. Data is the session sealed by the Manager's codec, so a store
// never sees tokens in the clear. Implementations must be safe for
// concurrent use, and should drop records once Expires passes.
type Store interface {
	// Load returns the data saved under id, or ErrNotFound.
	Load(ctx context.Context, id string) ([]byte, error)
	// Save stores r, replacing any record with the same ID.
	Save(ctx context.Context, r Record) error
	// Delete removes the record for id; removing none is not an error.
	Delete(ctx context.Context, id string) error
}

// Record is a session as a Store keeps it.
type Record struct {
	ID      string
	Issuer  string    // the provider's: a Subject or SID is unique per issuer only
	Subject string    // for logout of every session of a user
	SID     string    // for logout of a provider session
	Data    []byte    // the sealed session
	Expires time.Time // when the record may be dropped
}

// Revoker is implemented by stores that can find sessions by the provider's
// session ID or the user's subject, for back-channel logout.
type Revoker interface {
	// DeleteBySID removes every session of provider session sid of issuer.
	DeleteBySID(ctx context.Context, issuer, sid string) (int, error)
	// DeleteBySubject removes every session of the user sub of issuer.
	DeleteBySubject(ctx context.Context, issuer, sub string) (int, error)
}

// MemoryStore is a Store and Revoker in this process's memory, for a
// single instance. Expired records are dropped as they are met and by a
// sweep every 1024 saves. The zero value is ready to use.
type MemoryStore struct {
	// Now returns the current time. If nil, time.Now; session.New sets its
	// Config.Now here.
	Now func() time.Time

	mu      sync.Mutex // guards records and saves
	records map[string]Record
	saves   int
}

func (s *MemoryStore) setClock(now func() time.Time) {
	if s.Now == nil {
		s.Now = now
	}
}

var (
	_ Store   = (*MemoryStore)(nil)
	_ Revoker = (*MemoryStore)(nil)
)

// Load implements Store.
func (s *MemoryStore) Load(_ context.Context, id string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return nil, ErrNotFound
	}
	if nowOf(s.Now).After(r.Expires) {
		delete(s.records, id)
		return nil, ErrNotFound
	}
	return r.Data, nil
}

// Save implements Store.
func (s *MemoryStore) Save(_ context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = make(map[string]Record)
	}
	r.Data = append([]byte(nil), r.Data...)
	s.records[r.ID] = r
	if s.saves++; s.saves%1024 == 0 {
		now := nowOf(s.Now)
		for id, r := range s.records {
			if now.After(r.Expires) {
				delete(s.records, id)
			}
		}
	}
	return nil
}

// Delete implements Store.
func (s *MemoryStore) Delete(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, id)
	return nil
}

// DeleteBySID implements Revoker.
func (s *MemoryStore) DeleteBySID(_ context.Context, issuer, sid string) (int, error) {
	return s.deleteWhere(func(r Record) bool { return r.Issuer == issuer && r.SID == sid }), nil
}

// DeleteBySubject implements Revoker.
func (s *MemoryStore) DeleteBySubject(_ context.Context, issuer, sub string) (int, error) {
	return s.deleteWhere(func(r Record) bool { return r.Issuer == issuer && r.Subject == sub }), nil
}

func (s *MemoryStore) deleteWhere(match func(Record) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, r := range s.records {
		if match(r) {
			delete(s.records, id)
			n++
		}
	}
	return n
}

// Len returns the number of records held, expired ones included.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}
