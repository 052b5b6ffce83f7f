package resource

import (
	"crypto/sha256"
	"sync"
	"time"
	"unsafe"
)

// cacheKey is the SHA-256 of a token: the cache never holds a token, so a
// memory dump of it yields nothing to replay.
type cacheKey [sha256.Size]byte

func keyOf(token string) cacheKey {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(token), len(token)))
}

// cache keeps verified tokens until they must be checked again: a JWT until
// its exp (plus the second of leeway), an introspection answer for
// IntrospectionCacheTime at most. Only tokens that passed every check are
// put in; failures are not remembered, so a flood of bad tokens costs their
// verification and no memory. It holds at most max entries.
type cache struct {
	max int

	mu      sync.RWMutex // guards entries
	entries map[cacheKey]cacheEntry
}

type cacheEntry struct {
	token *Token
	until time.Time // the entry is unusable from then on; never past exp + leeway
}

func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[cacheKey]cacheEntry)}
}

// get returns the token cached under key if its entry is still valid at now.
func (c *cache) get(key cacheKey, now time.Time) *Token {
	if c.max <= 0 {
		return nil
	}
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.until) {
		return nil
	}
	return e.token
}

// put caches t under key until until.
func (c *cache) put(key cacheKey, t *Token, until, now time.Time) {
	if c.max <= 0 || !now.Before(until) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop the expired entries and, if need be, arbitrary ones down to
		// 7/8 of the bound, so that this scan runs once per max/8 new
		// tokens, not for every one once full.
		for k, e := range c.entries {
			if !now.Before(e.until) || len(c.entries) > c.max*7/8 {
				delete(c.entries, k)
			}
		}
	}
	c.entries[key] = cacheEntry{token: t, until: until}
}

// len returns the number of entries, expired ones included.
func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
