package whispeer

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/match"
)

// storage is the broker's side of its history: the [Store] given
// [WithStore], or without one a [MemoryStore]. Every message routed is
// appended to it, and replay, resume and durable subscriptions are read
// from it, through the Store interface either way.
type storage struct {
	s       Store
	cursors CursorStore  // s's cursors; nil when it keeps none
	mem     *MemoryStore // s when the broker was given no store
	engines *engines
	rules   []retentionRule
	lease   func(context.Context) bool // nil, or whether the retention loop may trim now
	atRest  *envelope.Engine           // seals stored payloads of plaintext topics; nil for none
	backlog int
	stop    chan struct{} // closed to stop the retention loop
}

// atRestSlack is how much larger than the payload limit an envelope sealed
// at rest may be: an end-to-end envelope of the largest payload, sealed again.
const atRestSlack = 1 << 16

func newStorage(c *config, engs *engines, now func() time.Time) (*storage, error) {
	sc := &c.store
	st := &storage{s: sc.store, engines: engs, rules: sc.rules, lease: sc.lease, backlog: sc.backlog, stop: make(chan struct{})}
	if st.s == nil {
		st.mem = newMemoryStore(c.history, now)
		st.s = st.mem
	}
	st.cursors, _ = st.s.(CursorStore)
	if sc.atRest == nil {
		return st, nil
	}
	set := engineSettings{keyring: sc.atRest}
	for _, o := range sc.atRestOpt {
		o(&set)
	}
	set.compression, set.plaintext, set.threshold = envelope.CompressNone, false, 0
	e, err := buildEngine(set, c.maxPayload+atRestSlack)
	if err != nil {
		return nil, fmt.Errorf("store encryption: %w", err)
	}
	st.atRest = e
	return st, nil
}

// topicLog is where a topic's messages go as they are routed: its ring in
// the broker's in-memory history, or the broker's Store. append runs under
// the topic's lock; it sets m.Seq to the topic's next offset and returns
// the message to hand on, m or the lasting copy of a borrowed m. A Store
// makes a QoS 1 or 2 message durable later: append then calls done with
// the outcome, or without done returns a channel that receives it.
type topicLog interface {
	append(ctx context.Context, m *Message, done func(error)) (*Message, chan error, error)
}

// durableNow reports whether m is as durable as it gets once appended:
// its publisher's done is then called once m is routed.
func (st *storage) durableNow(m *Message) bool { return m.QoS == AtMostOnce || st.mem != nil }

// open returns the log of topic and the topic's epoch. Without a store,
// spare becomes the topic's ring in the in-memory history unless it has one.
func (st *storage) open(ctx context.Context, topic string, spare *ring) (topicLog, uint64, error) {
	if st.mem != nil {
		r, err := st.mem.openIn(topic, spare)
		if err != nil {
			return nil, 0, fmt.Errorf("store: %w", err)
		}
		return r, r.info(topic).Epoch, nil
	}
	info, err := st.s.Topic(ctx, topic)
	if err != nil {
		return nil, 0, fmt.Errorf("store: %w", err)
	}
	return st, info.Epoch, nil
}

// plaintext reports whether eng, a topic's engine, leaves payloads unsealed.
func plaintext(eng *envelope.Engine) bool { return eng == nil || eng.AEAD() == envelope.Unsealed }

// forStore returns the message to append for m: m itself, or a copy whose
// payload is sealed at rest.
func (st *storage) forStore(m *Message) (*Message, error) {
	if st.atRest == nil || !plaintext(st.engines.engineFor(m.Topic)) {
		return m, nil
	}
	env, err := st.atRest.Seal(nil, m.Topic, m.ID, m.Payload)
	if err != nil {
		return nil, fmt.Errorf("seal at rest: %w", err)
	}
	c := m.Clone()
	c.Payload = env
	return c, nil
}

// fromStore turns a message read from the store back into one to deliver:
// opened if it was sealed at rest, and with the topic's engine when it was
// stored as an envelope (Message.Sealed), so that subscribers that get
// opened payloads get it opened. An envelope's publisher may have sealed
// it rather than the broker: on a topic that the broker seals too, such an
// envelope read back from the store is opened with the topic's engine.
func (st *storage) fromStore(m *Message) (*Message, error) {
	eng := st.engines.engineFor(m.Topic)
	c := m
	if st.atRest != nil && plaintext(eng) {
		pt, err := st.atRest.Open(nil, m.Topic, m.ID, m.Payload)
		if err != nil {
			return nil, fmt.Errorf("%w: open at rest: %w", ErrCorrupt, err)
		}
		c = m.Clone()
		c.Payload, c.engine = pt, nil
	}
	if eng != nil && c.Sealed && c.engine == nil {
		if c == m {
			c = m.Clone()
		}
		c.engine = eng
	}
	return c, nil
}

// append is the topic log of a broker with a Store: it appends m, or its
// copy sealed at rest, which the store keeps.
func (st *storage) append(ctx context.Context, m *Message, async func(error)) (*Message, chan error, error) {
	m = m.keep() // the store holds it
	stored, err := st.forStore(m)
	if err != nil {
		return nil, nil, err
	}
	ch, err := st.appendStored(ctx, m, stored, async)
	return m, ch, err
}

// appendStored appends stored, m or its sealed copy, under m's topic lock
// and sets m.Seq. For a QoS 1 or 2 message it hands the outcome, once the
// store has made the message durable, to async, or without it returns a
// channel that receives it.
func (st *storage) appendStored(ctx context.Context, m, stored *Message, async func(error)) (chan error, error) {
	var ch chan error
	var done func(error)
	switch {
	case m.QoS == AtMostOnce:
	case async != nil:
		done = func(err error) {
			if err != nil {
				err = fmt.Errorf("store: %w", err)
			}
			async(err)
		}
	default:
		ch = make(chan error, 1)
		done = func(err error) { ch <- err }
	}
	if err := st.s.Append(ctx, stored, done); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if stored != m { // the store may already be reading m
		m.Seq = stored.Seq
	}
	return ch, nil
}

// awaitDurable waits for the outcome of a durable append.
func awaitDurable(ctx context.Context, ch chan error) error {
	select {
	case err := <-ch:
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// resumeState is what a subscription served from the store learned when
// it was made, and its way back to live messages.
type resumeState struct {
	recovered     atomic.Bool
	epoch, offset uint64     // the topic's position when the subscription took effect
	plans         []*catchup // read by the worker (async) or Subscribe (sync)
}

// Recovered reports whether a subscription made [WithResume] or
// [WithDurable] receives every message after the position it resumed from.
// It is false when the history no longer reached back or its epoch
// changed, and may turn false while the subscription catches up, should
// retention, or an in-memory history that keeps only its last messages,
// remove messages before they are read; so too for [WithReplay]. It is
// true for other subscriptions.
func (s *Subscription) Recovered() bool { return s.rs == nil || s.rs.recovered.Load() }

// Position returns the epoch and the newest offset of the subscription's
// topic when the subscription took effect; 0, 0 for a pattern or without a
// store, whose positions do not outlive the broker ([Broker.TopicInfo]
// gives them). The subscription receives live messages from offset+1 on.
func (s *Subscription) Position() (epoch, offset uint64) {
	if s.rs == nil || !s.b.HasStore() {
		return 0, 0
	}
	return s.rs.epoch, s.rs.offset
}

// Ack saves m as delivered for a [WithDurable] subscription; use it with
// [WithManualAck].
func (s *Subscription) Ack(m *Message) error {
	if s.cfg.durable == "" {
		return fmt.Errorf("%w: Ack needs a durable subscription", ErrInvalidOption)
	}
	return s.b.saveCursor(s, m)
}

// ForgetDurable deletes the cursors that [WithDurable] subscriptions named
// name saved, as when their subscriber is not coming back: a later
// subscription with that name starts as a new one. It fails with
// [ErrNoCursors] when the broker's store keeps none.
func (b *Broker) ForgetDurable(ctx context.Context, name string) error {
	if b.st.cursors == nil {
		return ErrNoCursors
	}
	if err := b.st.cursors.DeleteCursors(ctx, name); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// saveCursor records m as delivered to a durable subscription. A message
// without an offset, delivered while the backplane was down, moves no
// cursor.
func (b *Broker) saveCursor(s *Subscription, m *Message) error {
	if m.Seq == 0 {
		return nil
	}
	var epoch uint64
	if v, ok := b.topics.Load(m.Topic); ok {
		epoch = v.(*topicState).epoch.Load()
	}
	c := Cursor{Subscriber: s.cfg.durable, Topic: m.Topic, Epoch: epoch, Offset: m.Seq}
	if err := b.st.cursors.SaveCursor(context.Background(), c); err != nil {
		b.log.Warn("whispeer: saving a cursor failed", "subscriber", c.Subscriber, "topic", c.Topic, "error", err)
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// accepted runs after a handler accepted m.
func (s *Subscription) accepted(m *Message) {
	if s.cfg.durable != "" && !s.cfg.manualAck {
		s.b.saveCursor(s, m)
	}
}

// addStored registers s for a broker with a store: it plans, under the
// locks of the matching topics, where s starts in each, registers it, and
// catches a sync subscription up (an async one catches up in its worker).
func (b *Broker) addStored(s *Subscription) error {
	sc := &s.cfg
	if sc.durable != "" && b.st.cursors == nil {
		return fmt.Errorf("%w: WithDurable: %w", ErrInvalidOption, ErrNoCursors)
	}
	if sc.durable != "" && sc.subscriber == "" {
		sc.subscriber = sc.durable
	}
	s.rs = new(resumeState)
	s.rs.recovered.Store(true)
	concrete := !match.IsPattern(s.pattern)
	if !concrete && sc.replay == 0 && sc.durable == "" {
		return b.add(s)
	}
	later, err := b.register(s, concrete)
	for i := range later {
		later[i].settle(context.Background())
	}
	if err != nil {
		return err
	}
	switch {
	case s.q != nil || len(s.rs.plans) == 0:
	case s.cfg.pacing != nil:
		go b.catchUpPaced(s)
	default:
		b.catchUpAll(s)
	}
	return nil
}

// register plans s's start in every matching topic and adds it, all under
// the topics' locks, so that no message falls between the stored ones s
// will read and the live ones it will receive: from then on, until s has
// caught up, those live messages wait in s's plan (see catchup). What
// enqueuing messages of an in-memory history to an async subscription
// leaves to do after the locks it returns.
func (b *Broker) register(s *Subscription, concrete bool) ([]afterPush, error) {
	var topics []*topicState
	if concrete {
		ts, err := b.topic(s.pattern)
		if err != nil {
			return nil, err
		}
		topics = []*topicState{ts}
	} else {
		if err := b.loadTopics(s.pattern); err != nil {
			return nil, err
		}
		b.topicsMu.Lock()
		defer b.topicsMu.Unlock()
		topics = b.matchingTopics(s.pattern)
	}
	for _, ts := range topics {
		ts.mu.Lock()
		defer ts.mu.Unlock()
	}
	ctx := context.Background()
	queued, err := b.planAll(ctx, s, topics, concrete)
	if err != nil {
		return nil, err
	}
	if err := b.add(s); err != nil {
		return nil, err
	}
	for _, c := range s.rs.plans {
		if c.ts.catching == nil {
			c.ts.catching = make(map[*Subscription]*catchup)
		}
		c.ts.catching[s] = c
	}
	var later []afterPush
	for _, m := range queued {
		if a, ok := s.enqueue(m); ok {
			later = append(later, a)
		}
	}
	return later, nil
}

// planAll plans s's start in topics, whose locks are held. The messages
// of an in-memory history are read at once: that history is bounded, and
// drops its oldest messages as new ones come, so a later catch-up could
// find them gone. An async subscription's are returned, for its queue; an
// inline one's wait in its plan, handed to it after the locks.
func (b *Broker) planAll(ctx context.Context, s *Subscription, topics []*topicState, concrete bool) ([]*Message, error) {
	var queued []*Message
	for _, ts := range topics {
		c, err := b.plan(ctx, s, ts, concrete)
		switch {
		case err != nil:
			return nil, err
		case c == nil:
		case b.st.mem != nil:
			var held []*Message
			err = b.readInto(ctx, s, c, 0, noGate, func(m *Message) error { held = append(held, m); return nil })
			if err != nil && err != errStopped {
				return nil, err
			}
			if s.q != nil {
				queued = append(queued, held...)
			} else {
				c.held = held
				s.rs.plans = append(s.rs.plans, c)
			}
		default:
			s.rs.plans = append(s.rs.plans, c)
		}
	}
	return queued, nil
}

// loadTopics gives a broker-side state to every stored topic matching
// pattern, so that a subscription to the pattern finds them.
func (b *Broker) loadTopics(pattern string) error {
	var names []string
	err := b.st.s.Topics(context.Background(), func(name string) bool {
		if match.Matches(pattern, name) {
			names = append(names, name)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for _, name := range names {
		if _, err := b.topic(name); err != nil {
			return err
		}
	}
	return nil
}

// plan decides where s starts in ts; ts's lock is held. It returns nil
// when s starts with the live messages.
func (b *Broker) plan(ctx context.Context, s *Subscription, ts *topicState, concrete bool) (*catchup, error) {
	info, err := b.st.s.Topic(ctx, ts.name)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var cur *Cursor
	if s.cfg.durable != "" {
		c, ok, err := b.st.cursors.LoadCursor(ctx, s.cfg.durable, ts.name)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if ok {
			cur = &c
		} else if err := b.firstCursor(ctx, s.cfg.durable, ts.name, info); err != nil {
			return nil, err
		}
	}
	from, recovered := startAt(&s.cfg, info, cur, b.st.backlog)
	if !recovered {
		s.rs.recovered.Store(false)
	}
	if concrete {
		s.rs.epoch, s.rs.offset = info.Epoch, info.Last
	}
	if from > info.Last {
		return nil, nil
	}
	return &catchup{ts: ts, next: from, mark: info.Last, last: info.Last}, nil
}

// firstCursor saves a new durable subscription's position in a topic
// before any message reaches it, so that what is published while it is
// away, should it leave before taking one, is waiting when it comes back.
func (b *Broker) firstCursor(ctx context.Context, name, topic string, info TopicInfo) error {
	c := Cursor{Subscriber: name, Topic: topic, Epoch: info.Epoch, Offset: info.Last}
	if err := b.st.cursors.SaveCursor(ctx, c); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// startAt returns the offset a subscription starts from in a topic, and
// whether it misses nothing it asked for.
func startAt(sc *subConfig, info TopicInfo, cur *Cursor, backlog int) (uint64, bool) {
	live := info.Last + 1
	switch {
	case cur != nil:
		from, ok := resumeAt(cur.Epoch, cur.Offset, info)
		if live-from > uint64(backlog) {
			return live - uint64(backlog), false
		}
		return from, ok
	case sc.durable != "":
		return live, true
	case sc.resume:
		return resumeAt(sc.resumeEpoch, sc.resumeOffset, info)
	case sc.replay > 0:
		return lastFrom(info, sc.replay), true
	}
	return live, true
}

// resumeAt returns where a resume after offset of epoch starts, and
// whether it misses nothing.
func resumeAt(epoch, offset uint64, info TopicInfo) (uint64, bool) {
	switch {
	case epoch == 0 && offset == 0:
		return info.First, info.First <= 1
	case epoch != info.Epoch || offset > info.Last:
		return info.Last + 1, false
	case offset+1 < info.First:
		return info.First, false
	}
	return offset + 1, true
}

// TopicInfo describes topic's log in the broker's store, or without one in
// its in-memory history.
func (b *Broker) TopicInfo(ctx context.Context, topic string) (TopicInfo, error) {
	return b.st.s.Topic(ctx, topic)
}

// DeleteTopic removes topic's stored messages and gives it a new epoch:
// its next message has offset 1, and subscribers resuming with the old
// epoch learn that they missed messages.
func (b *Broker) DeleteTopic(ctx context.Context, topic string) error {
	ts, err := b.topic(topic)
	if err != nil {
		return err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if err := b.st.s.Delete(ctx, topic); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	info, err := b.st.s.Topic(ctx, topic)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	ts.epoch.Store(info.Epoch)
	ts.seq = info.Last
	return nil
}

// Trim applies the retention rules ([WithRetention]) to every stored topic
// now; the broker also does every retention interval.
func (b *Broker) Trim(ctx context.Context) error {
	if len(b.st.rules) == 0 {
		return nil
	}
	type job struct {
		topic string
		r     Retention
	}
	var jobs []job
	err := b.st.s.Topics(ctx, func(name string) bool {
		for _, rule := range b.st.rules {
			if match.Matches(rule.pattern, name) {
				if !rule.r.IsZero() {
					jobs = append(jobs, job{name, rule.r})
				}
				break
			}
		}
		return true
	})
	for _, j := range jobs {
		if err != nil {
			break
		}
		err = b.st.s.Trim(ctx, j.topic, j.r)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

// retainLoop applies retention every interval until the broker closes.
func (b *Broker) retainLoop(every time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.st.stop:
			return
		case <-t.C:
			if b.st.lease != nil && !b.st.lease(context.Background()) {
				continue
			}
			if err := b.Trim(context.Background()); err != nil {
				b.log.Warn("whispeer: applying retention failed", "error", err)
			}
		}
	}
}

// HasStore reports whether the broker keeps its messages in a [Store]
// given [WithStore]: then offsets and epochs mean something across
// restarts, and replay reaches as far as the store's log. Without one they
// hold for the broker's life, and replay reaches as far as its in-memory
// history ([WithHistory]).
func (b *Broker) HasStore() bool { return b.st.mem == nil }

// readBound returns the offset below which a catch-up reads ts's stored
// messages; ts's lock is held. It stops at the topic's gate, and with a
// backplane after the last message delivered here: the later ones, in
// the store already, reach the subscription from the backplane.
func (b *Broker) readBound(ts *topicState) uint64 {
	if b.watch != nil {
		return ts.seq + 1
	}
	return ts.gatedFrom()
}
