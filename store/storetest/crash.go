package storetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// The helper process learns its directory and sync policy from these.
const (
	envDir  = "WHISPEER_STORETEST_CRASH_DIR"
	envSync = "WHISPEER_STORETEST_CRASH_SYNC"
)

// Opener opens the durable store kept in dir with sync policy p.
type Opener func(dir string, p whispeer.SyncPolicy) (whispeer.Store, error)

// crashTopics are appended to in turn by the helper.
var crashTopics = [...]string{"crash/a", "crash/b"}

// inFlight is how many appends the helper has waiting for durability.
const inFlight = 100

// CrashHelper makes the test binary the helper process of [Crash] when it
// was started as one: it appends to the store until it is killed, and
// prints "topic offset" for every message once done reports it durable.
// Call it first in TestMain; it returns when the process is not a helper.
func CrashHelper(open Opener) {
	dir := os.Getenv(envDir)
	if dir == "" {
		return
	}
	p, err := whispeer.ParseSyncPolicy(os.Getenv(envSync))
	if err == nil {
		err = crashHelper(dir, p, open)
	}
	fmt.Fprintln(os.Stderr, "crash helper:", err)
	os.Exit(2)
}

func crashHelper(dir string, p whispeer.SyncPolicy, open Opener) error {
	s, err := open(dir, p)
	if err != nil {
		return err
	}
	slots := make(chan struct{}, inFlight)
	acked := make(chan string, inFlight)
	go func() {
		w := bufio.NewWriter(os.Stdout)
		for line := range acked {
			w.WriteString(line)
			for more := true; more; {
				select {
				case line := <-acked:
					w.WriteString(line)
				default:
					more = false
				}
			}
			w.Flush()
		}
	}()
	for i := 1; ; i++ {
		slots <- struct{}{}
		m := Message(crashTopics[i%2], i)
		err := s.Append(context.Background(), m, func(err error) {
			if err != nil {
				fmt.Fprintln(os.Stderr, "append:", err)
				os.Exit(3)
			}
			acked <- fmt.Sprintf("%s %d %d\n", m.Topic, m.Seq, i)
			<-slots
		})
		if err != nil {
			return err
		}
	}
}

// Crash runs the test binary as a helper process that appends to a store
// in a new directory with sync policy p, 100 appends in flight, kills it
// with SIGKILL once it has reported acks, then opens the store again and
// checks that every message reported durable is there, intact.
func Crash(t *testing.T, p whispeer.SyncPolicy, open Opener) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envDir+"="+dir, envSync+"="+p.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	const killAfter = 2000
	var acks []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		acks = append(acks, sc.Text())
		if len(acks) == killAfter {
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	cmd.Wait()
	if len(acks) < killAfter {
		t.Fatalf("the helper stopped after %d acks: %s", len(acks), stderr.String())
	}
	s, err := open(dir, p)
	if err != nil {
		t.Fatalf("open after the crash: %v", err)
	}
	defer s.Close()
	for _, a := range acks {
		checkAcked(t, s, a)
	}
	t.Logf("%d acked messages survived SIGKILL", len(acks))
}

// checkAcked checks that the message an ack line names is in s, intact.
func checkAcked(t *testing.T, s whispeer.Store, line string) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 3 {
		t.Fatalf("bad ack line %q", line)
	}
	seq, _ := strconv.ParseUint(f[1], 10, 64)
	i, _ := strconv.Atoi(f[2])
	var got *whispeer.Message
	err := s.Read(context.Background(), f[0], seq, 1, func(m *whispeer.Message) error {
		got = m
		return nil
	})
	if err != nil || got == nil {
		t.Fatalf("acked message %s #%d lost after the crash (%v)", f[0], seq, err)
	}
	want := Message(f[0], i)
	want.Seq, want.Time = seq, got.Time
	if d := Same(got, want); d != "" {
		t.Fatalf("acked message %s #%d damaged after the crash: %s", f[0], seq, d)
	}
}
