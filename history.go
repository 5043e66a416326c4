package whispeer

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/msgid"
)

// MemoryStore is a [Store] that keeps its log in memory: the history
// survives subscribers coming and going, not the process. Each MemoryStore
// draws new epochs for its topics, so a subscriber resuming after a restart
// learns that it may have missed messages. It keeps durable subscribers'
// cursors too ([CursorStore]).
//
// A broker given no store ([WithStore]) keeps one of its own, bounded to
// the last messages of every topic ([WithHistory]); [NewMemoryStore] makes
// one to give a broker, or to use on its own. It differs from the stores on
// disk in what it keeps (gone with the process) and, as the broker's own
// history, in how a topic appends: with its ring at hand under the topic's
// lock (see topicLog), at no allocation per message once the ring is full.
//
// A MemoryStore is safe for concurrent use; callbacks run with no lock
// held. One made by NewMemoryStore keeps the *Message Append is given (a
// copy of one lent to it) and Read hands that same pointer out, so neither
// side may modify it; the broker's own history keeps copies in entries it
// reuses, and Read hands out copies.
type MemoryStore struct {
	limit int          // messages kept per topic; < 0 for all, 0 for none
	keep  bool         // keep the messages appended, not copies (see ring)
	seed  maphash.Seed // derives a topic's epoch until it is deleted
	now   func() time.Time

	mu      sync.RWMutex
	topics  map[string]*ring
	cursors map[cursorKey]savedCursor
	closed  bool
}

type cursorKey struct{ subscriber, topic string }

// savedCursor is a cursor and when it was saved.
type savedCursor struct {
	c     Cursor
	saved time.Time
}

// NewMemoryStore returns an empty MemoryStore that keeps the last limit
// messages of every topic, or every message until [Retention] trims it
// when limit is 0 or less.
func NewMemoryStore(limit int) *MemoryStore {
	if limit <= 0 {
		limit = -1
	}
	h := newMemoryStore(limit, time.Now)
	h.keep = true
	return h
}

func newMemoryStore(limit int, now func() time.Time) *MemoryStore {
	return &MemoryStore{limit: limit, seed: maphash.MakeSeed(), now: now,
		topics: make(map[string]*ring), cursors: make(map[cursorKey]savedCursor)}
}

// newEpoch returns a random epoch, never 0.
func newEpoch() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand)
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// epoch returns topic's epoch as long as it is not deleted: random for
// each history, and different for each topic.
func (h *MemoryStore) epoch(topic string) uint64 { return max(maphash.String(h.seed, topic), 1) }

// open returns topic's ring, making it on the topic's first use.
func (h *MemoryStore) open(topic string) (*ring, error) { return h.openIn(topic, nil) }

// openIn is open that, when spare is not nil and topic has no ring yet,
// makes spare topic's ring: a broker hands it the ring inside the topic's
// state, so that a publish finds both on the same lines of memory.
func (h *MemoryStore) openIn(topic string, spare *ring) (*ring, error) {
	h.mu.RLock()
	r, closed := h.topics[topic], h.closed
	h.mu.RUnlock()
	if r != nil || closed {
		return r, h.check(closed)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrStoreClosed
	}
	if r = h.topics[topic]; r == nil {
		if r = spare; r == nil {
			r = new(ring)
		}
		r.limit, r.keep, r.epoch = h.limit, h.keep, h.epoch(topic)
		h.topics[topic] = r
	}
	return r, nil
}

// lookup returns topic's ring, nil if it has none.
func (h *MemoryStore) lookup(topic string) (*ring, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.topics[topic], h.check(h.closed)
}

func (h *MemoryStore) check(closed bool) error {
	if closed {
		return ErrStoreClosed
	}
	return nil
}

// Append adds m to its topic's ring; memory is as durable as it gets, so
// done is called at once.
func (h *MemoryStore) Append(ctx context.Context, m *Message, done func(error)) error {
	r, err := h.open(m.Topic)
	if err != nil {
		return err
	}
	r.add(m)
	if done != nil {
		done(nil)
	}
	return nil
}

// Read calls fn with copies of the kept messages of topic from offset from
// on.
func (h *MemoryStore) Read(ctx context.Context, topic string, from uint64, max int, fn func(*Message) error) error {
	r, err := h.lookup(topic)
	if r == nil {
		return err
	}
	for i, m := range r.read(from, max) {
		if i%256 == 255 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Topic describes topic's ring.
func (h *MemoryStore) Topic(_ context.Context, topic string) (TopicInfo, error) {
	r, err := h.lookup(topic)
	if r == nil {
		return TopicInfo{Topic: topic, Epoch: h.epoch(topic), First: 1}, err
	}
	return r.info(topic), nil
}

// Topics calls fn with the name of every topic that has a ring.
func (h *MemoryStore) Topics(_ context.Context, fn func(string) bool) error {
	h.mu.RLock()
	names, err := slices.Collect(maps.Keys(h.topics)), h.check(h.closed)
	h.mu.RUnlock()
	for _, name := range names {
		if !fn(name) {
			break
		}
	}
	return err
}

// Trim drops topic's oldest messages until it is within r.
func (h *MemoryStore) Trim(_ context.Context, topic string, r Retention) error {
	rg, err := h.lookup(topic)
	if rg != nil {
		rg.trim(r, h.now())
	}
	return err
}

// Delete empties topic's ring and gives the topic a new epoch.
func (h *MemoryStore) Delete(_ context.Context, topic string) error {
	r, err := h.open(topic)
	if err == nil {
		r.reset(newEpoch())
	}
	return err
}

// SaveCursor records a durable subscriber's position, for the life of the
// broker.
func (h *MemoryStore) SaveCursor(_ context.Context, c Cursor) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrStoreClosed
	}
	h.cursors[cursorKey{c.Subscriber, c.Topic}] = savedCursor{c, h.now()}
	return nil
}

// LoadCursor returns a durable subscriber's saved position.
func (h *MemoryStore) LoadCursor(_ context.Context, subscriber, topic string) (Cursor, bool, error) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	sc, ok := h.cursors[cursorKey{subscriber, topic}]
	return sc.c, ok, h.check(h.closed)
}

// Cursors calls fn with every durable subscriber's saved position and
// when it was saved.
func (h *MemoryStore) Cursors(_ context.Context, fn func(Cursor, time.Time) bool) error {
	h.mu.RLock()
	all, err := slices.Collect(maps.Values(h.cursors)), h.check(h.closed)
	h.mu.RUnlock()
	for _, sc := range all {
		if !fn(sc.c, sc.saved) {
			break
		}
	}
	return err
}

// DeleteCursors removes a durable subscriber's saved positions.
func (h *MemoryStore) DeleteCursors(_ context.Context, subscriber string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrStoreClosed
	}
	for k := range h.cursors {
		if k.subscriber == subscriber {
			delete(h.cursors, k)
		}
	}
	return nil
}

// Close releases the store's memory.
func (h *MemoryStore) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed, h.topics, h.cursors = true, nil, nil
	return nil
}

// ring is a topic's last messages in a [MemoryStore], up to its limit
// (all when limit < 0). It owns its entries: add copies a message into the
// entry it reuses, so a publish may lend its message (see [Message.Clone])
// even with history on, and read returns copies. A ring that keeps (a store
// given to a broker, which hands it only messages of its own) holds on to
// each message not lent and hands out that message, which nobody changes.
// last counts every message added, kept or not.
type ring struct {
	limit int
	keep  bool
	last  atomic.Uint64 // the offset of the newest message added

	mu    sync.Mutex // guards the fields below, and last's changes when limit > 0
	epoch uint64
	ents  []entry // ents[(head+i)%len(ents)] is the i-th oldest of n
	head  int
	n     int
	bytes int64
}

// append adds m under its topic's lock, as the topic's log (see topicLog):
// a message kept in memory is as durable as it gets once added, so it
// leaves done to the caller.
func (r *ring) append(_ context.Context, m *Message, _ func(error)) (*Message, chan error, error) {
	r.add(m)
	return m, nil, nil
}

// add gives m the topic's next offset and keeps a copy of it.
func (r *ring) add(m *Message) {
	if r.limit == 0 {
		m.Seq = r.last.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	m.Seq = r.last.Load() + 1
	r.last.Store(m.Seq)
	var e *entry
	switch {
	case r.n == r.limit: // full: the oldest makes room
		e = &r.ents[r.head]
		r.head = (r.head + 1) % len(r.ents)
		r.bytes -= e.size
	case r.n < len(r.ents): // room left by a trim
		e = &r.ents[(r.head+r.n)%len(r.ents)]
		r.n++
	default:
		r.grow()
		e = &r.ents[r.n]
		r.n++
	}
	e.set(m, r.keep && !m.borrowed)
	r.bytes += e.size
}

// grow adds an entry to a ring that uses all it has, oldest first.
func (r *ring) grow() {
	if r.head != 0 {
		r.ents = slices.Concat(r.ents[r.head:], r.ents[:r.head])
		r.head = 0
	}
	r.ents = append(r.ents, entry{})
}

// at returns the i-th oldest entry.
func (r *ring) at(i int) *entry { return &r.ents[(r.head+i)%len(r.ents)] }

// first returns the offset of the oldest message kept; r.mu is held.
func (r *ring) first() uint64 { return r.last.Load() + 1 - uint64(r.n) }

// read returns copies of up to most (all when most <= 0) kept messages
// from offset from on.
func (r *ring) read(from uint64, most int) []*Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := int(min(max(from, r.first())-r.first(), uint64(r.n)))
	n := r.n - i
	if most > 0 {
		n = min(n, most)
	}
	out := make([]*Message, n)
	for k := range out {
		out[k] = r.at(i + k).message()
	}
	return out
}

// info describes the ring as topic's log.
func (r *ring) info(topic string) TopicInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return TopicInfo{Topic: topic, Epoch: r.epoch, First: r.first(), Last: r.last.Load(),
		Messages: r.n, Bytes: r.bytes}
}

// trim drops the oldest messages until the ring is within rt at now.
func (r *ring) trim(rt Retention, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.n > 0 {
		e := r.at(0)
		over := (rt.MaxMessages > 0 && r.n > rt.MaxMessages) || (rt.MaxBytes > 0 && r.bytes > rt.MaxBytes) ||
			(rt.MaxAge > 0 && e.time.Before(now.Add(-rt.MaxAge)))
		if !over {
			return
		}
		r.bytes -= e.size
		e.release()
		r.head, r.n = (r.head+1)%len(r.ents), r.n-1
	}
}

// reset empties the ring under a new epoch; offsets start again from 1.
func (r *ring) reset(epoch uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.n > 0 {
		r.at(0).release()
		r.head, r.n = (r.head+1)%len(r.ents), r.n-1
	}
	r.epoch, r.bytes = epoch, 0
	r.last.Store(0)
}

// entry is one message of a ring: the message itself, in a ring that
// keeps them, or the entry's copy of it, made on the entry's first use and
// reused after.
type entry struct {
	kept *Message // handed out as it is; nil for a copy
	c    *copied
	size int64 // the payload's length
	time time.Time
}

// set makes e hold m, itself when keep is true, or a copy.
func (e *entry) set(m *Message, keep bool) {
	e.size, e.time = int64(len(m.Payload)), m.Time
	if keep {
		e.kept = m
		if e.c != nil {
			e.c.release()
		}
		return
	}
	e.kept = nil
	if e.c == nil {
		e.c = new(copied)
	}
	e.c.set(m)
}

// release lets go of what e shares with messages handed out.
func (e *entry) release() {
	e.kept = nil
	if e.c != nil {
		e.c.release()
	}
}

// message returns the message e holds: the one kept, or a new copy.
func (e *entry) message() *Message {
	if e.kept != nil {
		return e.kept
	}
	return e.c.message()
}

// copied is an entry's copy of a message, with its own copy of a generated
// id and of a borrowed message's payload and headers, in buffers it reuses
// (owned). Other payloads and headers are shared: nobody changes them.
type copied struct {
	topic, id string
	idb       [msgid.Len]byte
	payload   []byte
	owned     bool // payload and headers are the entry's buffers, not a kept message's
	headers   Headers
	hbuf      []byte // the headers' buffer when owned, never handed out
	publisher string // PublisherID
	qos       QoS
	sealed    bool
	seq       uint64
	time      time.Time
	engine    *envelope.Engine
}

// set copies m into e.
func (e *copied) set(m *Message) {
	e.topic, e.id = m.Topic, m.ID
	switch {
	case len(m.ID) <= msgid.Len:
		n := copy(e.idb[:], m.ID)
		e.id = unsafe.String(&e.idb[0], n)
	case m.borrowed:
		e.id = strings.Clone(m.ID) // the publisher's buffer, lent
	}
	switch {
	case !m.borrowed:
		e.payload, e.headers, e.owned = m.Payload, m.Headers, false // the broker's to keep: shared
	default:
		if c := cap(e.payload); !e.owned || (c > 1024 && c > 4*len(m.Payload)) {
			e.payload = nil // not ours to write into, or outsized: let it go
		}
		e.payload, e.owned = append(e.payload[:0], m.Payload...), true
		e.hbuf = append(e.hbuf[:0], m.Headers.s...) // at most MaxHeaderBytes and a little
		e.headers = headersOf(e.hbuf)
	}
	e.qos, e.sealed, e.seq, e.engine = m.QoS, m.Sealed, m.Seq, m.engine
	e.publisher, e.time = m.PublisherID, m.Time
}

// release lets go of what e shares with messages handed out, keeping a
// buffer of its own for reuse.
func (e *copied) release() {
	if !e.owned {
		e.payload, e.headers = nil, Headers{}
	}
	e.engine = nil
}

// message returns a new Message holding a copy of e.
func (e *copied) message() *Message {
	var box *boxedMessage
	if e.owned {
		box = ownedBox(e.payload, e.hbuf)
	} else {
		box = newBox(e.payload, false, false)
		box.Headers = e.headers
	}
	m := &box.Message
	m.Topic, m.ID, m.QoS, m.Sealed = e.topic, e.id, e.qos, e.sealed
	m.Seq, m.Time, m.engine, m.PublisherID = e.seq, e.time, e.engine, e.publisher
	if len(e.id) <= msgid.Len {
		n := copy(box.id[:], e.id)
		m.ID = unsafe.String(&box.id[0], n)
	}
	return m
}

var (
	_ Store       = (*MemoryStore)(nil)
	_ CursorStore = (*MemoryStore)(nil)
)
