package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/session"
)

// Options configures a Store. Every field has a working zero value.
type Options struct {
	// Prefix starts the name of every key the Store writes, so that several
	// apps can share one Redis database. If empty, "oidcrp:". With Redis
	// Cluster, give it a hash tag, such as "{oidcrp}:": a session's record and
	// its index entries change together, so they must live in one slot.
	Prefix string

	// LockTTL is how long a coordination lock outlives an instance that
	// crashed while holding it; a live holder renews it every LockTTL/3. If
	// zero, 10 seconds.
	LockTTL time.Duration

	// PollInterval is how often an instance waiting for another's result
	// checks for it (or for a released lock). If zero, 25 milliseconds.
	PollInterval time.Duration

	// CoordinatorTimeout bounds one run of Do on an instance: waiting for
	// other instances, and fn itself. If zero, one minute.
	CoordinatorTimeout time.Duration
}

// Store keeps sessions, replay records, logout revocations and refresh
// coordination in Redis, so that any number of app instances share them. It
// implements session.Store, session.Revoker, session.ReplayCache,
// session.Revocations and session.Coordinator. It is safe for concurrent use.
type Store struct {
	client redis.UniversalClient
	opts   Options
	local  session.MemoryCoordinator // one Redis run per key at a time on this instance
}

var (
	_ session.Store       = (*Store)(nil)
	_ session.Revoker     = (*Store)(nil)
	_ session.ReplayCache = (*Store)(nil)
	_ session.Revocations = (*Store)(nil)
	_ session.Coordinator = (*Store)(nil)
)

// ErrInvalidOptions: New was given a nil client or a negative duration.
var ErrInvalidOptions = errors.New("redisstore: invalid options")

// New returns a Store that keeps its data through client, which stays the
// caller's to close. It needs Redis (or Valkey) 7.0 or later.
func New(client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrInvalidOptions)
	}
	if opts.LockTTL < 0 || opts.PollInterval < 0 || opts.CoordinatorTimeout < 0 {
		return nil, fmt.Errorf("%w: negative duration", ErrInvalidOptions)
	}
	if opts.Prefix == "" {
		opts.Prefix = "oidcrp:"
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = 10 * time.Second
	}
	if opts.LockTTL < 3*time.Millisecond {
		return nil, fmt.Errorf("%w: LockTTL under 3ms", ErrInvalidOptions)
	}
	if opts.PollInterval == 0 {
		opts.PollInterval = 25 * time.Millisecond
	}
	if opts.CoordinatorTimeout == 0 {
		opts.CoordinatorTimeout = time.Minute
	}
	return &Store{client: client, opts: opts}, nil
}

// Error is a failure to use Redis: unreachable, timed out, or an answer
// of the wrong shape. It matches session.ErrStore (errors.Is), so that
// callers fail closed, with 503, rather than treat the user as logged out.
type Error struct {
	Op  string // the Store method or step that failed, such as "load"
	Err error
}

// Error describes the failure, naming the operation.
// Error describes the failure, naming the operation.
func (e *Error) Error() string { return "redisstore: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is session.ErrStore.
func (e *Error) Is(target error) bool { return target == session.ErrStore }

func fail(op string, err error) error { return &Error{Op: op, Err: err} }

// Key names, after the prefix. None is a prefix of another.
const (
	sessionKey = "session:" // a hash: data, sid, sub
	sidIndex   = "sid:"     // a set of session IDs
	subIndex   = "sub:"     // a set of session IDs
	replayKey  = "replay:"  // "1"
	revokedID  = "rv:id:"   // "ALL,NOSID" (see revocations.go)
	revokedSID = "rv:sid:"  // "ALL,NOSID"
	revokedSub = "rv:sub:"  // "ALL,NOSID"
	lockKey    = "lock:"    // the holder's random token
	resultKey  = "result:"  // fn's result
	dataField  = "data"
)

func (s *Store) key(kind, name string) string { return s.opts.Prefix + kind + name }

// Load implements session.Store.
func (s *Store) Load(ctx context.Context, id string) ([]byte, error) {
	data, err := s.client.HGet(ctx, s.key(sessionKey, id), dataField).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, session.ErrNotFound
	case err != nil:
		return nil, fail("load", err)
	}
	return data, nil
}

// saveScript stores a session record and indexes it by sid and subject.
// Each index lives at least as long as its longest-lived member; a record
// saved again under another sid or subject leaves the old index.
//
// KEYS: record, sid index, subject index.
// ARGV: id, data, sid, sub, expiry (Unix ms), prefix.
var saveScript = redis.NewScript(`
local old = redis.call('HMGET', KEYS[1], 'sid', 'sub')
if old[1] and old[1] ~= '' and old[1] ~= ARGV[3] then redis.call('SREM', ARGV[6] .. 'sid:' .. old[1], ARGV[1]) end
if old[2] and old[2] ~= '' and old[2] ~= ARGV[4] then redis.call('SREM', ARGV[6] .. 'sub:' .. old[2], ARGV[1]) end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'sid', ARGV[3], 'sub', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[5])
local exp = tonumber(ARGV[5])
for i = 2, 3 do
  if ARGV[i + 1] ~= '' then
    redis.call('SADD', KEYS[i], ARGV[1])
    if redis.call('PEXPIRETIME', KEYS[i]) < exp then redis.call('PEXPIREAT', KEYS[i], exp) end
  end
end
return 1
`)

// Save implements session.Store. The record expires at r.Expires.
func (s *Store) Save(ctx context.Context, r session.Record) error {
	keys := []string{s.key(sessionKey, r.ID), s.key(sidIndex, r.SID), s.key(subIndex, r.Subject)}
	err := saveScript.Run(ctx, s.client, keys, r.ID, r.Data, r.SID, r.Subject, expiry(r.Expires), s.opts.Prefix).Err()
	if err != nil {
		return fail("save", err)
	}
	return nil
}

// deleteScript removes a record and its index entries and returns 1, or 0
// when there was none.
//
// KEYS: record. ARGV: id, prefix.
var deleteScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'sid', 'sub')
if f[1] and f[1] ~= '' then redis.call('SREM', ARGV[2] .. 'sid:' .. f[1], ARGV[1]) end
if f[2] and f[2] ~= '' then redis.call('SREM', ARGV[2] .. 'sub:' .. f[2], ARGV[1]) end
return redis.call('DEL', KEYS[1])
`)

// Delete implements session.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := deleteScript.Run(ctx, s.client, []string{s.key(sessionKey, id)}, id, s.opts.Prefix).Err(); err != nil {
		return fail("delete", err)
	}
	return nil
}

// deleteByScript removes every record in an index whose sid (or subject)
// is still the one indexed, with its entry in the other index, then the
// index itself, and returns the number of records removed. Members whose
// record expired or moved are skipped.
//
// KEYS: the index. ARGV: "sid" or "sub", its value, prefix.
var deleteByScript = redis.NewScript(`
local n = 0
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local rec = ARGV[3] .. 'session:' .. id
  local f = redis.call('HMGET', rec, 'sid', 'sub')
  local mine, other, otherIndex = f[1], f[2], 'sub:'
  if ARGV[1] == 'sub' then mine, other, otherIndex = f[2], f[1], 'sid:' end
  if mine == ARGV[2] then
    if other and other ~= '' then redis.call('SREM', ARGV[3] .. otherIndex .. other, id) end
    n = n + redis.call('DEL', rec)
  end
end
redis.call('DEL', KEYS[1])
return n
`)

// DeleteBySID implements session.Revoker.
func (s *Store) DeleteBySID(ctx context.Context, sid string) (int, error) {
	if sid == "" {
		return 0, nil
	}
	n, err := deleteByScript.Run(ctx, s.client, []string{s.key(sidIndex, sid)}, "sid", sid, s.opts.Prefix).Int()
	if err != nil {
		return 0, fail("delete by sid", err)
	}
	return n, nil
}

// DeleteBySubject implements session.Revoker.
func (s *Store) DeleteBySubject(ctx context.Context, sub string) (int, error) {
	if sub == "" {
		return 0, nil
	}
	n, err := deleteByScript.Run(ctx, s.client, []string{s.key(subIndex, sub)}, "sub", sub, s.opts.Prefix).Int()
	if err != nil {
		return 0, fail("delete by subject", err)
	}
	return n, nil
}

// expiry is t for PEXPIREAT and PXAT: Unix milliseconds, rounded up so
// that a record never expires before t, and at least 1 (Redis refuses 0).
func expiry(t time.Time) string {
	if t.IsZero() {
		return "1"
	}
	ms := t.UnixMilli()
	if t.UnixNano()%int64(time.Millisecond) != 0 {
		ms++
	}
	return strconv.FormatInt(max(ms, 1), 10)
}
