package redisstore

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// Use implements session.ReplayCache with one SET NX: the key is kept
// until expires, so an instance that sees it after another has used it
// refuses it. A key whose expiry has passed is not kept.
func (s *Store) Use(ctx context.Context, key string, expires time.Time) (bool, error) {
	err := s.client.Do(ctx, "set", s.key(replayKey, key), "1", "pxat", expiry(expires), "nx").Err()
	switch {
	case errors.Is(err, redis.Nil):
		return false, nil
	case err != nil:
		return false, fail("replay", err)
	}
	return true, nil
}
