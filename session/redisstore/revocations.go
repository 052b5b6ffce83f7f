package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/session"
)

// A revocation record is a string "ALL,NOSID": the latest logout of every
// session of its key, and (for a subject) of its sessions without a sid, in
// Unix microseconds, 0 for none. An issued sid or subject without a logout
// is "0,0". It lives until the latest expiry given for it.

// issueScript records the sid and subject of a new session: a record "0,0"
// where there is none, and an expiry no earlier than the one given.
//
// KEYS: the records. ARGV: expiry (Unix ms).
var issueScript = redis.NewScript(`
local exp = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if redis.call('SET', key, '0,0', 'NX', 'PXAT', exp) == false and redis.call('PEXPIRETIME', key) < exp then
    redis.call('PEXPIREAT', key, exp)
  end
end
return 1
`)

// revokeScript records a logout in one field of each record, keeping the
// latest time and the latest expiry. A record that does not exist (a sid or
// subject never issued, or expired) is created only when its create
// argument is "1".
//
// KEYS: the records. ARGV: time (Unix µs), expiry (Unix ms), then per key
// the field (1: all, 2: without sid) and whether to create it.
var revokeScript = redis.NewScript(`
local at, exp = tonumber(ARGV[1]), tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  local field, create = tonumber(ARGV[1 + 2*i]), ARGV[2 + 2*i] == '1'
  local cur = redis.call('GET', key)
  if cur or create then
    local t = {0, 0}
    if cur then
      local a, b = string.match(cur, '^(%d+),(%d+)$')
      if a then t = {tonumber(a), tonumber(b)} end
    end
    if at > t[field] then t[field] = at end
    redis.call('SET', key, string.format('%d,%d', t[1], t[2]), 'KEEPTTL')
    if redis.call('PEXPIRETIME', key) < exp then redis.call('PEXPIREAT', key, exp) end
  end
end
return 1
`)

// Issue implements session.Revocations: one script records the sid and the
// subject of a new session, under its issuer.
func (s *Store) Issue(ctx context.Context, sess *session.Session, expires time.Time) error {
	keys := make([]string, 0, 2)
	if sess.SID != "" {
		keys = append(keys, s.issuerKey(revokedSID, sess.Issuer, sess.SID))
	}
	if sess.Subject != "" {
		keys = append(keys, s.issuerKey(revokedSub, sess.Issuer, sess.Subject))
	}
	if len(keys) == 0 {
		return nil
	}
	if err := issueScript.Run(ctx, s.client, keys, expiry(expires)).Err(); err != nil {
		return fail("issue", err)
	}
	return nil
}

// Revoke implements session.Revocations: one script records the logout
// under the session ID, and the sid and subject it names at its issuer; an
// unverified logout of a sid or subject never issued gets no key.
func (s *Store) Revoke(ctx context.Context, r session.Revocation) error {
	keys := make([]string, 0, 3)
	args := []any{strconv.FormatInt(r.At.UnixMicro(), 10), expiry(r.Expires)}
	create := "1"
	if r.Unverified {
		create = "0"
	}
	if r.ID != "" {
		keys, args = append(keys, s.key(revokedID, r.ID)), append(args, 1, "1")
	}
	if r.SID != "" {
		keys, args = append(keys, s.issuerKey(revokedSID, r.Issuer, r.SID)), append(args, 1, create)
	}
	if r.Subject != "" {
		field := 1
		if r.SID != "" {
			field = 2
		}
		keys, args = append(keys, s.issuerKey(revokedSub, r.Issuer, r.Subject)), append(args, field, create)
	}
	if len(keys) == 0 {
		return nil
	}
	if err := revokeScript.Run(ctx, s.client, keys, args...).Err(); err != nil {
		return fail("revoke", err)
	}
	return nil
}

// Revoked implements session.Revocations with one MGET of the records of
// the session's ID, and its sid and subject at its issuer: one round trip
// per authenticated request.
func (s *Store) Revoked(ctx context.Context, sess *session.Session) (bool, error) {
	keys := make([]string, 0, 3)
	keys = append(keys, s.key(revokedID, sess.ID), s.issuerKey(revokedSub, sess.Issuer, sess.Subject))
	if sess.SID != "" {
		keys = append(keys, s.issuerKey(revokedSID, sess.Issuer, sess.SID))
	}
	vals, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		return false, fail("revoked", err)
	}
	created := sess.CreatedAt.UnixMicro()
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // none recorded
		}
		all, noSID, ok := parseRecord(str)
		if !ok {
			return false, fail("revoked", errors.New("malformed revocation record"))
		}
		if (all != 0 && created <= all) || (i == 1 && sess.SID == "" && noSID != 0 && created <= noSID) {
			return true, nil
		}
	}
	return false, nil
}

func parseRecord(v string) (all, noSID int64, ok bool) {
	a, b, found := strings.Cut(v, ",")
	if !found {
		return 0, 0, false
	}
	all, err1 := strconv.ParseInt(a, 10, 64)
	noSID, err2 := strconv.ParseInt(b, 10, 64)
	return all, noSID, err1 == nil && err2 == nil
}
