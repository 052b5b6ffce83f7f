package interop_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// inCI reports whether the tests run in CI, where a missing tool fails the
// tests instead of skipping them.
func inCI() bool { return os.Getenv("CI") == "true" }

// missing ends a test that lacks a tool: a failure in CI, a skip elsewhere.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if inCI() {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

// handedOut holds the ports freePorts has returned, so that parallel tests
// never get the same one, even after its listener closed.
var handedOut struct {
	sync.Mutex // guards ports
	ports      map[int]bool
}

// freePorts returns n free TCP ports on 127.0.0.1, none returned before.
// Another process may still take one before the caller binds it, which the
// kernel makes unlikely by not reusing a port at once.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	if handedOut.ports == nil {
		handedOut.ports = map[int]bool{}
	}
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 100 {
			t.Fatalf("no free port after %d tries", tries)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			ports = append(ports, port)
		}
	}
	return ports
}

// logBuffer collects a process's output, line by line, for the test log.
type logBuffer struct {
	mu  sync.Mutex // guards buf
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a child process in a process group of its own, so that
// stopping it stops its children too.
type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, once done is closed
}

// startProcess starts cmd in a new process group that is killed if the test
// binary dies, and registers a cleanup that stops the group: SIGTERM, then
// SIGKILL after grace.
func startProcess(t testing.TB, name string, cmd *exec.Cmd, grace time.Duration) *process {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { p.stop(t, grace) })
	return p
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the process group: SIGTERM, then SIGKILL after grace. The group
// is killed even when the leader has exited, so that no child is left over.
func (p *process) stop(t testing.TB, grace time.Duration) {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		t.Logf("%s did not stop within %v of SIGTERM; killing it", p.name, grace)
	}
	syscall.Kill(-pgid, syscall.SIGKILL) // any child left behind
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Errorf("%s (pid %d) still running after SIGKILL", p.name, pgid)
	}
}

// scanLines calls f for each line r yields, also copying it to log, until r
// ends.
func scanLines(r io.Reader, log io.Writer, f func(line string)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(log, line)
		f(line)
	}
}

// errExited reports a process that ended before it was ready.
var errExited = errors.New("exited before it was ready")
