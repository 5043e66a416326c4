package redistest

import (
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

	"github.com/whispeer-io/whispeer/internal/proctest"
)

// startAttempts is how many ports Start tries before it gives up.
const startAttempts = 5

// readyTimeout bounds the wait for a started server to answer.
const readyTimeout = 15 * time.Second

// Server is a redis-server process started by Start.
type Server struct {
	// Addr is the server's host:port on the loopback interface; it stays
	// the same across Restart.
	Addr string

	t     testing.TB
	bin   string
	dir   string
	log   string
	args  func(port int) []string
	port  int
	extra []int // further ports the server binds, such as a cluster bus

	mu   sync.Mutex
	proc *proctest.Process
}

// stopTimeout is how long a server may take to exit after SIGTERM.
const stopTimeout = 10 * time.Second

// Option configures Start and StartCluster.
type Option func(*config)

type config struct {
	args []string
}

// WithArgs adds redis-server command-line arguments, such as
// "--maxmemory", "10mb", after the package's own.
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// Start runs a redis-server on a free loopback port and returns it once it
// answers. The server is killed when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := newServer(t, 0)
	s.args = func(port int) []string { return append(baseArgs(s.dir, port), c.args...) }
	s.launch()
	return s
}

// newServer prepares a Server with its directory and n further ports to
// pick besides its own, and registers its cleanup; launch starts it.
func newServer(t testing.TB, extraPorts int) *Server {
	t.Helper()
	bin := lookPath(t, "redis-server")
	dir := t.TempDir()
	s := &Server{t: t, bin: bin, dir: dir, log: filepath.Join(dir, "redis.log"), extra: make([]int, extraPorts)}
	t.Cleanup(s.cleanup)
	return s
}

// baseArgs are the arguments of every server: loopback only, nothing
// persisted, logs to stdout.
func baseArgs(dir string, port int) []string {
	return []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--dir", dir, "--save", "", "--appendonly", "no",
		"--daemonize", "no", "--logfile", "", "--loglevel", "notice",
		"--enable-debug-command", "local",
	}
}

// launch picks free ports and starts the server, trying other ports when
// another process takes one first.
func (s *Server) launch() {
	s.t.Helper()
	var err error
	for range startAttempts {
		s.port = proctest.FreePort(s.t)
		for i := range s.extra {
			s.extra[i] = proctest.FreePort(s.t)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
		if err = s.run(); !errors.Is(err, proctest.ErrPortTaken) {
			break
		}
	}
	if err != nil {
		s.t.Fatalf("redistest: start redis-server: %v", err)
	}
}

// run starts the process on the chosen ports and waits until it answers.
func (s *Server) run() error {
	logf, err := os.OpenFile(s.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	defer logf.Close()
	start, _ := logf.Seek(0, 2)
	cmd := exec.Command(s.bin, s.args(s.port)...)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	p, err := proctest.Start(cmd)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	if err := s.waitReady(p); err != nil {
		p.Stop(true, stopTimeout)
		out := s.logSince(start)
		if strings.Contains(out, "in use") {
			return fmt.Errorf("%w: %s", proctest.ErrPortTaken, proctest.LastLines(out, 3))
		}
		return fmt.Errorf("%w\n%s", err, proctest.LastLines(out, 10))
	}
	return nil
}

// waitReady polls the server until it answers INFO as this process, which
// tells it from another server that holds the port, or the process exits.
func (s *Server) waitReady(p *proctest.Process) error {
	want := "process_id:" + strconv.Itoa(p.Pid())
	deadline := time.Now().Add(readyTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.Exited():
			return errors.New("redis-server exited at start")
		default:
		}
		if r, err := do(s.Addr, "INFO", "server"); err == nil {
			if info, ok := r.(string); ok && strings.Contains(info, want+"\r\n") {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("redis-server did not answer within %v", readyTimeout)
}

// URL returns the server's address as a redis:// URL.
func (s *Server) URL() string { return "redis://" + s.Addr }

// Dir returns the server's own directory.
func (s *Server) Dir() string { return s.dir }

// Running reports whether the server's process is running.
func (s *Server) Running() bool {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	return p.Running()
}

// Kill kills the server with SIGKILL, as a crash would, and waits for it to
// exit. Its clients see their connections reset.
func (s *Server) Kill() {
	s.t.Helper()
	s.stop(true)
}

// Stop shuts the server down with SIGTERM and waits for it to exit.
func (s *Server) Stop() {
	s.t.Helper()
	s.stop(false)
}

// Restart kills the server if it is running and starts it again on the
// same port: empty, since it persists nothing, as a Redis that lost its
// data. A cluster node keeps its identity and its slots.
func (s *Server) Restart() {
	s.t.Helper()
	s.stop(true)
	if err := proctest.Again(10*time.Second, s.run); err != nil {
		s.t.Fatalf("redistest: restart redis-server on %s: %v", s.Addr, err)
	}
}

// stop ends the running process, if any, and waits for it.
func (s *Server) stop(kill bool) {
	s.mu.Lock()
	p := s.proc
	s.mu.Unlock()
	if p != nil {
		p.Stop(kill, stopTimeout)
	}
}

// cleanup kills the server and, on a failed test, logs the end of its log.
func (s *Server) cleanup() {
	s.stop(true)
	if s.t.Failed() {
		s.t.Logf("redistest: end of the log of redis-server %s:\n%s", s.Addr, proctest.LastLines(s.logSince(0), 20))
	}
}

// logSince returns the server's log from byte offset off.
func (s *Server) logSince(off int64) string {
	return proctest.LogSince(s.log, off)
}

// lookPath finds a Redis binary or fails the test saying how to install it.
func lookPath(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("redistest: %s is not on PATH; these tests run a real Redis (7 or later): "+
			"install it, e.g. apt-get install redis-server (Debian), or run .ci/run as root", name)
	}
	return p
}
