package session

import (
	"context"
	"sync"
	"time"
)

// ReplayCache remembers one-time values, such as completed login attempts
// and the jti of logout tokens, until they expire. Implementations must be
// safe for concurrent use; share one between instances (Redis) to stop
// replays across them.
type ReplayCache interface {
	// Use records key as used until expires and reports whether it was
	// unused before.
	Use(ctx context.Context, key string, expires time.Time) (fresh bool, err error)
}

// maxReplayEntries bounds a MemoryReplayCache.
const maxReplayEntries = 1 << 16

// MemoryReplayCache is a ReplayCache in this process's memory. It holds at
// most 65,536 unexpired keys; past that, arbitrary ones are forgotten early.
// The zero value is ready to use.
type MemoryReplayCache struct {
	// Now returns the current time. If nil, time.Now; session.New sets its
	// Config.Now here.
	Now func() time.Time

	mu   sync.Mutex // guards seen
	seen map[string]time.Time
}

// Use implements ReplayCache.
func (c *MemoryReplayCache) Use(_ context.Context, key string, expires time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := nowOf(c.Now)
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	if c.seen == nil {
		c.seen = make(map[string]time.Time)
	}
	if len(c.seen) >= maxReplayEntries {
		// Drop the expired keys and, if need be, arbitrary ones down to 7/8
		// of the bound, so that this scan runs once per 8,192 keys, not for
		// every key once full.
		for k, exp := range c.seen {
			if !now.Before(exp) || len(c.seen) > maxReplayEntries*7/8 {
				delete(c.seen, k)
			}
		}
	}
	c.seen[key] = expires
	return true, nil
}

// nowOf returns now(), or time.Now() when now is nil.
func nowOf(now func() time.Time) time.Time {
	if now != nil {
		return now()
	}
	return time.Now()
}

// clocked is implemented by the Memory types, whose clock session.New sets
// to Config.Now when it is not set.
type clocked interface{ setClock(now func() time.Time) }

func (c *MemoryReplayCache) setClock(now func() time.Time) {
	if c.Now == nil {
		c.Now = now
	}
}
