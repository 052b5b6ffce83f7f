package redistest_test

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oidcrp/oidcrp/session/redisstore/redistest"
)

// TestStartStopRestart: a server answers, goes down with Stop, comes back
// empty on the same port with Restart, and leaves no process behind.
func TestStartStopRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var pid int
	t.Run("server", func(t *testing.T) {
		srv := redistest.Start(t)
		rdb := srv.Client(t)
		if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		info, err := rdb.Do(ctx, "info", "server").Text()
		if err != nil {
			t.Fatal(err)
		}
		pid = processID(t, info)
		srv.Stop()
		srv.Stop() // twice is fine
		if c, err := net.DialTimeout("tcp", srv.Addr, time.Second); err == nil {
			c.Close()
			t.Fatal("the port still accepts connections after Stop")
		}
		addr := srv.Addr
		srv.Restart()
		if srv.Addr != addr {
			t.Fatalf("restarted on %s, not %s", srv.Addr, addr)
		}
		other := srv.Client(t) // a fresh client: rdb redials on its own schedule
		if err := other.Ping(ctx).Err(); err != nil {
			t.Fatalf("PING after Restart: %v", err)
		}
		if n, _ := other.Exists(ctx, "k").Result(); n != 0 {
			t.Error("data survived the restart")
		}
		info, _ = other.Do(ctx, "info", "server").Text()
		pid = processID(t, info)
	})
	if pid != 0 && syscall.Kill(pid, 0) == nil {
		t.Errorf("redis-server %d still running after the test", pid)
	}
}

func processID(t *testing.T, info string) int {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			pid, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
	}
	t.Fatalf("no process_id in INFO: %q", info)
	return 0
}

// TestBinary: Start found the binary this machine has, or there is none
// and we are not in CI.
func TestBinary(t *testing.T) {
	if redistest.Binary() == "" && os.Getenv("CI") == "true" {
		t.Fatal("no redis-server in CI")
	}
}
