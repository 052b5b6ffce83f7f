package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/oidcrp/oidcrp/session"
)

// TestCoordinatorOnce: N goroutines on each of M instances sharing Redis
// ask for the same key at once; fn runs once, and everyone gets its result,
// as do calls arriving later within the ttl, on any instance.
func TestCoordinatorOnce(t *testing.T) {
	const instances, perInstance = 3, 20
	ctx := testContext(t)
	first, rdb, srv := newStore(t, Options{})
	stores := []*Store{first}
	for range instances - 1 {
		s, _ := storeOn(t, srv, Options{})
		stores = append(stores, s)
	}
	var runs atomic.Int32
	fn := func(ctx context.Context) ([]byte, error) {
		n := runs.Add(1)
		time.Sleep(150 * time.Millisecond) // a refresh grant
		return fmt.Appendf(nil, "result %d", n), nil
	}
	var wg sync.WaitGroup
	results := make([]string, instances*perInstance)
	errs := make([]error, len(results))
	start := time.Now()
	for i := range results {
		wg.Go(func() {
			v, err := stores[i%instances].Do(ctx, "refresh:k", time.Minute, fn)
			results[i], errs[i] = string(v), err
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	for i := range results {
		if errs[i] != nil || results[i] != "result 1" {
			t.Fatalf("call %d: %q %v", i, results[i], errs[i])
		}
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("fn ran %d times", n)
	}
	t.Logf("%d calls on %d instances: fn ran once; all done in %v", len(results), instances, elapsed.Round(time.Millisecond))
	if d := pttl(t, rdb, "oidcrp:result:refresh:k"); !near(d, time.Minute) {
		t.Errorf("result TTL %v, want about 1m", d)
	}
	if n, _ := rdb.Exists(ctx, "oidcrp:lock:refresh:k").Result(); n != 0 {
		t.Error("lock not released")
	}
	// A later call, on an instance that has not seen the result yet.
	late, _ := storeOn(t, srv, Options{})
	if v, err := late.Do(ctx, "refresh:k", time.Minute, fn); err != nil || string(v) != "result 1" || runs.Load() != 1 {
		t.Fatalf("late call: %q %v, runs %d", v, err, runs.Load())
	}
	// Another key runs.
	if v, err := late.Do(ctx, "refresh:other", time.Minute, fn); err != nil || string(v) != "result 2" {
		t.Fatalf("other key: %q %v", v, err)
	}
}

// TestCoordinatorOneAttemptPerInstance: concurrent calls on one instance
// send Redis one lock attempt between them, not one each.
func TestCoordinatorOneAttemptPerInstance(t *testing.T) {
	ctx := testContext(t)
	s, rdb, _ := newStore(t, Options{})
	var attempts atomic.Int32
	rdb.AddHook(countScript{acquireScript, &attempts})
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			v, err := s.Do(ctx, "k", time.Minute, func(context.Context) ([]byte, error) {
				<-release
				return []byte("v"), nil
			})
			if err != nil || string(v) != "v" {
				t.Errorf("Do: %q %v", v, err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond) // every caller is waiting
	close(release)
	wg.Wait()
	if n := attempts.Load(); n != 1 {
		t.Fatalf("50 concurrent calls made %d lock attempts", n)
	}
}

// countScript counts the runs of one script (EVALSHA or EVAL).
type countScript struct {
	script *redis.Script
	n      *atomic.Int32
}

func (h countScript) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h countScript) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h countScript) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); len(args) > 1 && args[1] == h.script.Hash() {
			h.n.Add(1) // an EVAL after NOSCRIPT follows its EVALSHA: count the EVALSHA
		}
		return next(ctx, cmd)
	}
}

// TestCoordinatorFailure: a failing fn leaves no result and releases the
// lock; the callers that shared its run get its error; a waiting instance
// takes over; and the next call runs fn again.
func TestCoordinatorFailure(t *testing.T) {
	ctx := testContext(t)
	a, rdb, srv := newStore(t, Options{})
	b, _ := storeOn(t, srv, Options{})
	errGrant := errors.New("refresh failed")

	// On one instance: the run fails, for every caller.
	var runs atomic.Int32
	failing := func(context.Context) ([]byte, error) {
		runs.Add(1)
		time.Sleep(50 * time.Millisecond)
		return nil, errGrant
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := a.Do(ctx, "k", time.Minute, failing); !errors.Is(err, errGrant) {
				t.Errorf("Do: %v, want fn's error", err)
			}
		})
	}
	wg.Wait()
	if runs.Load() != 1 {
		t.Fatalf("failing fn ran %d times", runs.Load())
	}
	if n, _ := rdb.Exists(ctx, "oidcrp:result:k", "oidcrp:lock:k").Result(); n != 0 {
		t.Fatal("a failed run left a result or its lock")
	}
	if v, err := a.Do(ctx, "k", time.Minute, func(context.Context) ([]byte, error) { return []byte("ok"), nil }); err != nil || string(v) != "ok" {
		t.Fatalf("retry: %q %v", v, err)
	}

	// Across instances: b waits for a, whose fn fails; b then runs its own.
	started, waiting := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := a.Do(ctx, "k2", time.Minute, func(context.Context) ([]byte, error) {
			close(started)
			<-waiting
			time.Sleep(100 * time.Millisecond) // b polls meanwhile
			return nil, errGrant
		})
		done <- err
	}()
	<-started
	close(waiting)
	v, err := b.Do(ctx, "k2", time.Minute, func(context.Context) ([]byte, error) { return []byte("b's"), nil })
	if err != nil || string(v) != "b's" {
		t.Fatalf("b after a failed: %q %v", v, err)
	}
	if err := <-done; !errors.Is(err, errGrant) {
		t.Fatalf("a: %v", err)
	}
}

// TestCoordinatorHolderDies: a lock left by an instance that crashed
// holds the others off until it expires; then one of them takes over.
func TestCoordinatorHolderDies(t *testing.T) {
	ctx := testContext(t)
	s, rdb, _ := newStore(t, Options{})
	const lockTTL = 300 * time.Millisecond
	if err := rdb.Set(ctx, "oidcrp:lock:k", "token of a crashed instance", lockTTL).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var runs atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			v, err := s.Do(ctx, "k", time.Minute, func(context.Context) ([]byte, error) {
				runs.Add(1)
				return []byte("mine"), nil
			})
			if err != nil || string(v) != "mine" {
				t.Errorf("Do: %q %v", v, err)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if runs.Load() != 1 {
		t.Fatalf("fn ran %d times", runs.Load())
	}
	if elapsed < lockTTL-50*time.Millisecond || elapsed > 5*time.Second {
		t.Fatalf("took over after %v, want about %v", elapsed, lockTTL)
	}
	t.Logf("took over a crashed holder's lock after %v", elapsed.Round(time.Millisecond))
}

// TestCoordinatorRenewsLock: a holder slower than LockTTL keeps its lock,
// so no other instance runs fn meanwhile.
func TestCoordinatorRenewsLock(t *testing.T) {
	ctx := testContext(t)
	// Renewed every 500ms: a renewal late by a second (a loaded machine)
	// still keeps the lock.
	opts := Options{LockTTL: 1500 * time.Millisecond}
	a, _, srv := newStore(t, opts)
	b, _ := storeOn(t, srv, opts)
	var runs atomic.Int32
	fn := func(context.Context) ([]byte, error) {
		n := runs.Add(1)
		time.Sleep(5 * time.Second) // over three lock lifetimes
		return fmt.Appendf(nil, "run %d", n), nil
	}
	var va, vb []byte
	var ea, eb error
	var wg sync.WaitGroup
	wg.Go(func() { va, ea = a.Do(ctx, "k", time.Minute, fn) })
	time.Sleep(50 * time.Millisecond)
	wg.Go(func() { vb, eb = b.Do(ctx, "k", time.Minute, fn) })
	wg.Wait()
	if ea != nil || eb != nil || string(va) != "run 1" || string(vb) != "run 1" || runs.Load() != 1 {
		t.Fatalf("a: %q %v; b: %q %v; runs %d", va, ea, vb, eb, runs.Load())
	}
}

// TestCoordinatorWaiterContext: a caller waiting for another instance
// gives up when its ctx ends.
func TestCoordinatorWaiterContext(t *testing.T) {
	s, rdb, srv := newStore(t, Options{})
	if err := rdb.Set(testContext(t), "oidcrp:lock:k", "held elsewhere", 10*time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Do(ctx, "k", time.Minute, func(context.Context) ([]byte, error) {
		t.Error("fn ran while another instance held the lock")
		return nil, nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do: %v", err)
	}
	if elapsed := time.Since(start); elapsed > time.Second {
		t.Fatalf("gave up after %v", elapsed)
	}

	// The run itself is bounded by CoordinatorTimeout.
	bounded, _ := storeOn(t, srv, Options{CoordinatorTimeout: 200 * time.Millisecond})
	_, err = bounded.Do(testContext(t), "k", time.Minute, func(context.Context) ([]byte, error) { return nil, nil })
	if !errors.Is(err, session.ErrStore) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do past CoordinatorTimeout: %v", err)
	}
}

// TestKeep: a result kept by one instance is what Do returns on another,
// without running fn, until its ttl.
func TestKeep(t *testing.T) {
	ctx := testContext(t)
	a, _, srv := newStore(t, Options{})
	b, _ := storeOn(t, srv, Options{})
	if err := a.Keep(ctx, "k", []byte("kept"), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	run := func(context.Context) ([]byte, error) { return []byte("ran"), nil }
	if v, err := b.Do(ctx, "k", time.Minute, run); err != nil || string(v) != "kept" {
		t.Fatalf("Do on another instance: %q %v", v, err)
	}
	time.Sleep(400 * time.Millisecond)
	c, _ := storeOn(t, srv, Options{})
	if v, err := c.Do(ctx, "k", time.Minute, run); err != nil || string(v) != "ran" {
		t.Fatalf("Do after the kept result's ttl: %q %v", v, err)
	}
}
