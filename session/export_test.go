package session

// Internals the external tests need, and nothing more.
const (
	MaxChunk         = maxChunk
	MaxChunks        = maxChunks
	MaxReplayEntries = maxReplayEntries
	HostPrefix       = hostPrefix
)

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

// OpenedLen is the number of sessions m keeps opened, -1 without a cache.
func OpenedLen(m *Manager) int {
	if m.opened == nil {
		return -1
	}
	m.opened.mu.RLock()
	defer m.opened.mu.RUnlock()
	return len(m.opened.m)
}
