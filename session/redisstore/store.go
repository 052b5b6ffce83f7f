package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"sync"
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
	tags   sync.Map                  // issuer → issuerTag(issuer)
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

// Key names, after the prefix. None is a prefix of another. Indexes and
// revocations are per issuer: a sub or sid is unique per issuer only. Their
// names carry the issuer's tag (see issuerTag) and a version: the indexes of
// records saved before issuers were recorded ("sid:", "sub:") are still
// read, and expire with their records.
const (
	sessionKey = "session:" // a hash: data, iss (the issuer's tag), sid, sub
	sidIndex   = "sid2:"    // + tag + ":" + sid: a set of session IDs
	subIndex   = "sub2:"    // + tag + ":" + sub: a set of session IDs
	legacySID  = "sid:"     // + sid: the index before issuers, read only
	legacySub  = "sub:"     // + sub: the index before issuers, read only
	replayKey  = "replay:"  // "1"
	revokedID  = "rv:id:"   // + session ID: "ALL,NOSID" (see revocations.go)
	revokedSID = "rv:sid:"  // + tag + ":" + sid: "ALL,NOSID"
	revokedSub = "rv:sub:"  // + tag + ":" + sub: "ALL,NOSID"
	lockKey    = "lock:"    // the holder's random token
	resultKey  = "result:"  // fn's result
	dataField  = "data"
)

func (s *Store) key(kind, name string) string { return s.opts.Prefix + kind + name }

// issuerKey names kind's key of name at issuer.
func (s *Store) issuerKey(kind, issuer, name string) string {
	return s.opts.Prefix + kind + s.issuerTag(issuer) + ":" + name
}

// issuerTag is a short name of an issuer for key names: 16 characters of
// its SHA-256, remembered (an app has few issuers).
func (s *Store) issuerTag(issuer string) string {
	if t, ok := s.tags.Load(issuer); ok {
		return t.(string)
	}
	sum := sha256.Sum256([]byte(issuer))
	t := base64.RawURLEncoding.EncodeToString(sum[:12])
	s.tags.Store(issuer, t)
	return t
}

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

// saveScript stores a session record and indexes it by sid and subject
// under its issuer. Each index lives at least as long as its longest-lived
// member; a record saved again under another issuer, sid or subject leaves
// the old index (a record saved before issuers were recorded leaves its
// legacy index).
//
// KEYS: record, sid index, subject index.
// ARGV: id, data, issuer tag, sid, sub, expiry (Unix ms), prefix.
var saveScript = redis.NewScript(`
local old = redis.call('HMGET', KEYS[1], 'iss', 'sid', 'sub')
local p, id = ARGV[7], ARGV[1]
if old[1] then
  if old[2] and old[2] ~= '' and (old[1] ~= ARGV[3] or old[2] ~= ARGV[4]) then redis.call('SREM', p .. 'sid2:' .. old[1] .. ':' .. old[2], id) end
  if old[3] and old[3] ~= '' and (old[1] ~= ARGV[3] or old[3] ~= ARGV[5]) then redis.call('SREM', p .. 'sub2:' .. old[1] .. ':' .. old[3], id) end
else
  if old[2] and old[2] ~= '' then redis.call('SREM', p .. 'sid:' .. old[2], id) end
  if old[3] and old[3] ~= '' then redis.call('SREM', p .. 'sub:' .. old[3], id) end
end
redis.call('HSET', KEYS[1], 'data', ARGV[2], 'iss', ARGV[3], 'sid', ARGV[4], 'sub', ARGV[5])
redis.call('PEXPIREAT', KEYS[1], ARGV[6])
local exp = tonumber(ARGV[6])
for i = 2, 3 do
  if ARGV[i + 2] ~= '' then
    redis.call('SADD', KEYS[i], id)
    if redis.call('PEXPIRETIME', KEYS[i]) < exp then redis.call('PEXPIREAT', KEYS[i], exp) end
  end
end
return 1
`)

// Save implements session.Store. The record expires at r.Expires.
func (s *Store) Save(ctx context.Context, r session.Record) error {
	keys := []string{s.key(sessionKey, r.ID), s.issuerKey(sidIndex, r.Issuer, r.SID), s.issuerKey(subIndex, r.Issuer, r.Subject)}
	err := saveScript.Run(ctx, s.client, keys, r.ID, r.Data, s.issuerTag(r.Issuer), r.SID, r.Subject, expiry(r.Expires), s.opts.Prefix).Err()
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
local f = redis.call('HMGET', KEYS[1], 'iss', 'sid', 'sub')
local p, id = ARGV[2], ARGV[1]
if f[1] then
  if f[2] and f[2] ~= '' then redis.call('SREM', p .. 'sid2:' .. f[1] .. ':' .. f[2], id) end
  if f[3] and f[3] ~= '' then redis.call('SREM', p .. 'sub2:' .. f[1] .. ':' .. f[3], id) end
else
  if f[2] and f[2] ~= '' then redis.call('SREM', p .. 'sid:' .. f[2], id) end
  if f[3] and f[3] ~= '' then redis.call('SREM', p .. 'sub:' .. f[3], id) end
end
return redis.call('DEL', KEYS[1])
`)

// Delete implements session.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := deleteScript.Run(ctx, s.client, []string{s.key(sessionKey, id)}, id, s.opts.Prefix).Err(); err != nil {
		return fail("delete", err)
	}
	return nil
}

// deleteByScript removes every record in an index (and in the legacy
// index of the same sid or subject, for records saved before issuers were
// recorded) whose issuer and sid (or subject) are still the ones indexed,
// with its entry in the other index, then the index itself, and returns the
// number of records removed. Members whose record expired or moved are
// skipped.
//
// KEYS: the index, the legacy index. ARGV: "sid" or "sub", its value,
// issuer tag, prefix.
var deleteByScript = redis.NewScript(`
local n, p, field, value, tag = 0, ARGV[4], ARGV[1], ARGV[2], ARGV[3]
local function drop(id, legacy)
  local rec = p .. 'session:' .. id
  local f = redis.call('HMGET', rec, 'iss', 'sid', 'sub')
  if legacy ~= (f[1] == false) then return end
  if not legacy and f[1] ~= tag then return end
  local mine, other, otherIndex = f[2], f[3], 'sub'
  if field == 'sub' then mine, other, otherIndex = f[3], f[2], 'sid' end
  if mine ~= value then return end
  if other and other ~= '' then
    if legacy then redis.call('SREM', p .. otherIndex .. ':' .. other, id)
    else redis.call('SREM', p .. otherIndex .. '2:' .. tag .. ':' .. other, id) end
  end
  n = n + redis.call('DEL', rec)
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do drop(id, false) end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do drop(id, true) end
redis.call('DEL', KEYS[1])
return n
`)

// DeleteBySID implements session.Revoker.
func (s *Store) DeleteBySID(ctx context.Context, issuer, sid string) (int, error) {
	return s.deleteBy(ctx, "sid", sidIndex, legacySID, issuer, sid)
}

// DeleteBySubject implements session.Revoker.
func (s *Store) DeleteBySubject(ctx context.Context, issuer, sub string) (int, error) {
	return s.deleteBy(ctx, "sub", subIndex, legacySub, issuer, sub)
}

func (s *Store) deleteBy(ctx context.Context, field, index, legacy, issuer, value string) (int, error) {
	if value == "" {
		return 0, nil
	}
	keys := []string{s.issuerKey(index, issuer, value), s.key(legacy, value)}
	n, err := deleteByScript.Run(ctx, s.client, keys, field, value, s.issuerTag(issuer), s.opts.Prefix).Int()
	if err != nil {
		return 0, fail("delete by "+field, err)
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
