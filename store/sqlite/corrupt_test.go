package sqlite_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/sqlite"
	"github.com/whispeer-io/whispeer/store/storetest"
)

// TestStore_DamagedPayload flips a byte of a stored payload in the
// database file, which SQLite serves as it is: the store's read refuses
// it with an error wrapping ErrCorrupt, logs it and counts it, and still
// serves the intact messages around it.
func TestStore_DamagedPayload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "whispeer.db")
	s, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	marker := []byte("a payload nothing else contains, to find it in the file")
	for i, p := range [][]byte{[]byte("before"), marker, []byte("after")} {
		m := &whispeer.Message{Topic: "t", ID: string(rune('a' + i)), Payload: p}
		appendWait(t, s, m)
	}
	if err := s.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(data, marker)
	if at < 0 || bytes.Contains(data[at+1:], marker) {
		t.Fatalf("the payload is not in the database file once: %d", at)
	}
	data[at+10] ^= 0x01
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}

	var log storetest.LogBuffer
	s, err = sqlite.Open(path, sqlite.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var served []string
	err = s.Read(ctx, "t", 1, 0, func(m *whispeer.Message) error {
		served = append(served, string(m.Payload))
		return nil
	})
	if !errors.Is(err, whispeer.ErrCorrupt) {
		t.Fatalf("Read of a damaged payload: %v, served %q; want ErrCorrupt", err, served)
	}
	if s.Corrupt() != 1 || !strings.Contains(log.String(), "offset=2") || !strings.Contains(log.String(), "level=ERROR") {
		t.Fatalf("Corrupt() = %d, log:\n%s", s.Corrupt(), log.String())
	}
	for _, off := range []uint64{1, 3} {
		var got []*whispeer.Message
		if err := s.Read(ctx, "t", off, 1, func(m *whispeer.Message) error { got = append(got, m); return nil }); err != nil || len(got) != 1 {
			t.Fatalf("Read of intact offset %d: %d messages, %v", off, len(got), err)
		}
	}
}
