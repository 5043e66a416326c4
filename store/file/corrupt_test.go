package file_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/file"
	"github.com/whispeer-io/whispeer/store/internal/record"
	"github.com/whispeer-io/whispeer/store/storetest"
)

// openLogged opens the store in dir with its log going to a buffer.
func openLogged(t *testing.T, dir string, opts ...file.Option) (*file.Store, *storetest.LogBuffer) {
	t.Helper()
	var log storetest.LogBuffer
	return open(t, dir, append(opts, file.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))...), &log
}

// fill appends messages 1..n of topic t and closes the store, returning
// where each message's record starts in the first segment.
func fill(t *testing.T, dir string, n int, opts ...file.Option) []int64 {
	t.Helper()
	s := open(t, dir, opts...)
	for i := 1; i <= n; i++ {
		if err := s.Append(context.Background(), storetest.Message("t", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return recordStarts(t, dir)
}

// recordStarts returns where each record of the first segment in dir
// starts.
func recordStarts(t *testing.T, dir string) []int64 {
	t.Helper()
	data, err := os.ReadFile(segPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	var starts []int64
	for pos := 0; pos < len(data); pos += 8 + int(binary.LittleEndian.Uint32(data[pos:])) {
		starts = append(starts, int64(pos))
	}
	return starts
}

func segPath(dir string, id int) string { return filepath.Join(dir, fmt.Sprintf("%020d.log", id)) }

// flip inverts the byte at pos of the segment at path.
func flip(t *testing.T, path string, pos int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[pos] ^= 0xff
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkAllBut checks that s holds messages 1..n of topic t but those in
// lost, which are skipped, and that the next append gets offset n+1.
func checkAllBut(t *testing.T, s *file.Store, n int, lost ...int) {
	t.Helper()
	ctx := context.Background()
	gone := map[int]bool{}
	for _, i := range lost {
		gone[i] = true
	}
	var got []*whispeer.Message
	if err := s.Read(ctx, "t", 1, 0, func(m *whispeer.Message) error { got = append(got, m); return nil }); err != nil {
		t.Fatalf("Read: %v", err)
	}
	k := 0
	for i := 1; i <= n; i++ {
		if gone[i] {
			continue
		}
		if k == len(got) {
			t.Fatalf("read %d messages, want %d: %d and after are missing", len(got), n-len(lost), i)
		}
		want := storetest.Message("t", i)
		want.Seq, want.Time = uint64(i), got[k].Time
		if d := storetest.Same(got[k], want); d != "" {
			t.Fatalf("message %d: %s", i, d)
		}
		k++
	}
	if k != len(got) {
		t.Fatalf("read %d messages, want %d", len(got), k)
	}
	if info, _ := s.Topic(ctx, "t"); info.Last != uint64(n) || info.Messages != n-len(lost) {
		t.Fatalf("Topic = %+v, want Last %d, %d messages", info, n, n-len(lost))
	}
	if m := storetest.Message("t", n+1); s.Append(ctx, m, nil) != nil || m.Seq != uint64(n+1) {
		t.Fatalf("Append after recovery: offset %d, want %d", m.Seq, n+1)
	}
}

// TestStore_FlippedByte flips one byte in a record of the active segment:
// reopening reports it (log naming the file and offset, Corrupt) and
// keeps every message after it, each time the store is opened.
func TestStore_FlippedByte(t *testing.T) {
	for _, tt := range []struct {
		name string
		at   int64 // into the damaged record
	}{
		{"payload", 60},
		{"length", 1}, // the next frame is found by scanning for it
		{"checksum", 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const n = 3009
			dir := t.TempDir()
			starts := fill(t, dir, n)
			flip(t, segPath(dir, 1), starts[1499]+tt.at) // message 1500
			for round := range 2 {
				s, log := openLogged(t, dir)
				if got := s.Corrupt(); got != 1 {
					t.Errorf("round %d: Corrupt() = %d, want 1", round, got)
				}
				want := fmt.Sprintf("file=%s offset=%d", segPath(dir, 1), starts[1499])
				if !strings.Contains(log.String(), want) || !strings.Contains(log.String(), "level=ERROR") {
					t.Errorf("round %d: the log does not name the damaged record (%s):\n%s", round, want, log)
				}
				checkAllBut(t, s, n+round, 1500)
				s.Close()
			}
		})
	}
}

// TestStore_DamageInOlderSegment damages a segment before the last: the
// store opens, reports it and keeps what surrounds it.
func TestStore_DamageInOlderSegment(t *testing.T) {
	dir := t.TempDir()
	starts := fill(t, dir, 40, file.WithSegmentSize(512))
	flip(t, segPath(dir, 1), starts[1]+20) // message 2
	s, log := openLogged(t, dir)
	defer s.Close()
	if s.Corrupt() != 1 || !strings.Contains(log.String(), segPath(dir, 1)) {
		t.Fatalf("Corrupt() = %d, log:\n%s", s.Corrupt(), log)
	}
	checkAllBut(t, s, 40, 2)
	ctx := context.Background()
	if err := s.Trim(ctx, "t", whispeer.Retention{MaxMessages: 40}); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Topic(ctx, "t"); info.Messages != 40 || info.First != 1 {
		t.Fatalf("after keeping 40 of 40 messages: %+v", info)
	}
	if err := s.Trim(ctx, "t", whispeer.Retention{MaxMessages: 38}); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Topic(ctx, "t"); info.Messages != 38 || info.First != 4 {
		t.Fatalf("after keeping 38 of 40 messages, offset 2 lost: %+v, want First 4", info)
	}
}

// TestStore_TornTailLogged cuts the last record short: it is cut off as
// a torn write, logged as a warning, not counted as damage.
func TestStore_TornTailLogged(t *testing.T) {
	dir := t.TempDir()
	fill(t, dir, 10)
	st, err := os.Stat(segPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(segPath(dir, 1), st.Size()-5); err != nil {
		t.Fatal(err)
	}
	s, log := openLogged(t, dir)
	defer s.Close()
	if s.Corrupt() != 0 || !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "torn") {
		t.Fatalf("Corrupt() = %d, log:\n%s", s.Corrupt(), log)
	}
	checkAllBut(t, s, 9)
}

// TestStore_DamagedRecordHoldingAFrame damages the record of a message
// whose payload is itself a well-formed message record of the same topic,
// as any publisher can send, and which a scan for the next frame past the
// damage would find first. Where the damaged record's length still leads
// to a frame that checks out, recovery resumes there, past the payload;
// where the length itself is damaged and the scan finds the frame, a gap
// in offsets larger than the damaged bytes could have held is no lost
// stretch of messages: the frame is skipped, and neither claims memory for
// its holes nor hides the intact messages after it.
func TestStore_DamagedRecordHoldingAFrame(t *testing.T) {
	for _, tt := range []struct {
		name    string
		at      int64  // into the damaged record
		seq     uint64 // of the frame in its payload
		otherEp bool   // the frame's epoch is not the topic's
	}{
		{"checksum", 5, 11, true},
		{"payload", 70, 11, true},
		{"length", 1, 1 << 20, false},
		{"length, another epoch", 1, 1 << 20, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const n, hostile = 20, 10
			dir := t.TempDir()
			s := open(t, dir)
			ctx := context.Background()
			for i := 1; i <= n; i++ {
				m := storetest.Message("t", i)
				if i == hostile {
					info, err := s.Topic(ctx, "t")
					if err != nil {
						t.Fatal(err)
					}
					if tt.otherEp {
						info.Epoch++
					}
					b, at := record.Begin(nil)
					frame := record.End(record.AppendMessage(b, info.Epoch, tt.seq, storetest.Message("t", 1)), at)
					m.Payload = append(bytes.Repeat([]byte{'x'}, 64), frame...)
				}
				if err := s.Append(ctx, m, nil); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			flip(t, segPath(dir, 1), recordStarts(t, dir)[hostile-1]+tt.at)
			s, log := openLogged(t, dir)
			defer s.Close()
			if s.Corrupt() == 0 || !strings.Contains(log.String(), "level=ERROR") {
				t.Errorf("Corrupt() = %d, log:\n%s", s.Corrupt(), log)
			}
			checkAllBut(t, s, n, hostile)
		})
	}
}

// TestStore_HoleFirstAfterCompaction damages the last message of the
// first segment, then trims every message before it, so that the hole
// leads the topic and the segment, holding no message any more, is
// removed: the trim takes the hole too, and the next opening, which meets
// no damage, keeps every message after it and reports nothing.
func TestStore_HoleFirstAfterCompaction(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	starts := fill(t, dir, n, file.WithSegmentSize(512))
	hole := len(starts) // the first segment's last message
	flip(t, segPath(dir, 1), starts[hole-1]+20)
	s, _ := openLogged(t, dir, file.WithSegmentSize(512))
	ctx := context.Background()
	if err := s.Trim(ctx, "t", whispeer.Retention{MaxMessages: n - hole}); err != nil {
		t.Fatal(err)
	}
	if info, _ := s.Topic(ctx, "t"); info.First != uint64(hole+1) || info.Messages != n-hole {
		t.Fatalf("after the trim: %+v, want First %d, %d messages", info, hole+1, n-hole)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(segPath(dir, 1)); err == nil {
		t.Fatal("the first segment, holding no message, was not removed")
	}
	for round := range 2 {
		s, log := openLogged(t, dir, file.WithSegmentSize(512))
		var got []uint64
		if err := s.Read(ctx, "t", 1, 0, func(m *whispeer.Message) error { got = append(got, m.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != n-hole || got[0] != uint64(hole+1) || s.Corrupt() != 0 {
			t.Fatalf("round %d: read offsets %v, want %d to %d; Corrupt() = %d, log:\n%s", round, got, hole+1, n, s.Corrupt(), log)
		}
		s.Close()
	}
}

// TestStore_DamagedSegmentRemoved damages every record of the first
// segment: the opening that finds it keeps what follows and removes the
// segment, which holds no message; the next opening, which meets no
// damage, keeps the same messages and reports nothing.
func TestStore_DamagedSegmentRemoved(t *testing.T) {
	const n = 40
	dir := t.TempDir()
	lost := len(fill(t, dir, n, file.WithSegmentSize(512)))
	data, err := os.ReadFile(segPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] ^= 0x5a
	}
	if err := os.WriteFile(segPath(dir, 1), data, 0o600); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s, log := openLogged(t, dir, file.WithSegmentSize(512))
		var got []uint64
		if err := s.Read(context.Background(), "t", 1, 0, func(m *whispeer.Message) error { got = append(got, m.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if corrupt := s.Corrupt(); len(got) != n-lost || got[0] != uint64(lost+1) || corrupt != uint64(1-round) {
			t.Fatalf("round %d: read offsets %v, want %d to %d; Corrupt() = %d, log:\n%s", round, got, lost+1, n, corrupt, log)
		}
		s.Close()
	}
	if _, err := os.Stat(segPath(dir, 1)); err == nil {
		t.Fatal("the damaged segment, holding no message, was not removed")
	}
}
