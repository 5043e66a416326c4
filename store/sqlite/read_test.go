package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// TestStore_LongRead reads a topic of several chunks, which the store
// queries several at a time: every message once and in order, a limit
// honoured across chunks, and a handler's error ending the read.
func TestStore_LongRead(t *testing.T) {
	dir := t.TempDir()
	s, err := openSync(dir, whispeer.SyncAlways)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	const n = 5000
	for i := 1; i <= n; i++ {
		m := &whispeer.Message{Topic: "long", ID: fmt.Sprint("id-", i), Payload: []byte(fmt.Sprint("p-", i)), QoS: whispeer.AtLeastOnce}
		done := make(chan error, 1)
		if err := s.Append(ctx, m, func(err error) { done <- err }); err != nil {
			t.Fatal(err)
		}
		if i == n {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	read := func(from uint64, max int, stop int) ([]*whispeer.Message, error) {
		var got []*whispeer.Message
		err := s.Read(ctx, "long", from, max, func(m *whispeer.Message) error {
			if len(got) == stop {
				return errStop
			}
			got = append(got, m)
			return nil
		})
		return got, err
	}
	check := func(got []*whispeer.Message, from uint64, want int) {
		t.Helper()
		if len(got) != want {
			t.Fatalf("read %d messages, want %d", len(got), want)
		}
		for i, m := range got {
			seq := from + uint64(i)
			if m.Seq != seq || m.ID != fmt.Sprint("id-", seq) || string(m.Payload) != fmt.Sprint("p-", seq) {
				t.Fatalf("message %d: seq %d id %q payload %q, want seq %d", i, m.Seq, m.ID, m.Payload, seq)
			}
		}
	}
	got, err := read(1, 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	check(got, 1, n)
	got, err = read(700, 2500, -1)
	if err != nil {
		t.Fatal(err)
	}
	check(got, 700, 2500)
	got, err = read(1, 0, 1500)
	if !errors.Is(err, errStop) {
		t.Fatalf("Read returned %v, want the handler's error", err)
	}
	check(got, 1, 1500)

	// Rows gone before the store knows it, as in the moment after a trim
	// commits: a limited read skips them and still returns its limit.
	db, err := sql.Open("sqlite", filepath.Join(dir, "whispeer.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM messages WHERE off <= 5`); err != nil {
		t.Fatal(err)
	}
	got, err = read(1, 20, -1)
	if err != nil {
		t.Fatal(err)
	}
	check(got, 6, 20)
}

var errStop = errors.New("stop")
