// Package testutil holds what the library's tests share: a context bounded
// by the test, and a clock the test moves. It imports testing, so only
// tests import it.
package testutil

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Timeout bounds every wait of a test that uses Context.
const Timeout = 20 * time.Second

// Context returns a context that ends with the test, or after Timeout.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// Clock is a time source for a Config's Now that tests move by hand. A
// Clock from NewClock stands still until advanced; one from RealClock
// follows the real clock, plus what it was advanced by (for tests whose
// other parts, such as a test provider, read the real one). It is safe for
// concurrent use.
type Clock struct {
	mu     sync.Mutex // guards start and offset
	start  time.Time  // zero: follow the real clock
	offset time.Duration
}

// NewClock returns a Clock standing at start.
func NewClock(start time.Time) *Clock { return &Clock{start: start} }

// RealClock returns a Clock at the real time, moving with it.
func RealClock() *Clock { return &Clock{} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.start.IsZero() {
		return time.Now().Add(c.offset)
	}
	return c.start.Add(c.offset)
}

// Advance moves the clock forward by d (backward for a negative d).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Set puts the clock at t; a RealClock stands still from then on.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.start, c.offset = t, 0
	c.mu.Unlock()
}
