package session

import "time"

// Internals the external tests need, and nothing more.
const (
	MaxChunk         = maxChunk
	MaxChunks        = maxChunks
	MaxReplayEntries = maxReplayEntries
	HostPrefix       = hostPrefix
)

// SetReplayClock makes c read the time from now.
func SetReplayClock(c *MemoryReplayCache, now func() time.Time) { c.now = now }

// ReplayLen is the number of keys c remembers.
func ReplayLen(c *MemoryReplayCache) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// CoordinatorLen is the number of results c remembers.
func CoordinatorLen(c *MemoryCoordinator) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.results)
}
