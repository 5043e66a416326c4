package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// aclServer runs a native server where alice may publish and subscribe
// under open/ only.
func aclServer(t *testing.T) string {
	t.Helper()
	_, url := nativeServerWith(t, func(cfg *config.Config) {
		cfg.Auth.Users = append(cfg.Auth.Users, config.User{
			Username: "alice", Password: "secret", Publish: []string{"open/#"}, Subscribe: []string{"open/#"},
		})
	})
	return url
}

// promptly returns a context whose deadline is far beyond any answer the
// server owes: a command that returns the expected error before it
// answered promptly, one that hits it hung.
func promptly(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// wantError checks that err is a failure that says want, and not the
// context's end.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("succeeded, want an error with %q", want)
	case errors.Is(err, context.DeadlineExceeded):
		t.Fatalf("hung until the deadline, want an error with %q", want)
	case !strings.Contains(err.Error(), want):
		t.Fatalf("error %q, want %q", err, want)
	}
}

func TestPub_WithoutCredentialsFailsWithTheReason(t *testing.T) {
	url := aclServer(t)
	for _, qos := range []string{"0", "1"} {
		t.Run("qos"+qos, func(t *testing.T) {
			_, _, err := execute(t, promptly(t), "pub", "--url", url, "--qos", qos, "x", "hello")
			wantError(t, err, "not authenticated")
		})
	}
}

func TestPub_RefusedFailsWithTheReason(t *testing.T) {
	url := aclServer(t)
	for _, qos := range []string{"0", "1"} {
		t.Run("qos"+qos, func(t *testing.T) {
			_, errOut, err := execute(t, promptly(t), "pub", "--url", url, "--user", "alice", "--password", "secret",
				"--qos", qos, "closed/x", "hello")
			wantError(t, err, `permission denied: may not publish to "closed/x"`)
			if strings.Contains(errOut, "Published") {
				t.Errorf("printed %q for a refused message", errOut)
			}
		})
	}
}

func TestPub_LinesStopAtTheFirstRefusal(t *testing.T) {
	url := aclServer(t)
	root := newRootCmd()
	root.SetArgs([]string{"pub", "--url", url, "--user", "alice", "--password", "secret", "--lines", "closed/x"})
	root.SetIn(strings.NewReader("one\ntwo\nthree\n"))
	root.SetOut(&strings.Builder{})
	root.SetErr(&strings.Builder{})
	wantError(t, root.ExecuteContext(promptly(t)), "permission denied")
}

func TestPub_PrintsWhatItPublished(t *testing.T) {
	url := aclServer(t)
	auth := []string{"--url", url, "--user", "alice", "--password", "secret"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"open/a", "hello"}, "Published 5 bytes to \"open/a\"\n"},
		{[]string{"--qos", "1", "open/a", "hello!"}, "Published 6 bytes to \"open/a\"\n"},
		{[]string{"--quiet", "open/a", "hello"}, ""},
	} {
		out, errOut, err := execute(t, promptly(t), append(append([]string{"pub"}, auth...), tc.args...)...)
		if err != nil || out != "" || errOut != tc.want {
			t.Errorf("pub %v: stdout %q, stderr %q, %v; want stderr %q", tc.args, out, errOut, err, tc.want)
		}
	}
}

func TestSub_RefusedFailsWithTheReason(t *testing.T) {
	url := aclServer(t)
	_, _, err := execute(t, promptly(t), "sub", "--url", url, "x/#")
	wantError(t, err, "not authenticated")
	_, _, err = execute(t, promptly(t), "sub", "--url", url, "--user", "alice", "--password", "secret", "closed/#")
	wantError(t, err, "permission denied")
}

// TestSub_InterruptWhileWaitingForSubAck interrupts sub while the server
// holds its SUB unanswered: the command ends with the interrupt, not
// after a wait for the SUBACK.
func TestSub_InterruptWhileWaitingForSubAck(t *testing.T) {
	ctx, interrupt := context.WithCancel(promptly(t))
	release := make(chan struct{})
	srv, err := clienttest.NewServer(clienttest.WithInspect(func(f *wire.Frame) {
		if f.Type == wire.TypeSubscribe {
			interrupt() // as Ctrl-C would
			<-release   // and no SUBACK until the test ends
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	_, _, err = execute(t, ctx, "sub", "--url", srv.URL("tcp"), "x/#")
	if err != nil {
		t.Fatalf("interrupted sub: %v, want a clean end", err)
	}
}

func TestSub_LostConnectionFails(t *testing.T) {
	subscribed := make(chan struct{}, 1)
	srv, err := clienttest.NewServer(clienttest.WithInspect(func(f *wire.Frame) {
		if f.Type == wire.TypeSubscribe {
			subscribed <- struct{}{}
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	done := make(chan error, 1)
	go func() {
		_, _, err := execute(t, promptly(t), "sub", "--url", srv.URL("tcp"), "x/#")
		done <- err
	}()
	<-subscribed
	srv.Stop() // the server goes away
	wantError(t, <-done, "connection lost")
}

// TestMain_PrintsThePrefixOnce runs the command as a process: a failure
// exits 1 with one line that starts "whispeer: " once, though the
// library's errors start with it too.
func TestMain_PrintsThePrefixOnce(t *testing.T) {
	_, url := nativeServer(t)
	cmd := command(t, nil, "pub", "--url", url, "--user", "admin", "--password", "password", "a/+", "x")
	out, err := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); err == nil || code != 1 {
		t.Fatalf("exit %d (%v), want 1", code, err)
	}
	if want := "whispeer: invalid topic \"a/+\": wildcard in topic\n"; string(out) != want {
		t.Fatalf("printed %q, want %q", out, want)
	}
	cmd = command(t, nil, "pub", "--url", url, "--user", "admin", "--password", "wrong", "a", "x")
	out, _ = cmd.CombinedOutput()
	if want := "whispeer: connect to " + url + ": authentication failed\n"; string(out) != want {
		t.Fatalf("printed %q, want %q", out, want)
	}
}

// stalledInput is a standard input that nothing is written to, as a
// terminal that nobody types in: its first Read reports on reading and
// every Read waits until the test ends.
type stalledInput struct {
	reading chan struct{}
	once    sync.Once
	end     context.Context
}

func (s *stalledInput) Read([]byte) (int, error) {
	s.once.Do(func() { close(s.reading) })
	<-s.end.Done()
	return 0, io.ErrUnexpectedEOF
}

func TestPub_InterruptWhileReadingInput(t *testing.T) {
	url := aclServer(t)
	for _, args := range [][]string{{"open/a"}, {"--lines", "open/a"}} {
		end, stop := context.WithCancel(context.Background())
		t.Cleanup(stop)
		in := &stalledInput{reading: make(chan struct{}), end: end}
		ctx, interrupt := context.WithCancel(promptly(t))
		go func() {
			<-in.reading
			interrupt() // as Ctrl-C would
		}()
		root := newRootCmd()
		root.SetArgs(append([]string{"pub", "--url", url, "--user", "alice", "--password", "secret"}, args...))
		root.SetIn(in)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("pub %v interrupted: %v, want context.Canceled", args, err)
			}
		case <-promptly(t).Done():
			t.Fatalf("pub %v did not end when interrupted while reading its input", args)
		}
		stop()
	}
}
