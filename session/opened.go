package session

import (
	"strings"
	"sync"
)

// Opening a session cookie (base64url, AES-GCM, decoding) is most of what
// an authenticated request costs, and a browser sends the same cookie with
// every request until the session changes. A Manager therefore keeps the
// sessions it opened, by the exact cookie value: a value seen before costs
// a map lookup, and Load hands out a copy. Only values that opened (sealed
// by one of the keys) are kept, so requests with made-up cookies cannot
// fill it; the timeouts and revocations are checked at every Load, as for
// a value seen first. It is bounded by entries (Config.OpenedSessions) and
// by the size of a value.

// maxOpenedValue bounds the cookie values kept: longer ones (sessions in
// several chunks) are opened each time.
const maxOpenedValue = 8 << 10

// openedCache maps cookie values to the sessions they opened. Entries are
// never modified.
type openedCache struct {
	max int          // entries kept (Config.OpenedSessions)
	mu  sync.RWMutex // guards m
	m   map[string]*Session
}

func (c *openedCache) get(value string) *Session {
	c.mu.RLock()
	s := c.m[value]
	c.mu.RUnlock()
	return s
}

func (c *openedCache) put(value string, s *Session) {
	if len(value) > maxOpenedValue {
		return
	}
	value = strings.Clone(value) // not the request's whole Cookie header
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*Session)
	}
	for k := range c.m {
		if len(c.m) < c.max {
			break
		}
		delete(c.m, k) // an arbitrary one: the map's order is random
	}
	c.m[value] = s
}

// openCookie returns the session the cookie value name=value seals: a copy
// of the one opened before when there is one.
func (m *Manager) openCookie(name, value string) (*Session, error) {
	cache := m.opened
	if cache != nil {
		if s := cache.get(value); s != nil {
			c := *s
			return &c, nil
		}
	}
	s := new(Session)
	if err := m.decode(name, value, s); err != nil {
		return nil, err
	}
	if cache != nil {
		c := *s
		cache.put(value, &c)
	}
	return s, nil
}
