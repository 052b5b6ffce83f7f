package session_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

// Concurrent callers for one key share one run.
func TestMemoryCoordinatorOnce(t *testing.T) {
	var c session.MemoryCoordinator // the zero value is ready
	var runs atomic.Int32
	release := make(chan struct{})
	started := make(chan struct{})
	fn := func(context.Context) ([]byte, error) {
		if runs.Add(1) == 1 {
			close(started)
		}
		<-release
		return []byte("result"), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	results := make([][]byte, 20)
	errs := make([]error, 20)
	results[0], errs[0] = nil, nil
	wg.Go(func() { results[0], errs[0] = c.Do(ctx, "k", time.Minute, fn) })
	<-started
	for i := 1; i < 20; i++ {
		wg.Go(func() { results[i], errs[i] = c.Do(ctx, "k", time.Minute, fn) })
	}
	close(release)
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Errorf("fn ran %d times, want once", n)
	}
	for i := range results {
		if errs[i] != nil || string(results[i]) != "result" {
			t.Errorf("caller %d: %q, %v", i, results[i], errs[i])
		}
	}
	// Later callers within the ttl reuse the result.
	if v, err := c.Do(ctx, "k", time.Minute, fn); err != nil || string(v) != "result" || runs.Load() != 1 {
		t.Errorf("later call: %q, %v, %d runs", v, err, runs.Load())
	}
	// Another key runs on its own.
	v, err := c.Do(ctx, "other", time.Minute, func(context.Context) ([]byte, error) { return []byte("other"), nil })
	if err != nil || string(v) != "other" {
		t.Errorf("other key: %q, %v", v, err)
	}
}

func TestMemoryCoordinatorExpiryAndErrors(t *testing.T) {
	var c session.MemoryCoordinator
	ctx := context.Background()
	runs := 0
	fn := func(context.Context) ([]byte, error) { runs++; return []byte(strconv.Itoa(runs)), nil }

	// A result with no time to live is not reused.
	if v, _ := c.Do(ctx, "k", -time.Second, fn); string(v) != "1" {
		t.Errorf("first run = %q", v)
	}
	if v, _ := c.Do(ctx, "k", time.Hour, fn); string(v) != "2" {
		t.Errorf("after expiry = %q, want a new run", v)
	}
	if v, _ := c.Do(ctx, "k", time.Hour, fn); string(v) != "2" {
		t.Errorf("within ttl = %q, want the remembered result", v)
	}

	// Failed runs are not remembered.
	errBoom := errors.New("boom")
	fails := 0
	failing := func(context.Context) ([]byte, error) { fails++; return nil, errBoom }
	for range 2 {
		if _, err := c.Do(ctx, "f", time.Hour, failing); !errors.Is(err, errBoom) {
			t.Errorf("err = %v, want %v", err, errBoom)
		}
	}
	if fails != 2 {
		t.Errorf("failing fn ran %d times, want 2", fails)
	}
}

// A waiter gives up when its context ends; the run goes on for the others
// and leaves its result.
func TestMemoryCoordinatorWaiterCancel(t *testing.T) {
	var c session.MemoryCoordinator
	release := make(chan struct{})
	started := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Do(context.Background(), "k", time.Hour, func(ctx context.Context) ([]byte, error) {
			close(started)
			<-release
			return []byte("v"), ctx.Err()
		})
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Do(ctx, "k", time.Hour, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: err = %v", err)
	}
	close(release)
	<-done
	if v, err := c.Do(context.Background(), "k", time.Hour, nil); err != nil || string(v) != "v" {
		t.Errorf("after the run: %q, %v", v, err)
	}
}

// Expired results are swept as new ones arrive, so keys used once do not
// accumulate.
func TestMemoryCoordinatorSweeps(t *testing.T) {
	var c session.MemoryCoordinator
	ctx := context.Background()
	fn := func(context.Context) ([]byte, error) { return []byte("v"), nil }
	for i := range 1000 {
		c.Do(ctx, "k"+strconv.Itoa(i), -time.Second, fn)
		if n := session.CoordinatorLen(&c); n > 64+1 {
			t.Fatalf("after %d expired results, %d held", i+1, n)
		}
	}
	for i := range 200 {
		c.Do(ctx, "live"+strconv.Itoa(i), time.Hour, fn)
	}
	if n := session.CoordinatorLen(&c); n < 200 || n > 200+64 {
		t.Errorf("%d results held, want the 200 live ones (and few expired)", n)
	}
}
