package session

import (
	"context"
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/internal/flight"
)

// Coordinator makes sure one piece of work, such as redeeming a refresh
// token, runs once for a key, however many requests (and, for shared
// implementations, instances) need it at the same time, and that requests
// arriving a little later reuse its result. This is what keeps refresh-token
// rotation safe: the provider invalidates a refresh token once redeemed, so
// a second redemption would fail and log the user out.
type Coordinator interface {
	// Do runs fn for key unless it ran within the last ttl or is running,
	// in which case it returns that run's result once available (waiting at
	// most until ctx ends). Failed runs are not remembered.
	Do(ctx context.Context, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) ([]byte, error)

	// Keep remembers v as key's result for ttl, as if a run of Do had
	// returned it, replacing the result there. Manager.KeepRefreshed uses it
	// for a refresh whose result the browser could not be given.
	Keep(ctx context.Context, key string, v []byte, ttl time.Duration) error
}

// MemoryCoordinator is a Coordinator within one process. The zero value is
// ready to use.
type MemoryCoordinator struct {
	// Now returns the current time. If nil, time.Now; session.New sets its
	// Config.Now here.
	Now func() time.Time

	group flight.Group[[]byte]

	mu      sync.Mutex // guards results and sweepAt
	results map[string]result
	sweepAt int // sweep expired results when there are this many
}

type result struct {
	value   []byte
	expires time.Time
}

var _ Coordinator = (*MemoryCoordinator)(nil)

// Do implements Coordinator.
func (c *MemoryCoordinator) Do(ctx context.Context, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	if v, ok := c.lookup(key); ok {
		return v, nil
	}
	v, _, err := c.group.Do(ctx, key, func(ctx context.Context) ([]byte, error) {
		// A run that finished just before this one started left its result.
		if v, ok := c.lookup(key); ok {
			return v, nil
		}
		v, err := fn(ctx)
		if err == nil {
			c.remember(key, v, ttl)
		}
		return v, err
	})
	return v, err
}

func (c *MemoryCoordinator) lookup(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.results[key]
	if !ok {
		return nil, false
	}
	if nowOf(c.Now).After(r.expires) {
		delete(c.results, key)
		return nil, false
	}
	return r.value, true
}

// Keep implements Coordinator.
func (c *MemoryCoordinator) Keep(_ context.Context, key string, v []byte, ttl time.Duration) error {
	c.remember(key, v, ttl)
	return nil
}

func (c *MemoryCoordinator) remember(key string, v []byte, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.results == nil {
		c.results = make(map[string]result)
	}
	now := nowOf(c.Now)
	if len(c.results) >= c.sweepAt {
		for k, r := range c.results {
			if now.After(r.expires) {
				delete(c.results, k)
			}
		}
		c.sweepAt = max(64, 2*len(c.results)) // amortized O(1) per result
	}
	c.results[key] = result{value: v, expires: now.Add(ttl)}
}

func (c *MemoryCoordinator) setClock(now func() time.Time) {
	if c.Now == nil {
		c.Now = now
	}
}
