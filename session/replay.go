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
type MemoryReplayCache struct {
	mu   sync.Mutex // guards seen
	seen map[string]time.Time
	now  func() time.Time
}

// NewMemoryReplayCache returns an empty MemoryReplayCache.
func NewMemoryReplayCache() *MemoryReplayCache {
	return &MemoryReplayCache{seen: make(map[string]time.Time), now: time.Now}
}

// Use implements ReplayCache.
func (c *MemoryReplayCache) Use(_ context.Context, key string, expires time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false, nil
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
