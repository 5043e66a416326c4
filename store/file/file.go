package file

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/groupcommit"
	"github.com/whispeer-io/whispeer/store/internal/record"
	"github.com/whispeer-io/whispeer/store/internal/topics"
)

// Store is a message log kept in a directory. Open one with Open.
type Store struct {
	dir  string
	opt  options
	lock *os.File

	segMu sync.RWMutex // see the package comment for the lock order

	mu      sync.Mutex
	topics  *topics.Index[*topic] // and whether the store is open and sound
	cursors map[cursorKey]savedCursor
	dirty   map[cursorKey]struct{} // cursors not yet written
	opened  time.Time              // the saved time of cursors written without one
	segs    map[uint32]*segment
	active  *segment
	waiters []func(error) // appends indexed, waiting for the next flush
	buf     []byte
	// wbuf holds the records at the end of the active segment not yet
	// written to its file: appends are written together, by the flush
	// that completes them or once wbuf holds maxWriteBuffer bytes.
	wbuf []byte

	corrupt atomic.Uint64 // damaged stretches skipped; see Corrupt
	damaged bool          // recovery skipped one: offsets may have gaps
	// What recovery skipped, in bytes, and the holes it left for
	// messages lost in it, which are at most skippedBytes /
	// record.MinMessageLen.
	skippedBytes int64
	holesLeft    uint64

	// loop syncs what was written, and completes the appends it covers,
	// each time it is signalled (under SyncEvery, once the interval has
	// passed or a full batch waits), until Close.
	loop *groupcommit.Loop
}

// topic is the index of one topic's log.
type topic struct {
	epoch       uint64
	first, last uint64 // offsets of the oldest kept and of the newest message
	locs        []loc  // where messages first..last are
	holes       int    // how many of locs are holes
	bytes       int64
}

// loc is where a message's record is; a hole (len 0) stands for a message
// lost in a damaged stretch of the log.
type loc struct {
	seg, pos, len, psize uint32 // segment, position, record length, payload size
}

func (l loc) hole() bool { return l.len == 0 }

// Info describes the topic's log.
func (t *topic) Info(name string) whispeer.TopicInfo {
	return whispeer.TopicInfo{Topic: name, Epoch: t.epoch, First: t.first, Last: t.last,
		Messages: len(t.locs) - t.holes, Bytes: t.bytes}
}

func newTopic(_ string, epoch uint64) *topic { return &topic{epoch: epoch, first: 1} }

type segment struct {
	id   uint32
	f    *os.File
	size int64
	live int // messages in the segment still in an index
}

type cursorKey struct{ subscriber, topic string }

// savedCursor is a cursor and when it was saved, in Unix nanoseconds; 0
// for a cursor written before the store recorded the time.
type savedCursor struct {
	c     whispeer.Cursor
	saved int64
}

// Open opens the store kept in dir, creating dir if need be, and recovers
// it: a torn record at the end of the log, left by a crash in the middle
// of a write, is cut off.
func Open(dir string, opts ...Option) (*Store, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	s := &Store{
		dir: dir, opt: o, lock: lock,
		topics:  topics.New(newTopic),
		cursors: make(map[cursorKey]savedCursor),
		dirty:   make(map[cursorKey]struct{}),
		segs:    make(map[uint32]*segment),
		opened:  time.Now(),
	}
	if err := s.recover(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s.loop = groupcommit.Start(s.opt.sync, s.pending, s.flush)
	return s, nil
}

// Append writes m to the log and indexes it; done runs after the sync
// that covers it.
func (s *Store) Append(_ context.Context, m *whispeer.Message, done func(error)) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	t := s.topics.Ensure(m.Topic)
	var start int
	s.buf, start = record.Begin(s.buf[:0])
	s.buf = record.End(record.AppendMessage(s.buf, t.epoch, t.last+1, m), start)
	seg, pos, err := s.writeLocked(s.buf)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	t.last++
	m.Seq = t.last
	t.locs = append(t.locs, loc{seg: seg.id, pos: pos, len: uint32(len(s.buf)), psize: uint32(len(m.Payload))})
	t.bytes += int64(len(m.Payload))
	seg.live++
	if done != nil {
		s.waiters = append(s.waiters, done)
	}
	s.mu.Unlock()
	s.loop.Signal()
	return nil
}

// maxWriteBuffer is the most the write buffer holds before it is written.
const maxWriteBuffer = 256 << 10

// writeLocked adds rec at the end of the log, starting a new segment when
// the active one is full; s.mu is held. The record goes to the write
// buffer, and to the file with the next flush.
func (s *Store) writeLocked(rec []byte) (*segment, uint32, error) {
	if s.active.size > 0 && s.active.size+int64(len(rec)) > s.opt.segmentSize {
		if err := s.rollLocked(); err != nil {
			return nil, 0, err
		}
	}
	seg := s.active
	pos := uint32(seg.size)
	s.wbuf = append(s.wbuf, rec...)
	seg.size += int64(len(rec))
	if len(s.wbuf) >= maxWriteBuffer {
		if err := s.writeBufferLocked(); err != nil {
			return nil, 0, err
		}
	}
	return seg, pos, nil
}

// writeBufferLocked writes the write buffer at the end of the active
// segment's file, with one system call; s.mu is held. A failed write stops
// the store.
func (s *Store) writeBufferLocked() error {
	if err := s.topics.Err(); len(s.wbuf) == 0 || err != nil {
		return err
	}
	seg := s.active
	at := seg.size - int64(len(s.wbuf))
	if _, err := seg.f.WriteAt(s.wbuf, at); err != nil {
		seg.f.Truncate(at) // best effort: recovery cuts a torn record anyway
		return s.topics.Fail(fmt.Errorf("write: %w", err))
	}
	s.wbuf = s.wbuf[:0]
	if cap(s.wbuf) > 2*maxWriteBuffer {
		s.wbuf = nil
	}
	return nil
}

// rollLocked syncs the active segment and starts the next; s.mu is held.
func (s *Store) rollLocked() error {
	if err := s.writeBufferLocked(); err != nil {
		return err
	}
	if s.opt.sync != whispeer.SyncNever {
		if err := s.active.f.Sync(); err != nil {
			return s.topics.Fail(fmt.Errorf("sync: %w", err))
		}
	}
	seg, err := s.createSegment(s.active.id + 1)
	if err != nil {
		return s.topics.Fail(err)
	}
	s.segs[seg.id], s.active = seg, seg
	return nil
}

func segmentPath(dir string, id uint32) string {
	return filepath.Join(dir, fmt.Sprintf("%020d.log", id))
}

func (s *Store) createSegment(id uint32) (*segment, error) {
	f, err := os.OpenFile(segmentPath(s.dir, id), os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("new segment: %w", err)
	}
	if s.opt.sync != whispeer.SyncNever {
		if err := syncDir(s.dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	return &segment{id: id, f: f}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// pending returns how many appends wait for a sync.
func (s *Store) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}

// flush writes the pending cursors and the write buffer, syncs the active
// segment unless the policy is SyncNever, and calls the waiting appends'
// done.
func (s *Store) flush() {
	s.segMu.RLock()
	s.mu.Lock()
	s.writeCursorsLocked()
	s.writeBufferLocked()
	ws := s.waiters
	s.waiters = nil
	f, err := s.active.f, s.topics.Err()
	s.mu.Unlock()
	if err == nil && s.opt.sync != whispeer.SyncNever {
		if err = f.Sync(); err != nil {
			err = fmt.Errorf("sync: %w", err)
			s.mu.Lock()
			s.topics.Fail(err)
			s.mu.Unlock()
		}
	}
	s.segMu.RUnlock()
	for _, done := range ws {
		done(err)
	}
}

// writeCursorsLocked writes the cursors saved or deleted since the last
// flush; a deleted one is written with epoch 0, which no topic has.
func (s *Store) writeCursorsLocked() {
	for k := range s.dirty {
		sc, ok := s.cursors[k]
		if !ok {
			sc.c = whispeer.Cursor{Subscriber: k.subscriber, Topic: k.topic}
		}
		c := sc.c
		var start int
		s.buf, start = record.Begin(s.buf[:0])
		s.buf = append(s.buf, record.KindCursor)
		s.buf = appendU64s(s.buf, c.Epoch, c.Offset)
		s.buf = record.AppendString(record.AppendString(s.buf, c.Subscriber), c.Topic)
		s.buf = appendU64s(s.buf, uint64(sc.saved))
		if _, _, err := s.writeLocked(record.End(s.buf, start)); err != nil {
			return
		}
	}
	clear(s.dirty)
}

// SaveCursor records a durable subscriber's position; it is written with
// the next sync.
func (s *Store) SaveCursor(_ context.Context, c whispeer.Cursor) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	k := cursorKey{c.Subscriber, c.Topic}
	s.cursors[k] = savedCursor{c, time.Now().UnixNano()}
	s.dirty[k] = struct{}{}
	s.mu.Unlock()
	s.loop.Signal()
	return nil
}

// DeleteCursors removes a durable subscriber's saved positions; the
// deletion is written with the next sync.
func (s *Store) DeleteCursors(_ context.Context, subscriber string) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	for k := range s.cursors {
		if k.subscriber == subscriber {
			delete(s.cursors, k)
			s.dirty[k] = struct{}{}
		}
	}
	s.mu.Unlock()
	s.loop.Signal()
	return nil
}

// LoadCursor returns a durable subscriber's saved position.
func (s *Store) LoadCursor(_ context.Context, subscriber, topic string) (whispeer.Cursor, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.topics.Closed() {
		return whispeer.Cursor{}, false, whispeer.ErrStoreClosed
	}
	sc, ok := s.cursors[cursorKey{subscriber, topic}]
	return sc.c, ok, nil
}

// Cursors calls fn with every durable subscriber's saved position and
// when it was saved.
func (s *Store) Cursors(_ context.Context, fn func(whispeer.Cursor, time.Time) bool) error {
	s.mu.Lock()
	if s.topics.Closed() {
		s.mu.Unlock()
		return whispeer.ErrStoreClosed
	}
	all := slices.Collect(maps.Values(s.cursors))
	s.mu.Unlock()
	for _, sc := range all {
		saved := s.opened
		if sc.saved != 0 {
			saved = time.Unix(0, sc.saved)
		}
		if !fn(sc.c, saved) {
			break
		}
	}
	return nil
}

// Topic describes topic's log.
func (s *Store) Topic(_ context.Context, name string) (whispeer.TopicInfo, error) {
	return s.topics.Info(&s.mu, name)
}

// Topics calls fn with every topic's name.
func (s *Store) Topics(_ context.Context, fn func(string) bool) error {
	return s.topics.Names(&s.mu, fn)
}

// Close syncs the log, completes every pending append and closes the
// files.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.topics.Close() {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.loop.Stop()
	s.segMu.Lock()
	defer s.segMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writeBufferLocked()
	err := s.topics.Err()
	if serr := s.active.f.Sync(); serr != nil && err == nil {
		err = serr
	}
	s.closeFiles()
	return err
}

// closeFiles closes the segments and releases the directory.
func (s *Store) closeFiles() {
	for _, seg := range s.segs {
		seg.f.Close()
	}
	s.lock.Close()
}

var (
	_ whispeer.Store       = (*Store)(nil)
	_ whispeer.CursorStore = (*Store)(nil)
)
