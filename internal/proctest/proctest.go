// Package proctest runs the server processes of system tests (a
// redis-server, a whispeer serve): started with their output appended to
// a log file, on loopback ports picked free, stopped, killed and started
// again on the same ports. It is what internal/redistest and
// internal/clustertest share.
package proctest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ErrPortTaken marks a start that failed because another process held
// one of its ports; the caller picks other ports, or tries again.
var ErrPortTaken = errors.New("port taken")

// Process is a started process.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when it has exited
}

// Start starts cmd, which is killed if the test binary dies without
// cleaning up (where the system allows).
func Start(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", cmd.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Running reports whether p, which may be nil, is running.
func (p *Process) Running() bool {
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Stop sends SIGKILL (kill) or SIGTERM to p and waits for it to exit; a
// process that ignores SIGTERM for grace is killed.
func (p *Process) Stop(kill bool, grace time.Duration) {
	if !kill {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
			return
		case <-time.After(grace):
		}
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Again calls start until it succeeds or fails otherwise than with
// ErrPortTaken, for at most within: a process restarted on its ports may
// find one not yet released.
func Again(within time.Duration, start func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := start()
		if err == nil || !errors.Is(err, ErrPortTaken) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// LogSince returns the file at path from byte offset off, "" if it cannot
// be read.
func LogSince(path string, off int64) string {
	b, err := os.ReadFile(path)
	if err != nil || off > int64(len(b)) {
		return ""
	}
	return string(b[off:])
}

// LastLines returns at most the last n lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a loopback TCP port that was free a moment ago; a
// process that finds it taken meanwhile fails with ErrPortTaken.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
