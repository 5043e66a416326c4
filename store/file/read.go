package file

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
	"github.com/whispeer-io/whispeer/store/internal/record"
)

// A read takes up to chunkMessages messages or chunkBytes bytes from the
// index at a time.
const (
	chunkMessages = 1024
	chunkBytes    = 1 << 20
)

// Read calls fn with topic's messages from offset from on.
func (s *Store) Read(ctx context.Context, topic string, from uint64, limit int, fn func(*whispeer.Message) error) error {
	for {
		msgs, next, more, err := s.readChunk(topic, from, limit)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := fn(m); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		from = next
		if limit > 0 {
			limit -= len(msgs)
		}
	}
}

// readChunk reads the next chunk of topic's messages from offset from on,
// up to limit of them (no limit when limit <= 0); it returns the offset
// the next chunk starts at and whether there are more. Holes are skipped.
func (s *Store) readChunk(topic string, from uint64, limit int) ([]*whispeer.Message, uint64, bool, error) {
	s.segMu.RLock()
	defer s.segMu.RUnlock()
	s.mu.Lock()
	if s.topics.Closed() {
		s.mu.Unlock()
		return nil, 0, false, whispeer.ErrStoreClosed
	}
	t := s.topics.Get(topic)
	if t == nil || from > t.last || len(t.locs) == 0 {
		s.mu.Unlock()
		return nil, 0, false, nil
	}
	i := int(max(from, t.first) - t.first)
	n, msgs, size := 0, 0, 0
	for i+n < len(t.locs) && n < chunkMessages && (limit <= 0 || msgs < limit) && (n == 0 || size < chunkBytes) {
		if !t.locs[i+n].hole() {
			size += int(t.locs[i+n].len)
			msgs++
		}
		n++
	}
	locs := append([]loc(nil), t.locs[i:i+n]...)
	files := make([]*os.File, n)
	for j, l := range locs {
		if !l.hole() {
			files[j] = s.segs[l.seg].f
		}
	}
	more := i+n < len(t.locs) && (limit <= 0 || msgs < limit)
	first := t.first + uint64(i)
	err := s.writeBufferLocked() // the records read may be in it
	s.mu.Unlock()
	if err != nil {
		return nil, 0, false, err
	}
	read, err := s.readLocs(topic, first, locs, files)
	return read, first + uint64(n), more, err
}

// readLocs reads and decodes the records at locs, one read per run of
// adjacent records, skipping holes; the first has offset first. A record
// damaged since the store was opened is an error wrapping
// whispeer.ErrCorrupt, and counted.
func (s *Store) readLocs(topic string, first uint64, locs []loc, files []*os.File) ([]*whispeer.Message, error) {
	msgs := make([]*whispeer.Message, 0, len(locs))
	for i := 0; i < len(locs); {
		if locs[i].hole() {
			i++
			continue
		}
		j := i + 1
		for j < len(locs) && locs[j].seg == locs[i].seg && locs[j].pos == locs[j-1].pos+locs[j-1].len {
			j++
		}
		end := locs[j-1].pos + locs[j-1].len
		buf := make([]byte, end-locs[i].pos)
		if _, err := files[i].ReadAt(buf, int64(locs[i].pos)); err != nil {
			return nil, fmt.Errorf("read segment %d: %w", locs[i].seg, err)
		}
		for k := i; k < j; k++ {
			off := locs[k].pos - locs[i].pos
			m, err := decodeAt(buf[off:off+locs[k].len], topic, first+uint64(k))
			if err != nil {
				s.corrupt.Add(1)
				path := segmentPath(s.dir, locs[k].seg)
				s.opt.logger.Error("whispeer: file store: damaged record read", "file", path,
					"offset", locs[k].pos, "topic", topic, "seq", first+uint64(k), "error", err)
				return nil, fmt.Errorf("%w: %s at %d: %w", whispeer.ErrCorrupt, path, locs[k].pos, err)
			}
			msgs = append(msgs, m)
		}
		i = j
	}
	return msgs, nil
}

func decodeAt(frame []byte, topic string, offset uint64) (*whispeer.Message, error) {
	body, _, err := record.Next(frame)
	if err != nil {
		return nil, err
	}
	m, err := record.DecodeMessage(body, topic)
	if err != nil {
		return nil, err
	}
	if m.Topic != topic || m.Seq != offset {
		return nil, fmt.Errorf("found %q offset %d, want %q offset %d", m.Topic, m.Seq, topic, offset)
	}
	return m.Message, nil
}

// Trim removes topic's oldest messages until it is within r.
func (s *Store) Trim(_ context.Context, name string, r whispeer.Retention) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	t := s.topics.Get(name)
	if t == nil {
		s.mu.Unlock()
		return nil
	}
	k, err := s.trimCount(t, r)
	if err == nil && k > 0 {
		err = s.dropLocked(name, t, k)
	}
	obsolete := s.obsoleteLocked()
	s.mu.Unlock()
	s.loop.Signal() // the next sync covers the record
	if err == nil && obsolete {
		err = s.compact()
	}
	return err
}

// trimCount returns how many of t's oldest messages r removes; s.mu is
// held.
func (s *Store) trimCount(t *topic, r whispeer.Retention) (int, error) {
	k := 0
	if r.MaxMessages > 0 { // holes are no messages: they go with the oldest
		for excess := len(t.locs) - t.holes - r.MaxMessages; excess > 0; k++ {
			if !t.locs[k].hole() {
				excess--
			}
		}
	}
	bytes := t.bytes
	for _, l := range t.locs[:k] {
		bytes -= int64(l.psize)
	}
	for r.MaxBytes > 0 && bytes > r.MaxBytes && k < len(t.locs) {
		bytes -= int64(t.locs[k].psize)
		k++
	}
	if r.MaxAge <= 0 || k == len(t.locs) {
		return k, nil
	}
	cutoff := time.Now().Add(-r.MaxAge).UnixNano()
	var err error
	n := sort.Search(len(t.locs)-k, func(i int) bool {
		j := k + i
		for j < len(t.locs) && t.locs[j].hole() { // a hole is as old as the next message
			j++
		}
		if j == len(t.locs) {
			return true
		}
		ts, terr := s.timeAt(t.locs[j])
		if terr != nil {
			err = terr
			return true
		}
		return ts >= cutoff
	})
	return k + n, err
}

// timeAt reads the time of the message at l; s.mu is held, which keeps
// segments from being removed.
func (s *Store) timeAt(l loc) (int64, error) {
	if err := s.writeBufferLocked(); err != nil {
		return 0, err
	}
	var b [record.TimeOffset + 8]byte
	if _, err := s.segs[l.seg].f.ReadAt(b[:], int64(l.pos)); err != nil {
		return 0, fmt.Errorf("read segment %d: %w", l.seg, err)
	}
	return int64(binary.LittleEndian.Uint64(b[record.TimeOffset:])), nil
}

// dropLocked removes t's k oldest messages from the index and logs the
// trim; s.mu is held.
func (s *Store) dropLocked(name string, t *topic, k int) error {
	s.dropFront(t, k)
	var start int
	s.buf, start = record.Begin(s.buf[:0])
	s.buf = appendU64s(append(s.buf, record.KindTrim), t.epoch, t.first)
	s.buf = record.End(record.AppendString(s.buf, name), start)
	_, _, err := s.writeLocked(s.buf)
	return err
}

// Delete removes topic's messages and gives it a new epoch.
func (s *Store) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	if t := s.topics.Get(name); t != nil {
		s.release(t, t.locs)
	}
	t := newTopic(name, epoch.New())
	s.topics.Put(name, t)
	var start int
	s.buf, start = record.Begin(s.buf[:0])
	s.buf = appendU64s(append(s.buf, record.KindDelete), t.epoch)
	s.buf = record.End(record.AppendString(s.buf, name), start)
	_, _, err := s.writeLocked(s.buf)
	obsolete := s.obsoleteLocked()
	s.mu.Unlock()
	s.loop.Signal() // the next sync covers the record
	if err == nil && obsolete {
		err = s.compact()
	}
	return err
}

// dropFront removes t's k oldest messages from the index, and the holes
// that would then lead it: they stand for messages older than the oldest
// kept, so the first offset, which a checkpoint keeps, is a message's,
// found in a segment that is still there when the store is next opened.
// s.mu is held, or recovery runs.
func (s *Store) dropFront(t *topic, k int) {
	for k < len(t.locs) && t.locs[k].hole() {
		k++
	}
	s.release(t, t.locs[:k])
	t.locs = t.locs[k:]
	t.first += uint64(k)
}

// release takes locs, the oldest of t's index or all of it, out of the
// counts: their segments' live messages, t's bytes and holes. s.mu is
// held, or recovery runs.
func (s *Store) release(t *topic, locs []loc) {
	for _, l := range locs {
		if l.hole() {
			t.holes--
			continue
		}
		s.segs[l.seg].live--
		t.bytes -= int64(l.psize)
	}
}

func appendU64s(dst []byte, vs ...uint64) []byte {
	for _, v := range vs {
		dst = binary.LittleEndian.AppendUint64(dst, v)
	}
	return dst
}
