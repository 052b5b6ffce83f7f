// Package flight de-duplicates concurrent calls for the same key, like
// golang.org/x/sync/singleflight, except that every waiter is bounded by its own
// context and the call itself runs under a context that no single waiter can cancel.
package flight

import (
	"context"
	"sync"
)

// Group runs at most one call per key at a time. The zero value is ready to use.
type Group[V any] struct {
	mu    sync.Mutex // guards calls
	calls map[string]*call[V]
}

type call[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// Do runs fn for key unless a call for key is already running, in which case
// it waits for that call's result. fn gets ctx without its cancellation, so a
// caller that gives up does not abort work the others wait for; fn must bound
// its own time. A waiter whose ctx ends returns ctx.Err() at once. shared
// reports whether the result came from another caller's call.
func (g *Group[V]) Do(ctx context.Context, key string, fn func(context.Context) (V, error)) (v V, shared bool, err error) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = make(map[string]*call[V])
	}
	c, ok := g.calls[key]
	if !ok {
		c = &call[V]{done: make(chan struct{})}
		g.calls[key] = c
		go g.run(context.WithoutCancel(ctx), key, c, fn)
	}
	g.mu.Unlock()

	select {
	case <-c.done:
		return c.val, ok, c.err
	case <-ctx.Done():
		var zero V
		return zero, ok, ctx.Err()
	}
}

// run executes fn; it ends when fn returns, which fn bounds.
func (g *Group[V]) run(ctx context.Context, key string, c *call[V], fn func(context.Context) (V, error)) {
	defer func() {
		g.mu.Lock()
		delete(g.calls, key)
		g.mu.Unlock()
		close(c.done)
	}()
	c.val, c.err = fn(ctx)
}
