package file_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/file"
	"github.com/whispeer-io/whispeer/store/storetest"
)

func TestMain(m *testing.M) {
	storetest.CrashHelper(openSync)
	goleak.VerifyTestMain(m)
}

func openSync(dir string, p whispeer.SyncPolicy) (whispeer.Store, error) {
	return file.Open(dir, file.WithFsync(p), file.WithSegmentSize(64<<10))
}

// TestStore_Crash kills a process appending to the store: every append
// whose done was called is there after the restart, under every policy
// (the process dies, not the machine, so SyncNever keeps them too).
func TestStore_Crash(t *testing.T) {
	for _, p := range []whispeer.SyncPolicy{whispeer.SyncAlways, whispeer.SyncEvery(2e6), whispeer.SyncNever} {
		t.Run(p.String(), func(t *testing.T) { storetest.Crash(t, p, openSync) })
	}
}

func open(t *testing.T, dir string, opts ...file.Option) *file.Store {
	t.Helper()
	s, err := file.Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestStore(t *testing.T) {
	for _, p := range []whispeer.SyncPolicy{whispeer.SyncAlways, whispeer.SyncEvery(2e6), whispeer.SyncNever} {
		t.Run(p.String(), func(t *testing.T) {
			storetest.RunDurable(t, func(t *testing.T, dir string) whispeer.Store {
				return open(t, dir, file.WithFsync(p), file.WithSegmentSize(4096))
			})
		})
	}
}

func TestStore_TornTail(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	for i := 1; i <= 10; i++ {
		if err := s.Append(context.Background(), storetest.Message("t", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	seg := filepath.Join(dir, fmt.Sprintf("%020d.log", 1))
	st, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the last record in the middle, then leave garbage after it.
	if err := os.Truncate(seg, st.Size()-5); err != nil {
		t.Fatal(err)
	}
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{9, 9, 9})
	f.Close()
	s = open(t, dir)
	defer s.Close()
	info, _ := s.Topic(context.Background(), "t")
	if info.Last != 9 || info.Messages != 9 {
		t.Fatalf("after recovery: %+v, want the 9 whole messages", info)
	}
	m := storetest.Message("t", 10)
	if err := s.Append(context.Background(), m, nil); err != nil || m.Seq != 10 {
		t.Fatalf("Append after recovery: seq %d, %v", m.Seq, err)
	}
}

func TestStore_RetentionRemovesSegments(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, file.WithSegmentSize(1024))
	ctx := context.Background()
	for i := 1; i <= 200; i++ {
		s.Append(ctx, storetest.Message("t", i), nil)
	}
	before := segments(t, dir)
	if err := s.Trim(ctx, "t", whispeer.Retention{MaxMessages: 5}); err != nil {
		t.Fatal(err)
	}
	after := segments(t, dir)
	if after >= before || after > 3 {
		t.Fatalf("%d segments before the trim, %d after: want the emptied ones removed", before, after)
	}
	s.Close()
	s = open(t, dir)
	defer s.Close()
	if info, _ := s.Topic(ctx, "t"); info.First != 196 || info.Last != 200 {
		t.Fatalf("after reopening: %+v", info)
	}
}

func segments(t *testing.T, dir string) int {
	m, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func TestStore_Locked(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	defer s.Close()
	if s2, err := file.Open(dir); err == nil {
		s2.Close()
		t.Fatal("a second Open of the same directory succeeded")
	}
}
