package session_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session"
)

func TestMemoryReplayCache(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := &session.MemoryReplayCache{}
	c.Now = clk.Now
	exp := clk.Now().Add(time.Minute)
	steps := []struct {
		name      string
		advance   time.Duration
		key       string
		expires   time.Time
		wantFresh bool
	}{
		{"first use", 0, "a", exp, true},
		{"second use", 0, "a", exp, false},
		{"another key", 0, "b", exp, true},
		{"before expiry", 59 * time.Second, "a", exp, false},
		{"used again with a later expiry", 0, "a", exp.Add(time.Hour), false},
		{"at expiry", time.Second, "a", exp.Add(time.Hour), true},
		{"remembered again", 0, "a", exp.Add(time.Hour), false},
		{"other key expired", 0, "b", exp.Add(time.Hour), true},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		fresh, err := c.Use(ctx, st.key, st.expires)
		if err != nil || fresh != st.wantFresh {
			t.Errorf("%s: Use(%q) = %v, %v; want %v", st.name, st.key, fresh, err, st.wantFresh)
		}
	}
}

func TestMemoryReplayCacheConcurrent(t *testing.T) {
	c := &session.MemoryReplayCache{}
	exp := time.Now().Add(time.Hour)
	var mu sync.Mutex
	fresh := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range 100 {
				ok, _ := c.Use(context.Background(), strconv.Itoa(i), exp)
				if ok {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if fresh != 100 {
		t.Errorf("%d keys fresh, want each of 100 once", fresh)
	}
}

// The cache holds at most MaxReplayEntries keys: expired ones go first,
// then arbitrary ones; the newest key is always remembered.
func TestMemoryReplayCacheBound(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	c := &session.MemoryReplayCache{}
	c.Now = clk.Now
	start := time.Now()

	// Full of short-lived keys: once they expire, they all make way.
	short := clk.Now().Add(time.Second)
	for i := range session.MaxReplayEntries {
		c.Use(ctx, "short"+strconv.Itoa(i), short)
	}
	if n := session.ReplayLen(c); n != session.MaxReplayEntries {
		t.Fatalf("%d keys, want %d", n, session.MaxReplayEntries)
	}
	clk.Advance(time.Second)
	if fresh, _ := c.Use(ctx, "new", clk.Now().Add(time.Hour)); !fresh {
		t.Error("new key not fresh")
	}
	if n := session.ReplayLen(c); n != 1 {
		t.Errorf("after expiry, %d keys, want 1", n)
	}

	// Full of live keys: some are forgotten early, but never the newest,
	// and the bound holds.
	long := clk.Now().Add(time.Hour)
	for i := range 3 * session.MaxReplayEntries / 2 {
		key := "long" + strconv.Itoa(i)
		if fresh, _ := c.Use(ctx, key, long); !fresh {
			t.Fatalf("key %d not fresh", i)
		}
		if fresh, _ := c.Use(ctx, key, long); fresh {
			t.Fatalf("key %d forgotten at once", i)
		}
		if n := session.ReplayLen(c); n > session.MaxReplayEntries {
			t.Fatalf("after %d keys, %d held: over the bound", i, n)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Logf("slow: %v", d) // not an error: -race and loaded machines vary
	}
}

func BenchmarkMemoryReplayCacheFull(b *testing.B) {
	ctx := context.Background()
	c := &session.MemoryReplayCache{}
	exp := time.Now().Add(time.Hour)
	for i := range session.MaxReplayEntries {
		c.Use(ctx, "k"+strconv.Itoa(i), exp)
	}
	i := 0
	for b.Loop() {
		i++
		c.Use(ctx, "n"+strconv.Itoa(i), exp)
	}
}
