package whispeer

import (
	"context"
	"errors"
)

// A subscription that replays, resumes or comes back durable catches up
// on each matching topic under no lock of the broker's, so its handler may
// publish, subscribe or call the broker as any other may:
//
//   - register adds it to the topic's subscriptions and to the topic's
//     catching set at once, under the topic's lock, with its plan
//     (catchup): the offset it needs next and the newest one it is owed;
//   - while it catches up, route and dispatch, under that lock, append
//     each live message of the topic to its plan's pending list (divert)
//     rather than hand it over; a message held in the topic's gate is
//     not, and reaches it from the store or the gate;
//   - the catch-up (catchUp) hands over the history read when it was made,
//     then reads the store from its next offset, and then, taking the
//     pending list under the lock and letting go at once, hands over the
//     pending messages outside it, reading from the store any offset they
//     lack, until under the lock it finds the list empty and nothing more
//     owed: it then leaves the catching set, live from the next message.
//
// The pending list holds at most maxPending messages: past it, the list is
// let go and those messages are read from the store instead, so a
// catch-up, however slow, costs the topic's publishers no wait and holds
// no more than that in memory. Without a store, the in-memory history
// plays the store's part: it keeps only its last WithHistory messages, so
// a catch-up that falls so far behind that the history has dropped some
// of those it lets go misses them, and the subscription is not recovered
// (Recovered). A message without an offset, delivered by this broker alone
// while its backplane is down (routeLocal), is in no store: it waits in
// the pending list at its place and is handed over there, or, let go with
// the list, is missed, as a QoS 0 message may be.

// maxPending bounds the live messages a subscription that catches up on a
// topic holds back; past it they are read from the store.
const maxPending = 1024

// Stored messages are read a page at a time: catchUpPage while paced,
// readPage otherwise.
const (
	catchUpPage = 256
	readPage    = 1024
)

// catchup is a subscription's way back to live on one topic: it receives
// the history read when it was made, the stored messages from next on, and
// the live messages that the topic held back for it meanwhile.
type catchup struct {
	ts   *topicState
	next uint64     // the offset the subscription needs next
	held []*Message // an in-memory history's messages, read when it was made

	// mark is the offset of the topic's newest message when the
	// subscription was made: those after it are live, read from the store
	// or not.
	mark uint64

	// Guarded by ts.mu while the subscription is in ts.catching.
	last    uint64   // the offset of the newest message it is owed
	pending []pended // live messages routed since, lasting, in order
}

// pended is a message held back for a catch-up; after, for a message
// without an offset, is the newest offset routed before it.
type pended struct {
	m     *Message
	after uint64
}

// divert holds m, a message of ts just routed or received, back for the
// subscriptions catching up on ts; gated, m waits in the topic's gate and
// is only counted. A message without an offset (routeLocal) owes them
// nothing from the store. ts.mu is held. A pending list at its bound is
// let go, to be read from the store or the in-memory history.
func (ts *topicState) divert(m *Message, gated bool) {
	for _, c := range ts.catching {
		if m.Seq != 0 {
			c.last = m.Seq
		}
		if gated {
			continue
		}
		if len(c.pending) >= maxPending {
			clear(c.pending) // read from the store instead
			c.pending = c.pending[:0]
		}
		c.pending = append(c.pending, pended{m.keep(), c.last})
	}
}

// live returns subs without those still catching up in ts; ts's lock is
// held.
func (ts *topicState) live(subs []*Subscription) []*Subscription {
	out := make([]*Subscription, 0, len(subs))
	for _, s := range subs {
		if _, ok := ts.catching[s]; !ok {
			out = append(out, s)
		}
	}
	return out
}

// feed is how a catch-up hands messages to its subscription: stored for
// those of the history or the store published before it was made, live
// for those after, held back meanwhile or read from the store.
// A paced one waits for its subscriber's room before each.
type feed struct {
	ctx          context.Context
	s            *Subscription
	b            *Broker
	stored, live func(*Message)
	paced        bool
}

// feedFor returns the feed of s's catch-up.
func (b *Broker) feedFor(s *Subscription) *feed {
	f := &feed{ctx: context.Background(), s: s, b: b}
	switch {
	case s.q != nil:
		f.ctx, f.stored, f.live = s.ctx, s.handle, s.handle
		return f
	case s.cfg.pacing != nil:
		f.ctx, f.paced = s.cfg.pacing.Context, true
	}
	f.stored = func(m *Message) { s.deliverReplay(f.ctx, m) }
	f.live = func(m *Message) { s.deliverSync(f.ctx, m) }
	return f
}

// wait returns nil when the subscription may take a message, waiting for
// room if paced, or errStopped once it stops.
func (f *feed) wait() error {
	if f.paced {
		return f.b.awaitRoom(f.ctx, f.s)
	}
	if f.b.stopping(f.s) {
		return errStopped
	}
	return nil
}

// full reports whether a paced subscriber has no room for one more.
func (f *feed) full() bool { return f.paced && f.s.cfg.pacing.Room() != nil }

// catchUpAll brings s up to the live messages of every topic it has a
// plan for.
func (b *Broker) catchUpAll(s *Subscription) {
	if s.q == nil {
		defer b.wg.Done() // added by add
	}
	f := b.feedFor(s)
	for _, c := range s.rs.plans {
		if err := b.catchUp(f, c); err != nil && err != errStopped {
			s.rs.recovered.Store(false)
			b.log.Warn("whispeer: reading the store failed", "pattern", s.pattern, "topic", c.ts.name, "error", err)
		}
	}
	s.rs.plans = nil
}

// catchUp hands f's subscription the history of c, the stored messages of
// c's topic from c.next on and those the topic held back for it, and
// makes it live in the topic, all under no lock but for the moments it
// takes the held-back messages. It ends early with errStopped when the
// subscription or the broker stops, or with the store's error.
func (b *Broker) catchUp(f *feed, c *catchup) (err error) {
	s, ts := f.s, c.ts
	defer func() {
		if err != nil {
			ts.mu.Lock()
			delete(ts.catching, s)
			ts.mu.Unlock()
		}
	}()
	for i, m := range c.held {
		if err := f.wait(); err != nil {
			return err
		}
		c.held[i] = nil
		f.stored(m)
	}
	c.held = nil
	for {
		ts.mu.Lock()
		hi := b.readBound(ts)
		if hi == noGate {
			hi = c.last + 1
		}
		pending := c.pending
		c.pending = nil
		if len(pending) == 0 && c.next >= hi && b.caughtUp(s, c) {
			delete(ts.catching, s)
			ts.mu.Unlock()
			return nil
		}
		ts.mu.Unlock()
		if err := b.handOver(f, c, pending); err != nil {
			return err
		}
		if err := b.fill(f, c, hi); err != nil {
			return err
		}
	}
}

// caughtUp reports whether s, which has every message of c's topic below
// the read bound, may go live; the topic's lock is held. A message in the
// topic's gate reaches s from there, once s has joined it.
func (b *Broker) caughtUp(s *Subscription, c *catchup) bool {
	if b.watch != nil {
		return true // the later messages reach it from the backplane
	}
	from := c.ts.gatedFrom()
	return from == noGate || (c.next == from && c.ts.gate.join(s, from))
}

// handOver hands f's subscription the messages its topic held back for
// it, in order, after the stored ones that come before each, one without
// an offset too.
func (b *Broker) handOver(f *feed, c *catchup, pending []pended) error {
	for i, p := range pending {
		pending[i] = pended{}
		m := p.m
		if m.Seq == 0 {
			if err := b.fill(f, c, p.after+1); err != nil {
				return err
			}
			if err := f.wait(); err != nil {
				return err
			}
			f.live(m)
			continue
		}
		if m.Seq < c.next {
			continue // read from the store already
		}
		if err := b.fill(f, c, m.Seq); err != nil {
			return err
		}
		if err := f.wait(); err != nil {
			return err
		}
		c.next = m.Seq + 1
		f.live(m)
	}
	return nil
}

// fill hands f's subscription the stored messages of c's topic from c.next
// up to offset hi, excluded. Those the store no longer has leave a gap:
// the subscription is then not recovered.
func (b *Broker) fill(f *feed, c *catchup, hi uint64) error {
	for c.next < hi {
		if err := f.wait(); err != nil {
			return err
		}
		most := int(min(hi-c.next, readPage))
		if f.paced {
			most = min(most, catchUpPage)
		}
		n, err := b.readFor(f, c, most, hi)
		if errors.Is(err, errPaused) {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			break // nothing more below hi
		}
	}
	if c.next < hi {
		f.s.rs.recovered.Store(false)
		c.next = hi
	}
	return nil
}

// readFor hands f's subscription up to most stored messages of c's topic
// from c.next on and below hi, and returns how many it read: it stops
// with errPaused when a paced subscriber has no room for the next one.
func (b *Broker) readFor(f *feed, c *catchup, most int, hi uint64) (int, error) {
	n := 0
	err := b.st.s.Read(f.ctx, c.ts.name, c.next, most, func(m *Message) error {
		switch {
		case m.Seq >= hi:
			return errBelow
		case b.stopping(f.s) || f.ctx.Err() != nil:
			return errStopped
		case n > 0 && f.full():
			return errPaused
		}
		n++
		switch d := b.advance(f.s, c, m); {
		case d == nil:
		case d.Seq > c.mark:
			f.live(d)
		default:
			f.stored(d)
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errBelow):
		return n, nil
	case errors.Is(err, errPaused):
		return n, errPaused
	case errors.Is(err, errStopped):
		return n, errStopped
	}
	return n, err
}

// errStopped ends a read when the subscription or the broker stops.
var errStopped = &Error{CodeUnavailable, "whispeer: subscription stopped"}

// errBelow ends a read that reached its limit.
var errBelow = &Error{CodeUnavailable, "whispeer: read limit"}

// readInto reads up to max stored messages (all when max is 0) of c's
// topic from c.next on and below offset below, hands them to fn and
// advances c.next.
func (b *Broker) readInto(ctx context.Context, s *Subscription, c *catchup, max int, below uint64, fn func(*Message) error) error {
	err := b.st.s.Read(ctx, c.ts.name, c.next, max, func(m *Message) error {
		if m.Seq >= below {
			return errBelow
		}
		if d := b.advance(s, c, m); d != nil {
			if err := fn(d); err != nil {
				return err
			}
		}
		if b.stopping(s) {
			return errStopped
		}
		return nil
	})
	if err == errBelow {
		return nil
	}
	return err
}

// advance moves c past m, a message read from the store, and returns it
// ready to deliver, or nil when it cannot be opened (logged). A message
// missing before m, trimmed before it could be read, marks s not
// recovered.
func (b *Broker) advance(s *Subscription, c *catchup, m *Message) *Message {
	if m.Seq != c.next {
		s.rs.recovered.Store(false)
	}
	c.next = m.Seq + 1
	d, err := b.st.fromStore(m)
	if err != nil {
		b.log.Warn("whispeer: skipping a stored message", "topic", m.Topic, "seq", m.Seq, "error", err)
		return nil
	}
	return d
}

// stopping reports whether s should stop catching up.
func (b *Broker) stopping(s *Subscription) bool {
	return s.closed.Load() || b.closed.Load() || (s.ctx != nil && s.ctx.Err() != nil)
}
