// Package redistest starts throwaway redis-server processes for tests, as
// net/http/httptest starts HTTP servers:
//
//	srv := redistest.Start(t)      // skips the test when redis-server is missing
//	rdb := srv.Client(t)           // a go-redis client, closed with the test
//	srv.Stop(); srv.Restart()      // Redis goes down, and comes back empty
//
// Each server listens on a free 127.0.0.1 port, keeps nothing on disk
// (--save "" --appendonly no) in a directory of its own, and is killed when
// the test ends. Without a redis-server binary (Debian's redis-server
// package), Start skips the test, or fails it when CI=true.
package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds the wait for a new server to answer PING.
const startTimeout = 10 * time.Second

// Server is a running redis-server. Its methods are safe for concurrent use.
type Server struct {
	// Addr is the server's "127.0.0.1:port".
	Addr string
	// URL is "redis://127.0.0.1:port/0", for redis.ParseURL.
	URL string

	t    testing.TB
	bin  string
	dir  string // the server's working directory, with its log
	port int

	mu     sync.Mutex    // guards cmd and exited
	cmd    *exec.Cmd     // nil while stopped
	exited chan struct{} // closed when cmd has exited
}

// Binary returns the path of redis-server, looked up in PATH and then at
// /usr/bin/redis-server, or "" when there is none.
func Binary() string {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server"
	}
	return ""
}

// Start starts a redis-server on a free 127.0.0.1 port and waits until it
// answers PING; it is killed when the test ends. Without redis-server it
// skips the test, or fails it when the CI environment variable is "true".
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("redistest: redis-server not found (install Debian's redis-server package)")
		}
		t.Skip("redistest: redis-server not found; install the redis-server package to run this test")
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	var err error
	for range 3 { // another process may take the free port before redis-server does
		s.port, err = freePort()
		if err != nil {
			break
		}
		if err = s.start(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	s.URL = "redis://" + s.Addr + "/0"
	return s
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// start runs redis-server on s.port and waits for it to answer PING.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return nil
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
	logFile := filepath.Join(s.dir, "redis.log")
	cmd := exec.Command(s.bin,
		"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir,
		"--daemonize", "no", "--logfile", logFile, "--loglevel", "warning")
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }() // ends when the process does
	lastLines := func() string {
		b, _ := os.ReadFile(logFile)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return strings.Join(lines[max(0, len(lines)-3):], " | ")
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if ping(addr) == nil {
			s.cmd, s.exited = cmd, exited
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("redis-server on port %d exited: %s", s.port, lastLines())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			return fmt.Errorf("redis-server on port %d did not answer PING within %v: %s", s.port, startTimeout, lastLines())
		}
	}
}

// ping sends PING over a new connection and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return errors.New("unexpected answer " + strconv.Quote(line))
	}
	return nil
}

// Stop kills the server (Redis going down) and waits for it to exit. Its
// data is lost. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exited
	s.cmd, s.exited = nil, nil
}

// Restart starts a stopped server again on the same port, empty, and
// waits until it answers PING; it fails the test if it cannot.
func (s *Server) Restart() {
	s.t.Helper()
	if err := s.start(); err != nil {
		s.t.Fatalf("redistest: restart: %v", err)
	}
}

// Client returns a go-redis client of the server, closed when the test
// ends.
func (s *Server) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	t.Cleanup(func() { c.Close() })
	return c
}
