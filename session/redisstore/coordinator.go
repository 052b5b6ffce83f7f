package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Do implements session.Coordinator across every instance that shares the
// Redis database. On one instance, concurrent calls for a key share one run
// (a session.MemoryCoordinator in front), which remembers the result for
// ttl too. A run first looks for a result another instance left; if there
// is none, it takes the key's lock (SET NX PX with a random token), runs fn,
// leaves fn's result for ttl and releases the lock. An instance that finds
// the lock taken polls, every PollInterval, until the result appears, or
// the lock disappears without one (the holder failed or crashed: its lock
// lasts LockTTL, renewed while fn runs), in which case it takes the lock
// itself. fn's errors are returned as they are, and leave no result; a run
// lasts at most CoordinatorTimeout; each caller waits at most until its
// ctx ends. Failures of Redis are *Error values.
func (s *Store) Do(ctx context.Context, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	return s.local.Do(ctx, key, ttl, func(ctx context.Context) ([]byte, error) {
		return s.coordinate(ctx, key, ttl, fn)
	})
}

// Keep implements session.Coordinator: it leaves v as key's result for ttl
// for every instance (and this one's local cache), replacing any result
// there.
func (s *Store) Keep(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	err := s.client.Set(ctx, s.key(resultKey, key), v, max(ttl, time.Millisecond)).Err()
	if err != nil {
		return fail("keep", err)
	}
	return s.local.Keep(ctx, key, v, ttl)
}

// acquireScript returns {1, result} when a result is there, {2} when it
// took the lock, {0} when another holds it.
//
// KEYS: result, lock. ARGV: token, lock TTL (ms).
var acquireScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {0}
`)

// finishScript leaves the result and releases the lock if still held.
//
// KEYS: result, lock. ARGV: result, its TTL (ms), token.
var finishScript = redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
`)

// releaseScript releases the lock if still held.
//
// KEYS: lock. ARGV: token.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// renewScript extends the lock if still held.
//
// KEYS: lock. ARGV: token, lock TTL (ms).
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`)

// coordinate is one instance's run for key. It runs under the context of
// the local run, which no single caller can cancel; CoordinatorTimeout
// bounds it.
func (s *Store) coordinate(ctx context.Context, key string, ttl time.Duration, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.CoordinatorTimeout)
	defer cancel()
	keys := []string{s.key(resultKey, key), s.key(lockKey, key)}
	token := rand.Text()
	lockTTL := strconv.FormatInt(s.opts.LockTTL.Milliseconds(), 10)
	var poll *time.Timer
	for {
		reply, err := acquireScript.Run(ctx, s.client, keys, token, lockTTL).Slice()
		if err != nil {
			return nil, fail("coordinate", err)
		}
		if len(reply) == 0 {
			return nil, fail("coordinate", errors.New("empty reply"))
		}
		switch reply[0] {
		case int64(1):
			if len(reply) == 2 {
				if v, ok := reply[1].(string); ok {
					return []byte(v), nil
				}
			}
			return nil, fail("coordinate", fmt.Errorf("malformed reply %v", reply))
		case int64(2):
			return s.runLocked(ctx, keys, token, ttl, fn)
		}
		if poll == nil {
			poll = time.NewTimer(s.opts.PollInterval)
			defer poll.Stop()
		} else {
			poll.Reset(s.opts.PollInterval)
		}
		select {
		case <-poll.C:
		case <-ctx.Done():
			return nil, fail("coordinate", fmt.Errorf("waiting for another instance: %w", ctx.Err()))
		}
	}
}

// runLocked runs fn while holding the lock, renewing it, and leaves fn's
// result.
func (s *Store) runLocked(ctx context.Context, keys []string, token string, ttl time.Duration, fn func(context.Context) ([]byte, error)) ([]byte, error) {
	stop := s.keepLock(ctx, keys[1], token)
	v, err := fn(ctx)
	stop()
	if err != nil {
		// Best effort: a lock not released expires after LockTTL.
		releaseScript.Run(context.WithoutCancel(ctx), s.client, keys[1:], token)
		return nil, err
	}
	ms := strconv.FormatInt(max(ttl.Milliseconds(), 1), 10)
	// fn succeeded (a refresh token may have been redeemed): its result is
	// returned even if Redis cannot keep it for the others.
	finishScript.Run(context.WithoutCancel(ctx), s.client, keys, v, ms, token)
	return v, nil
}

// keepLock renews the lock every LockTTL/3 until stop is called, which
// waits for the renewing goroutine to end.
func (s *Store) keepLock(ctx context.Context, lock, token string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(s.opts.LockTTL / 3)
		defer t.Stop()
		ttl := strconv.FormatInt(s.opts.LockTTL.Milliseconds(), 10)
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				renewScript.Run(ctx, s.client, []string{lock}, token, ttl)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
