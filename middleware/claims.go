package middleware

import (
	"sync"
	"time"

	"github.com/oidcrp/oidcrp/client"
	"github.com/oidcrp/oidcrp/session"
)

// maxCachedClaims bounds the claims an Auth keeps between requests.
const maxCachedClaims = 4096

// claimsCache keeps the user's claims (client.UserClaims: the ID token's,
// joined with those kept from userinfo) of recent sessions, so that a
// session's requests do not each decode its ID token. An entry is named by
// the session's ID and the time its tokens were issued: a refresh that
// brings a new ID token brings a new name. Entries are immutable.
type claimsCache struct {
	mu      sync.Mutex // guards entries
	entries map[claimsKey][]byte
}

type claimsKey struct {
	id          string
	refreshedAt time.Time
}

// get returns s's claims, made and kept on first use.
func (c *claimsCache) get(s *session.Session) ([]byte, error) {
	key := claimsKey{s.ID, s.RefreshedAt}
	c.mu.Lock()
	claims, ok := c.entries[key]
	c.mu.Unlock()
	if ok {
		return claims, nil
	}
	claims, err := client.UserClaimsOf(s.IDTokenPayload(), s.Claims)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[claimsKey][]byte)
	}
	for k := range c.entries {
		if len(c.entries) < maxCachedClaims {
			break
		}
		delete(c.entries, k) // an arbitrary one: the map's order is random
	}
	c.entries[key] = claims
	return claims, nil
}
