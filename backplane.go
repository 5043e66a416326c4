package whispeer

import (
	"context"
	"fmt"
	"sync"

	"github.com/whispeer-io/whispeer/internal/match"
)

// Backplane carries the messages of brokers that share one [Store], such
// as the nodes of a cluster on Redis: a broker given one [WithBackplane]
// appends each message it is published to the store, which also hands it
// to the backplane, and delivers to its own subscriptions the messages
// the backplane receives, from every broker, in each topic's offset order.
// History, replay, resume and durable subscriptions are served by the
// store as they are without a backplane. The broker asks the backplane
// only for the topics and patterns its subscriptions need.
//
// A Backplane that knows when it cannot carry messages, as while its
// Redis is unreachable, has a method Down() bool that says so: while it
// reports true, the broker delivers a QoS 0 publish to its own
// subscriptions only, at once and without an offset (it is in no
// history, and the other brokers do not receive it); a QoS 1 or 2
// publish still goes to the store, which fails it.
//
// A Backplane's methods are safe for concurrent use.
type Backplane interface {
	// Start begins receiving: r is called with each message of a watched
	// topic or pattern, from any broker, with the epoch of its topic, in
	// the order of the topic's offsets, and never concurrently for one
	// topic. A message may come more than once, and some may be missed
	// (the broker reads those from the store). r may block.
	Start(r func(m *Message, epoch uint64)) error

	// Watch asks for the messages of topic, a concrete topic or a
	// pattern, and returns once they are being received. The broker calls
	// it when its first subscription to topic is made, and Unwatch when
	// its last one has gone.
	Watch(ctx context.Context, topic string) error

	// Unwatch stops what Watch started.
	Unwatch(topic string)

	// Close stops receiving; r is not called once it returns.
	Close() error
}

// outage is the optional capability of a [Backplane] that knows when it
// cannot carry messages, as while its Redis is unreachable: Down reports
// true then. The broker delivers its own QoS 0 publishes to its own
// subscriptions meanwhile, without an offset (see [Broker.Publish]).
type outage interface {
	Down() bool
}

// WithBackplane makes the broker one node of several sharing a store
// ([WithStore], which it needs) through bp: see [Backplane]. The broker
// closes bp when it closes, before its store.
func WithBackplane(bp Backplane) Option { return func(c *config) { c.backplane = bp } }

// maxGapFill bounds the messages a broker reads from its store to fill a
// gap in what its backplane delivered; past it the messages in between
// are skipped, as the topic had no subscriber here meanwhile.
const maxGapFill = 4096

// watches counts, per topic and pattern, the subscriptions that need the
// backplane to carry it.
type watches struct {
	bp   Backplane
	down func() bool // the backplane's outage, or nil
	mu   sync.Mutex
	n    map[string]int
}

// newWatches returns the watches of bp.
func newWatches(bp Backplane) *watches {
	w := &watches{bp: bp, n: make(map[string]int)}
	if o, ok := bp.(outage); ok {
		w.down = o.Down
	}
	return w
}

// isDown reports whether the backplane says it cannot carry messages.
func (w *watches) isDown() bool { return w.down != nil && w.down() }

// watch counts one more subscription to pattern and, for the first, asks
// the backplane for it.
func (w *watches) watch(ctx context.Context, pattern string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[pattern] == 0 {
		if err := w.bp.Watch(ctx, pattern); err != nil {
			return fmt.Errorf("backplane: %w", err)
		}
	}
	w.n[pattern]++
	return nil
}

// unwatch counts one subscription to pattern less.
func (w *watches) unwatch(pattern string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n[pattern]--; w.n[pattern] <= 0 {
		delete(w.n, pattern)
		w.bp.Unwatch(pattern)
	}
}

// receive delivers m, which the backplane received with its topic's
// epoch, to the broker's subscriptions, after the messages missing
// between the last it delivered in the topic and m, which it reads from
// the store. A message already delivered is skipped.
func (b *Broker) receive(m *Message, epoch uint64) {
	if b.closed.Load() {
		return
	}
	ts, err := b.topic(m.Topic)
	if err != nil {
		b.log.Warn("whispeer: a message from the backplane has no topic here", "topic", truncate(m.Topic), "error", err)
		return
	}
	ctx := context.Background()
	ts.mu.Lock()
	if epoch != ts.epoch.Load() {
		ts.epoch.Store(epoch) // the store lost the topic's history: it starts again
		ts.seq, ts.synced = 0, true
	}
	if !ts.synced || m.Seq > ts.seq+maxGapFill {
		ts.seq, ts.synced = m.Seq-1, true
	}
	if m.Seq <= ts.seq {
		ts.mu.Unlock()
		return
	}
	var msgs []*Message
	if m.Seq > ts.seq+1 {
		err := b.st.s.Read(ctx, m.Topic, ts.seq+1, int(m.Seq-ts.seq-1), func(g *Message) error {
			if g.Seq < m.Seq {
				msgs = append(msgs, g)
			}
			return nil
		})
		if err != nil {
			b.log.Warn("whispeer: reading messages the backplane missed failed", "topic", truncate(m.Topic), "error", err)
		}
	}
	msgs = append(msgs, m)
	b.dispatch(ctx, ts, msgs)
}

// dispatch hands msgs, stored messages of ts in offset order, to the
// matching subscriptions; ts's lock is held, and released.
func (b *Broker) dispatch(ctx context.Context, ts *topicState, msgs []*Message) {
	type fan struct {
		m     *Message
		subs  []*Subscription
		later []afterPush
		sync  bool
	}
	fans := make([]fan, 0, len(msgs))
	for _, sm := range msgs {
		m, err := b.st.fromStore(sm)
		if err != nil {
			b.log.Warn("whispeer: skipping a message from the backplane", "topic", truncate(sm.Topic), "seq", sm.Seq, "error", err)
			continue
		}
		ts.seq = m.Seq
		ts.messages++
		subs := b.subs.Match(ts.name)
		if len(ts.catching) > 0 {
			subs = ts.live(subs)
			ts.divert(m, false)
		}
		later, hasSync := b.enqueue(nil, subs, m)
		fans = append(fans, fan{m, subs, later, hasSync})
	}
	ts.mu.Unlock()
	for _, f := range fans {
		b.deliver(ctx, f.later, f.sync, f.subs, f.m)
	}
}

// routeOut appends m to the store, which hands it to the backplane: its
// subscribers here receive it from the backplane, as on every broker.
// While the backplane is down, a QoS 0 message without a receipt reaches
// this broker's subscriptions only (routeLocal).
func (b *Broker) routeOut(ctx context.Context, ts *topicState, m *Message, done func(error), r *Receipt) error {
	if m.Time.IsZero() {
		m.Time = b.clock.now()
	}
	if m.QoS == AtMostOnce && r == nil && b.watch.isDown() {
		return b.routeLocal(ctx, ts, m, done)
	}
	if a, ok := b.st.s.(asyncAppender); ok && r == nil && (m.QoS == AtMostOnce || m.QoS == AtLeastOnce && done != nil) {
		return b.appendAsync(ctx, a, m, done)
	}
	m, durable, err := ts.log.append(ctx, m, done)
	if err != nil {
		return err
	}
	if r != nil {
		r.Offset, r.Epoch = m.Seq, ts.epoch.Load()
	}
	b.published.Add(1)
	return b.settled(ctx, m, durable, done)
}

// routeLocal hands m, a QoS 0 message the backplane cannot carry now, to
// the broker's own matching subscriptions, as a broker without a store
// would, but without an offset: it is in no history, cannot be resumed
// from, moves no durable cursor, and the other brokers do not receive it.
// A subscription still catching up on the topic receives it after the
// messages held back for it before (divert). The topic's position is left
// alone, so the next message the backplane carries is checked for a gap
// as before.
func (b *Broker) routeLocal(ctx context.Context, ts *topicState, m *Message, done func(error)) error {
	m.Seq = 0
	ts.mu.Lock()
	subs := b.subs.Match(ts.name)
	if len(ts.catching) > 0 {
		subs = ts.live(subs)
		ts.divert(m, false)
	}
	var room [4]afterPush
	later, hasSync := b.enqueue(room[:0], subs, m)
	ts.mu.Unlock()
	b.published.Add(1)
	b.localOnly.Add(1)
	b.deliver(ctx, later, hasSync, subs, m)
	if done != nil {
		done(nil)
	}
	return nil
}

// startWatching asks the backplane for what s needs; s's topic, when
// concrete, then has its live position taken anew from the store.
func (b *Broker) startWatching(s *Subscription) error {
	if b.watch == nil {
		return nil
	}
	if err := b.watch.watch(context.Background(), s.pattern); err != nil {
		return err
	}
	if !match.IsPattern(s.pattern) {
		ts, err := b.topic(s.pattern)
		if err != nil {
			b.watch.unwatch(s.pattern)
			return err
		}
		ts.mu.Lock()
		if !ts.synced {
			b.resync(ts)
		}
		ts.mu.Unlock()
	}
	return nil
}

// resync takes ts's live position from the store, once the backplane
// carries its messages; ts's lock is held.
func (b *Broker) resync(ts *topicState) {
	info, err := b.st.s.Topic(context.Background(), ts.name)
	if err != nil {
		b.log.Warn("whispeer: reading a topic's position failed", "topic", truncate(ts.name), "error", err)
		return
	}
	ts.epoch.Store(info.Epoch)
	ts.seq, ts.synced = info.Last, true
}

// stopWatching releases what startWatching asked for.
func (b *Broker) stopWatching(s *Subscription) {
	if b.watch == nil {
		return
	}
	b.watch.unwatch(s.pattern)
	if !match.IsPattern(s.pattern) {
		if v, ok := b.topics.Load(s.pattern); ok {
			ts := v.(*topicState)
			ts.mu.Lock()
			if b.subs.Match(ts.name) == nil {
				ts.synced = false
			}
			ts.mu.Unlock()
		}
	}
}

// asyncAppender is the optional capability of a store behind a backplane
// that appends a message without waiting for its offset, keeping the
// order of the appends it was asked for: the broker appends QoS 0
// messages, and QoS 1 messages whose publisher takes the outcome through
// a callback, so, for a publisher need not wait for Redis between two of
// them. Without done, AppendAsync fails at once when too many appends
// wait; with done, it waits for room, and done is called as
// [Store.Append]'s is.
type asyncAppender interface {
	AppendAsync(ctx context.Context, m *Message, done func(error)) error
}

// appendAsync appends m, a QoS 0 message or a QoS 1 message with done,
// through a: it reaches the subscribers, here as elsewhere, from the
// backplane.
func (b *Broker) appendAsync(ctx context.Context, a asyncAppender, m *Message, done func(error)) error {
	m = m.keep()
	stored, err := b.st.forStore(m)
	if err != nil {
		return err
	}
	var durable func(error)
	if m.QoS != AtMostOnce {
		durable = func(err error) {
			if err != nil {
				err = fmt.Errorf("store: %w", err)
			}
			done(err)
		}
	}
	if err := a.AppendAsync(ctx, stored, durable); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	b.published.Add(1)
	if durable == nil && done != nil {
		done(nil)
	}
	return nil
}
