package server

import (
	"strings"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport"
)

// maxBackoff caps the wait between resends, unless ack_timeout is longer.
const maxBackoff = time.Minute

// inflight is one connection's QoS 1 window: the copies sent and not yet
// acked, each resent when its deadline passes, with the wait doubling, up
// to maxRetries times; and, behind a full window, a bounded queue of copies
// waiting for a free slot. One timer per connection is set to the earliest
// deadline. The copies of one connection are independent of every other
// connection's: an ack clears only the acking connection's copy.
//
// Every copy of a distinct message is tracked on its own, even when two
// share a name: acks name a copy by message id and, in the native
// protocol, subscription id, which two publishers may both use. An ack
// that also names the message's offset clears that copy; one that does
// not clears the oldest copy in flight under its name, as clients ack
// copies in the order they received them. A message is told from another
// by its topic and sequence number: the same message reaching a JSON
// connection through two overlapping subscriptions is one copy.
type inflight struct {
	s           *session
	ackTimeout  time.Duration
	maxRetries  int
	maxInflight int
	maxQueued   int

	mu      sync.Mutex
	byID    map[ackKey]*pending // the oldest copy in flight under each name
	n       int                 // copies in flight
	due     []*pending          // a min-heap by deadline
	queued  []queuedCopy
	timer   *time.Timer
	armedAt time.Time // when the timer fires; zero when it is not set
	closed  bool
	freed   chan struct{} // closed when a copy leaves; see room
	drained chan struct{} // closed when the queue is back to a quarter; see Room
	gaveUp  bool          // a publisher stalled on the queue for max_stall
}

// ackKey names a copy: a JSON ack names its message id, a native PUBACK
// the subscription id too (0 for JSON). Copies of distinct messages may
// share a name.
type ackKey struct {
	sid uint32
	id  string
}

// msgKey tells one message from another: its topic and its sequence number
// there.
type msgKey struct {
	topic string
	seq   uint64
}

// maxHead is the longest per-connection head of a delivery: a native MSG
// head (a WebSocket connection gathers MSGs into messages itself).
const maxHead = wire.MessageHeadLen

// delivery is one copy of a message: a per-connection head, if any, and
// the body shared by every connection.
type delivery struct {
	head  [maxHead]byte
	n     uint8 // bytes of head used
	dupAt int8  // the head's byte holding the native dup flag, or -1
	body  []byte
}

func newDelivery(head, body []byte, dupAt int) delivery {
	d := delivery{n: uint8(len(head)), dupAt: int8(dupAt), body: body}
	copy(d.head[:], head)
	return d
}

// send queues the copy on s, in batch b if not nil.
func (d *delivery) send(b *transport.Batch, s *session) {
	s.sendIn(b, d.head[:d.n], d.body, d.dupAt >= 0, false)
}

// markDup marks a native copy as a redelivery.
func (d *delivery) markDup() {
	if d.dupAt >= 0 {
		d.head[d.dupAt] |= msgFlagDup
	}
}

// pending is a copy sent and awaiting its ack.
type pending struct {
	key      ackKey
	msg      msgKey
	copy     delivery
	deadline time.Time
	retries  int
	released bool     // a QoS 2 delivery received: copy is its release
	index    int      // in inflight.due
	next     *pending // the next older-to-newer copy in flight under key
}

// queuedCopy is a copy waiting for a slot in the window.
type queuedCopy struct {
	key  ackKey
	msg  msgKey
	copy delivery
}

func newInflight(s *session, ackTimeout time.Duration, maxRetries, maxInflight, maxQueued int) *inflight {
	return &inflight{
		s: s, ackTimeout: ackTimeout, maxRetries: maxRetries,
		maxInflight: maxInflight, maxQueued: maxQueued,
		byID: make(map[ackKey]*pending),
	}
}

// deliver sends a QoS 1 copy of message msg, head (copied) and body, and
// tracks it under key, or queues it behind a full window, or drops it when
// the queue is full too. dupAt is the index in head of the native flags
// byte, or -1. A copy of a message already in flight under key (a JSON
// client's message through two overlapping subscriptions) is sent again
// but tracked once.
func (q *inflight) deliver(f *fanout, replay bool, key ackKey, msg msgKey, head, body []byte, dupAt int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	switch {
	case q.closed:
	case q.tracked(key, msg):
		q.s.sendIn(batchOf(f), head, body, dupAt >= 0, false)
	case q.n < q.maxInflight && len(q.queued) == 0:
		key.id = strings.Clone(key.id) // a borrowed message's id is reused
		q.start(batchOf(f), key, msg, newDelivery(head, body, dupAt), time.Now())
	case len(q.queued) < q.maxQueued || replay:
		// A stored message of a catch-up waited for room (room), which
		// another subscription may have taken since: it is queued anyway.
		key.id = strings.Clone(key.id)
		q.queued = append(q.queued, queuedCopy{key, msg, newDelivery(head, body, dupAt)})
		if !q.gaveUp && len(q.queued) > q.maxQueued/2 && f != nil && f.s != q.s {
			// The publisher's reader waits for acks, unless it is this
			// session's own, which would have to read them.
			transport.Stall(f.batch, q)
		}
	default:
		q.s.srv.stats.qosDropped.Add(1)
	}
}

// room returns nil when the window or its queue can take another copy, or
// a channel closed when a copy leaves the window; a catch-up waits on it
// (replay.go).
func (q *inflight) room() <-chan struct{} {
	if q == nil {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.queued) < q.maxQueued || (len(q.queued) == 0 && q.n < q.maxInflight) {
		return nil
	}
	if q.freed == nil {
		q.freed = make(chan struct{})
	}
	return q.freed
}

// wakeRoom wakes those waiting in room, and in Room once the queue is
// back to a quarter of maxQueued; q.mu is held.
func (q *inflight) wakeRoom() {
	if q.freed != nil {
		close(q.freed)
		q.freed = nil
	}
	if q.closed || len(q.queued) <= q.maxQueued/4 {
		q.gaveUp = false
		if q.drained != nil {
			close(q.drained)
			q.drained = nil
		}
	}
}

// Room is flow control (docs/operations.md): a publish whose copy took the
// queue past half of maxQueued stalls its publisher's reader until Room
// returns nil, the queue being back to a quarter of maxQueued or closed,
// or a channel closed once it is.
func (q *inflight) Room() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.queued) <= q.maxQueued/4 {
		return nil
	}
	if q.drained == nil {
		q.drained = make(chan struct{})
	}
	return q.drained
}

// GiveUp is called when a publisher stalled on the queue for max_stall: it
// stalls no publisher again until it is back to a quarter, and copies
// beyond maxQueued are dropped meanwhile.
func (q *inflight) GiveUp() {
	q.mu.Lock()
	if !q.closed && len(q.queued) > q.maxQueued/2 {
		q.gaveUp = true
	}
	q.mu.Unlock()
}

// tracked reports whether a copy of msg is in flight under key; q.mu is
// held.
func (q *inflight) tracked(key ackKey, msg msgKey) bool {
	for p := q.byID[key]; p != nil; p = p.next {
		if p.msg == msg {
			return true
		}
	}
	return false
}

// start sends a copy, in batch b if not nil, and tracks it behind the
// copies in flight under key; q.mu is held.
func (q *inflight) start(b *transport.Batch, key ackKey, msg msgKey, d delivery, now time.Time) {
	p := &pending{key: key, msg: msg, copy: d, deadline: now.Add(q.ackTimeout)}
	if last := q.byID[key]; last == nil {
		q.byID[key] = p
	} else {
		for last.next != nil {
			last = last.next
		}
		last.next = p
	}
	q.n++
	q.push(p)
	q.arm(p.deadline)
	p.copy.send(b, q.s)
}

// ack clears the copy in flight under key whose message has sequence
// number seq or, when seq is 0, the oldest copy in flight under key, and
// lets a queued copy take its slot. Unknown keys and sequence numbers are
// ignored: an ack may come after the copy was given up, or twice. The map
// keeps no reference to key.
func (q *inflight) ack(key ackKey, seq uint64) {
	q.clear(key, seq, false)
}

// clear ends the copy in flight under key with sequence number seq (the
// oldest under key when seq is 0) and lets a queued copy take its slot;
// with released, only a QoS 2 copy whose release was sent qualifies.
func (q *inflight) clear(key ackKey, seq uint64, released bool) {
	if q == nil {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.byID[key]
	for p != nil && ((released && !p.released) || (seq != 0 && p.msg.seq != seq)) {
		p = p.next
	}
	if p == nil {
		return
	}
	q.untrack(p)
	q.remove(p.index)
	q.fill(time.Now())
	q.wakeRoom()
}

// untrack takes p out of the copies in flight under its key; q.mu is
// held.
func (q *inflight) untrack(p *pending) {
	q.n--
	first := q.byID[p.key]
	switch {
	case first == p && p.next == nil:
		delete(q.byID, p.key)
	case first == p:
		q.byID[p.key] = p.next
	default:
		for first.next != p {
			first = first.next
		}
		first.next = p.next
	}
	p.next = nil
}

// fill moves queued copies into free slots; q.mu is held.
func (q *inflight) fill(now time.Time) {
	for len(q.queued) > 0 && q.n < q.maxInflight && !q.closed {
		c := q.queued[0]
		q.queued[0] = queuedCopy{}
		q.queued = q.queued[1:]
		if q.tracked(c.key, c.msg) {
			c.copy.send(nil, q.s)
			continue
		}
		q.start(nil, c.key, c.msg, c.copy, now)
	}
	if len(q.queued) == 0 {
		q.queued = nil
	}
}

// fire is the timer's function: it resends the copies that are due, gives
// up those resent maxRetries times, and sets the timer again.
func (q *inflight) fire() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.armedAt = time.Time{}
	if q.closed {
		return
	}
	now := time.Now()
	for len(q.due) > 0 && !q.due[0].deadline.After(now) {
		p := q.due[0]
		if p.retries >= q.maxRetries {
			q.remove(0)
			q.untrack(p)
			q.s.srv.stats.expired.Add(1)
			if h := q.s.srv.hooks.expired; h != nil {
				h(p.key.id)
			}
			continue
		}
		p.retries++
		p.deadline = now.Add(q.backoff(p.retries))
		q.down(0)
		q.s.srv.stats.retries.Add(1)
		p.copy.markDup()
		p.copy.send(nil, q.s)
	}
	q.fill(now)
	q.wakeRoom()
	if len(q.due) > 0 {
		q.arm(q.due[0].deadline)
	}
}

// backoff returns the wait after the n-th resend: ackTimeout doubled n
// times, capped at maxBackoff (or ackTimeout, if longer).
func (q *inflight) backoff(n int) time.Duration {
	limit := max(q.ackTimeout, maxBackoff)
	d := q.ackTimeout
	for range n {
		if d >= limit/2 {
			return limit
		}
		d *= 2
	}
	return d
}

// arm makes the timer fire by deadline; q.mu is held.
func (q *inflight) arm(deadline time.Time) {
	if !q.armedAt.IsZero() && !deadline.Before(q.armedAt) {
		return
	}
	q.armedAt = deadline
	d := time.Until(deadline)
	if q.timer == nil {
		q.timer = time.AfterFunc(d, q.fire)
		return
	}
	q.timer.Reset(d)
}

// close drops every copy and stops the timer.
func (q *inflight) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.wakeRoom()
	if q.timer != nil {
		q.timer.Stop()
	}
	q.byID, q.due, q.queued, q.n = nil, nil, nil, 0
}

// len returns the number of copies in flight and queued.
func (q *inflight) len() (inFlight, queued int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n, len(q.queued)
}

// The heap of q.due, ordered by deadline; q.mu is held.

func (q *inflight) push(p *pending) {
	p.index = len(q.due)
	q.due = append(q.due, p)
	q.up(p.index)
}

func (q *inflight) remove(i int) {
	last := len(q.due) - 1
	if i != last {
		q.swap(i, last)
	}
	q.due[last] = nil
	q.due = q.due[:last]
	if i != last {
		q.down(i)
		q.up(i)
	}
}

func (q *inflight) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !q.due[i].deadline.Before(q.due[parent].deadline) {
			return
		}
		q.swap(i, parent)
		i = parent
	}
}

func (q *inflight) down(i int) {
	n := len(q.due)
	for {
		least, l, r := i, 2*i+1, 2*i+2
		if l < n && q.due[l].deadline.Before(q.due[least].deadline) {
			least = l
		}
		if r < n && q.due[r].deadline.Before(q.due[least].deadline) {
			least = r
		}
		if least == i {
			return
		}
		q.swap(i, least)
		i = least
	}
}

func (q *inflight) swap(i, j int) {
	q.due[i], q.due[j] = q.due[j], q.due[i]
	q.due[i].index = i
	q.due[j].index = j
}
