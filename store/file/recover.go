package file

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
	"github.com/whispeer-io/whispeer/store/internal/record"
)

// position is a place in the log.
type position struct {
	seg uint32
	pos int64
}

func (p position) before(q position) bool { return p.seg < q.seg || p.seg == q.seg && p.pos < q.pos }

// recover loads the checkpoint, opens the segments, rebuilds the index and
// cuts a torn tail; it runs before the store is shared.
func (s *Store) recover() error {
	covered, err := s.readCheckpoint()
	if errors.Is(err, fs.ErrNotExist) {
		s.topics.ID, covered = epoch.New(), position{seg: 1}
		err = s.writeCheckpoint(covered)
	}
	if err != nil {
		return err
	}
	ids, err := segmentIDs(s.dir)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		seg, err := s.createSegment(1)
		if err != nil {
			return err
		}
		s.segs[1], s.active = seg, seg
		return nil
	}
	for i, id := range ids {
		f, err := os.OpenFile(segmentPath(s.dir, id), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		seg := &segment{id: id, f: f}
		s.segs[id], s.active = seg, seg
		if err := s.scan(seg, covered, i == len(ids)-1); err != nil {
			return err
		}
	}
	s.fillHoles()
	if s.obsoleteLocked() {
		return s.compactLocked()
	}
	return nil
}

// segmentIDs lists the segments in dir, oldest first.
func segmentIDs(dir string) ([]uint32, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ids []uint32
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 32)
		if err != nil || id == 0 {
			continue
		}
		ids = append(ids, uint32(id))
	}
	slices.Sort(ids)
	return ids, nil
}

// scan reads a segment's records: it indexes the messages, and applies
// everything else from the checkpoint's position on. A damaged stretch is
// reported and skipped: reading resumes at the next frame that checks out
// (record.Resync). One that runs to the end of the last segment is a torn
// tail, left by a write the process or machine did not finish: it is cut
// off.
func (s *Store) scan(seg *segment, covered position, last bool) error {
	path := segmentPath(s.dir, seg.id)
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var pos int64
	for pos < int64(len(data)) {
		body, n, err := record.Next(data[pos:])
		if err == nil {
			if err = s.apply(seg, pos, n, body, !(position{seg.id, pos}).before(covered)); err != nil {
				s.skipped(path, pos, int64(n), err) // a whole frame that makes no sense here
				pos += int64(n)
				continue
			}
			pos += int64(n)
			continue
		}
		next := int64(record.Resync(data[pos:]))
		if next < 0 && last {
			return s.cutTail(seg, path, pos, int64(len(data))-pos, err)
		}
		if next < 0 {
			next = int64(len(data)) - pos
		}
		s.skipped(path, pos, next, err)
		pos += next
	}
	seg.size = pos
	return nil
}

// skipped reports n damaged bytes at pos of the segment at path, which
// recovery skips.
func (s *Store) skipped(path string, pos, n int64, err error) {
	s.corrupt.Add(1)
	s.damaged = true
	s.skippedBytes += n
	s.opt.logger.Error("whispeer: file store: damaged records skipped; the messages in them are lost, those after them kept",
		"file", path, "offset", pos, "bytes", n, "error", err)
}

// cutTail cuts the torn tail of n bytes at pos off the last segment.
func (s *Store) cutTail(seg *segment, path string, pos, n int64, why error) error {
	s.opt.logger.Warn("whispeer: file store: torn record at the end of the log cut off",
		"file", path, "offset", pos, "bytes", n, "error", why)
	if err := seg.f.Truncate(pos); err != nil {
		return err
	}
	if err := seg.f.Sync(); err != nil {
		return err
	}
	seg.size = pos
	return nil
}

// apply replays one record found at pos in seg; after says whether it
// comes after the checkpoint.
func (s *Store) apply(seg *segment, pos int64, n int, body []byte, after bool) error {
	if len(body) == 0 {
		return record.ErrFormat
	}
	if body[0] == record.KindMessage {
		return s.applyMessage(seg, pos, n, body, after)
	}
	if !after {
		return nil
	}
	d := record.NewDecoder(body[1:])
	switch body[0] {
	case record.KindTrim:
		ep, first, name := d.U64(), d.U64(), d.String()
		if t := s.topics.Get(name); !d.Failed() && t != nil && t.epoch == ep && first > t.first {
			k := int(min(first-t.first, uint64(len(t.locs))))
			s.release(t, t.locs[:k])
			t.locs, t.first = t.locs[k:], first
		}
	case record.KindDelete:
		ep, name := d.U64(), d.String()
		if t := s.topics.Get(name); t != nil {
			s.release(t, t.locs)
		}
		s.topics.Put(name, newTopic(name, ep))
	case record.KindCursor:
		c := whispeer.Cursor{Epoch: d.U64(), Offset: d.U64(), Subscriber: d.String(), Topic: d.String()}
		var saved int64
		if d.Len() > 0 { // written since cursors have a time
			saved = int64(d.U64())
		}
		if c.Epoch == 0 { // deleted
			delete(s.cursors, cursorKey{c.Subscriber, c.Topic})
		} else {
			s.cursors[cursorKey{c.Subscriber, c.Topic}] = savedCursor{c, saved}
		}
	default:
		return record.ErrFormat
	}
	if d.Failed() {
		return record.ErrFormat
	}
	return nil
}

// applyMessage indexes a message record. Before the checkpoint it only
// fills the index of messages the checkpoint says are kept.
//
// Once a damaged stretch was skipped, the messages in it are missing: a
// message past a gap in its topic's offsets leaves holes in the index for
// them, and one of a new epoch means the topic's deletion was lost. A gap
// wider than the skipped bytes could have held is no such loss but a
// frame found inside a damaged record's payload, which a publisher can
// shape as a record of its own: it is refused.
func (s *Store) applyMessage(seg *segment, pos int64, n int, body []byte, after bool) error {
	m, err := record.DecodeMessage(body, "")
	if err != nil {
		return err
	}
	t := s.topics.Get(m.Topic)
	if !after {
		if t == nil || t.epoch != m.Epoch || m.Seq < t.first+uint64(len(t.locs)) || m.Seq > t.last {
			return nil
		}
	} else {
		renewed := t != nil && t.epoch != m.Epoch && s.damaged
		if t == nil || renewed {
			if err := s.takeHoles(m.Topic, 0, m.Seq); err != nil {
				return err
			}
			if renewed {
				s.release(t, t.locs)
			}
			t = newTopic(m.Topic, m.Epoch)
			s.topics.Put(m.Topic, t)
		} else if t.epoch != m.Epoch || m.Seq <= t.last || m.Seq != t.last+1 && !s.damaged {
			return fmt.Errorf("%w: %q offset %d of epoch %x follows offset %d of epoch %x",
				whispeer.ErrCorrupt, m.Topic, m.Seq, m.Epoch, t.last, t.epoch)
		} else if err := s.takeHoles(m.Topic, t.last, m.Seq); err != nil {
			return err
		}
		t.last = m.Seq
	}
	if want := t.first + uint64(len(t.locs)); m.Seq != want {
		if m.Seq < want || !s.damaged {
			return fmt.Errorf("%w: %q offset %d where %d was expected", whispeer.ErrCorrupt, m.Topic, m.Seq, want)
		}
		t.addHoles(m.Seq - want)
	}
	t.locs = append(t.locs, loc{seg: seg.id, pos: uint32(pos), len: uint32(n), psize: uint32(len(m.Payload))})
	t.bytes += int64(len(m.Payload))
	seg.live++
	return nil
}

// takeHoles accounts for the messages lost between offsets last and seq
// of topic name, which the bytes skipped so far must have been able to
// hold.
func (s *Store) takeHoles(name string, last, seq uint64) error {
	gap := seq - last - 1
	if gap == 0 {
		return nil
	}
	if room := uint64(s.skippedBytes/record.MinMessageLen) - s.holesLeft; gap > room {
		return fmt.Errorf("%w: %q offset %d follows offset %d: more messages missing than the damaged bytes held",
			whispeer.ErrCorrupt, name, seq, last)
	}
	s.holesLeft += gap
	return nil
}

// addHoles adds n holes at the end of t's index.
func (t *topic) addHoles(n uint64) {
	for range n {
		t.locs = append(t.locs, loc{})
	}
	t.holes += int(n)
}

// fillHoles completes the index of every topic up to its last offset
// once the log is read: the messages the checkpoint counts that no
// segment held any more were lost in a damaged stretch, or are missing
// without one, which is reported too. Holes that lead an index go
// (dropFront).
func (s *Store) fillHoles() {
	for name, t := range s.topics.All() {
		have := t.first + uint64(len(t.locs))
		if have > t.last {
			continue
		}
		if !s.damaged {
			s.corrupt.Add(1)
			s.damaged = true
			s.opt.logger.Error("whispeer: file store: messages missing from the log", "topic", name,
				"from", have, "to", t.last)
		}
		t.addHoles(t.last + 1 - have)
	}
	for _, t := range s.topics.All() {
		s.dropFront(t, 0)
	}
}

// obsoleteLocked reports whether a segment other than the active one
// holds no kept message; s.mu is held.
func (s *Store) obsoleteLocked() bool {
	for _, seg := range s.segs {
		if seg != s.active && seg.live == 0 {
			return true
		}
	}
	return false
}

// compact writes a checkpoint, then removes the segments that hold no kept
// message.
func (s *Store) compact() error {
	s.segMu.Lock()
	defer s.segMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics.Closed() {
		return nil
	}
	return s.compactLocked()
}

// compactLocked is compact with segMu (or exclusive use) and mu held.
func (s *Store) compactLocked() error {
	if err := s.writeBufferLocked(); err != nil {
		return err
	}
	if err := s.active.f.Sync(); err != nil {
		return s.topics.Fail(fmt.Errorf("sync: %w", err))
	}
	if err := s.writeCheckpoint(position{s.active.id, s.active.size}); err != nil {
		return err
	}
	for id, seg := range s.segs {
		if seg != s.active && seg.live == 0 {
			seg.f.Close()
			if err := os.Remove(segmentPath(s.dir, id)); err != nil {
				return fmt.Errorf("remove segment: %w", err)
			}
			delete(s.segs, id)
		}
	}
	return syncDir(s.dir)
}

// writeCheckpoint saves the store's id, topics and cursors as of
// position p, replacing the checkpoint atomically.
func (s *Store) writeCheckpoint(p position) error {
	b, start := record.Begin(nil)
	b = appendU64s(append(b, record.KindCheckpoint), s.topics.ID, uint64(p.seg), uint64(p.pos), uint64(s.topics.Len()))
	for name, t := range s.topics.All() {
		b = appendU64s(record.AppendString(b, name), t.epoch, t.first, t.last)
	}
	b = appendU64s(b, uint64(len(s.cursors)))
	saved := make([]int64, 0, len(s.cursors))
	for _, sc := range s.cursors {
		c := sc.c
		b = record.AppendString(record.AppendString(b, c.Subscriber), c.Topic)
		b = appendU64s(b, c.Epoch, c.Offset)
		saved = append(saved, sc.saved)
	}
	for _, t := range saved { // after the cursors, which came first
		b = appendU64s(b, uint64(t))
	}
	b = record.End(b, start)
	tmp := filepath.Join(s.dir, "checkpoint.tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, "checkpoint"))
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return syncDir(s.dir)
}

// readCheckpoint loads the checkpoint and returns the position it covers.
func (s *Store) readCheckpoint() (position, error) {
	data, err := os.ReadFile(filepath.Join(s.dir, "checkpoint"))
	if err != nil {
		return position{}, err
	}
	body, _, err := record.Next(data)
	if err != nil || len(body) == 0 || body[0] != record.KindCheckpoint {
		return position{}, fmt.Errorf("%w: checkpoint: %v", whispeer.ErrCorrupt, err)
	}
	d := record.NewDecoder(body[1:])
	s.topics.ID = d.U64()
	p := position{seg: uint32(d.U64()), pos: int64(d.U64())}
	for n := d.U64(); n > 0 && !d.Failed(); n-- {
		name := d.String()
		s.topics.Put(name, &topic{epoch: d.U64(), first: d.U64(), last: d.U64()})
	}
	var keys []cursorKey
	for n := d.U64(); n > 0 && !d.Failed(); n-- {
		c := whispeer.Cursor{Subscriber: d.String(), Topic: d.String(), Epoch: d.U64(), Offset: d.U64()}
		k := cursorKey{c.Subscriber, c.Topic}
		s.cursors[k] = savedCursor{c: c}
		keys = append(keys, k)
	}
	for i := 0; i < len(keys) && d.Len() > 0; i++ { // their saved times, if written
		sc := s.cursors[keys[i]]
		sc.saved = int64(d.U64())
		s.cursors[keys[i]] = sc
	}
	if d.Failed() {
		return position{}, fmt.Errorf("%w: checkpoint", whispeer.ErrCorrupt)
	}
	return p, nil
}

// Corrupt returns how many damaged stretches of the log the store has met
// since it was opened: those it skipped while opening, each logged with
// its file and offset, and records found damaged by a read since.
func (s *Store) Corrupt() uint64 { return s.corrupt.Load() }
