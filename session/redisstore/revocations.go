package redisstore

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// revokeScript records a revocation time, keeping the latest, until the
// latest expiry given.
//
// KEYS: the revocation. ARGV: time (Unix µs), expiry (Unix ms).
var revokeScript = redis.NewScript(`
local at, exp = tonumber(ARGV[1]), tonumber(ARGV[2])
local cur = redis.call('GET', KEYS[1])
if not cur or not tonumber(cur) or at > tonumber(cur) then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
if redis.call('PEXPIRETIME', KEYS[1]) < exp then redis.call('PEXPIREAT', KEYS[1], exp) end
return 1
`)

// Revoke implements session.Revocations: it records at under the sid or,
// when sid is "", the subject, unless a later time is recorded there, and
// keeps the record until expires (or a later expiry given before).
func (s *Store) Revoke(ctx context.Context, sid, sub string, at, expires time.Time) error {
	key := s.key(revokedSub, sub)
	if sid != "" {
		key = s.key(revokedSID, sid)
	}
	err := revokeScript.Run(ctx, s.client, []string{key}, strconv.FormatInt(at.UnixMicro(), 10), expiry(expires)).Err()
	if err != nil {
		return fail("revoke", err)
	}
	return nil
}

// Revoked implements session.Revocations with one MGET of the sid's and
// the subject's records: one round trip per authenticated request.
func (s *Store) Revoked(ctx context.Context, sid, sub string, created time.Time) (bool, error) {
	keys := make([]string, 0, 2)
	if sid != "" {
		keys = append(keys, s.key(revokedSID, sid))
	}
	if sub != "" {
		keys = append(keys, s.key(revokedSub, sub))
	}
	if len(keys) == 0 {
		return false, nil
	}
	vals, err := s.client.MGet(ctx, keys...).Result()
	if err != nil {
		return false, fail("revoked", err)
	}
	for _, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue // none recorded
		}
		at, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return false, fail("revoked", errors.New("malformed revocation record"))
		}
		if created.UnixMicro() <= at {
			return true, nil
		}
	}
	return false, nil
}
