package whispeer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/internal/msgid"
)

// Broker routes published messages to the subscriptions whose patterns
// match their topics. Its methods are safe for concurrent use.
type Broker struct {
	cfg     config
	log     *slog.Logger
	limits  match.Limits
	ids     *msgid.Gen
	clock   clock
	subs    *match.Sublist[*Subscription]
	hooks   hooks
	engines engines
	st      *storage
	dedup   *dedupTable
	watch   *watches // what the backplane carries; nil without one

	topics  sync.Map // topic name → *topicState
	ntopics atomic.Int64
	// topicsMu is read-locked to create a topic and write-locked by a
	// subscribe that replays history, so no topic appears while it looks.
	topicsMu sync.RWMutex

	// mu guards the fields below it. The lock order is topicsMu, then
	// topicState.mu (several in name order), then the history's (a ring's
	// or MemoryStore's mu, never nested, or the store's own), then mu, then the
	// Sublist's and queue.mu. Handlers run under no lock, replayed history
	// included (see catchup.go).
	mu       sync.Mutex
	all      map[*Subscription]struct{}
	bySub    map[subKey]*Subscription // subscriptions made WithSubscriber
	bindings []binding

	bound     atomic.Pointer[[]binding] // a copy of bindings for Publish; nil when empty
	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
	pluginErr error          // what closing the plugins returned
	wg        sync.WaitGroup // async workers

	published atomic.Uint64
	dropped   atomic.Uint64
	localOnly atomic.Uint64 // QoS 0 messages delivered here only (routeLocal)
}

// subKey identifies a subscriber's subscription to a pattern.
type subKey struct{ subscriber, pattern string }

// topicState is what the broker keeps per topic. Its lock orders the
// assignment of sequence numbers with matching and the hand-off to async
// queues, so every async subscriber sees a topic's messages in sequence
// order, and a replaying subscribe sees history and live messages meet
// without a gap or an overlap.
type topicState struct {
	// The fields a publish uses come first, the ring's with them, so that
	// routing a message touches as few lines of memory as it can.
	mu       sync.Mutex
	log      topicLog
	seq      uint64
	messages uint64 // routed through this broker; seq may start elsewhere
	// catching holds the subscriptions still catching up on the topic,
	// each with its plan: its live messages wait there (see catchup.go).
	catching map[*Subscription]*catchup
	gate     *gate // nil until the topic's first ExactlyOnce message with a store
	// ring is, without a store, the topic's ring in the in-memory history
	// (log), unless another topicState of the same name made it first: it
	// lives here so that a publish finds both in one object.
	ring  ring
	name  string
	epoch atomic.Uint64 // the topic's epoch in the broker's history
	// synced reports, with a backplane, that seq is the offset of the
	// topic's last message delivered here, the backplane carrying the
	// topic's messages since.
	synced bool
}

// New returns a broker configured by opts. With no options it is a working
// in-memory broker.
func New(opts ...Option) (*Broker, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	h, err := newHooks(cfg.plugins)
	if err != nil {
		return nil, err
	}
	engs, err := newEngines(&cfg)
	if err != nil {
		return nil, err
	}
	b := &Broker{
		hooks:   h,
		engines: engs,
		cfg:     cfg,
		log:     cfg.logger,
		limits:  match.Limits{MaxBytes: cfg.maxTopicBytes, MaxLevels: cfg.maxTopicLevels},
		ids:     msgid.New(),
		subs:    match.New[*Subscription](cfg.matchCacheSize),
		all:     make(map[*Subscription]struct{}),
		bySub:   make(map[subKey]*Subscription),
		dedup:   newDedupTable(cfg.dedup),
	}
	if b.log == nil {
		b.log = slog.Default()
	}
	if b.st, err = newStorage(&cfg, &b.engines, b.clock.now); err != nil {
		return nil, err
	}
	if cfg.store.store != nil {
		if err := b.dedup.load(context.Background(), b.st.s, b.clock.now()); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
	}
	if err := b.provision(); err != nil {
		return nil, err
	}
	if bp := cfg.backplane; bp != nil {
		b.watch = newWatches(bp)
		if err := bp.Start(b.receive); err != nil {
			return nil, fmt.Errorf("backplane: %w", err)
		}
	}
	if len(b.st.rules) > 0 {
		b.wg.Add(1)
		go b.retainLoop(cfg.store.interval)
	}
	return b, nil
}

// Publish sends payload to every subscription whose pattern matches topic.
// It returns once the message is handed to every async subscription's queue
// and every inline handler has returned, except with a store behind an
// [ExactlyOnce] message of the topic that is not yet durable: such a message
// and those routed after it reach their subscribers, in order, once it is
// (see docs/persistence.md). A Publish waiting for its store, or at
// ExactlyOnce for the messages ahead of it, returns ctx's error when ctx
// ends first: the message is still stored and delivered if it was routed,
// and an ExactlyOnce id stays held until the store answers. The broker keeps
// payload: don't modify it after Publish, unless the publish names its
// publisher ([WithPublisher]), which makes the broker copy it.
func (b *Broker) Publish(ctx context.Context, topic string, payload []byte, opts ...PublishOption) error {
	return b.publishWith(ctx, topic, payload, nil, opts)
}

// PublishAsync is Publish for a publisher that keeps several messages in
// flight, as a server acknowledging QoS 1 publishes does: it returns once
// the message is routed, without waiting for the store, and calls done
// with what Publish would have returned once the message is durable (at
// once at QoS 0 or without a store). done is called exactly once unless
// PublishAsync returns an error; it may run before PublishAsync returns,
// in the store's goroutine and under the broker's locks: it must be short
// and must not call the broker. With a store, an ExactlyOnce message
// reaches its subscribers once durable, in a goroutine of the broker's
// that may still be delivering it when done runs.
func (b *Broker) PublishAsync(ctx context.Context, topic string, payload []byte, done func(error), opts ...PublishOption) error {
	if done == nil {
		return fmt.Errorf("%w: nil done", ErrInvalidOption)
	}
	return b.publishWith(ctx, topic, payload, done, opts)
}

// PublishMessage publishes a message its caller built, rather than one
// that Publish builds from options: m's Topic, Payload, ID, Headers, QoS,
// Sealed and Time, as [WithID], [WithHeaders], [WithQoS],
// [WithSealedPayload] and [WithTime] would set them; the broker numbers
// the message itself. It routes a copy and keeps no part of m but the
// bytes of its Payload and Headers, as Publish keeps its payload. from,
// when not nil, names the publisher as [WithPublisher] does, and the
// broker then copies those bytes too. With done nil it returns as Publish
// does, otherwise as PublishAsync does. It is how a transport publishes
// what it parsed, and how a message received is published again.
func (b *Broker) PublishMessage(ctx context.Context, m *Message, from Publisher, done func(error)) error {
	return b.publish(ctx, m, sender{from: from}, done)
}

// publishWith publishes the message that opts describe.
func (b *Broker) publishWith(ctx context.Context, topic string, payload []byte, done func(error), opts []PublishOption) error {
	r := Message{Topic: topic, Payload: payload}
	var s sender
	for _, o := range opts {
		if err := o.apply(&r, &s); err != nil {
			return err
		}
	}
	return b.publish(ctx, &r, s, done)
}

// publish routes a copy of r, published by s.from (nil for no one), lent
// to the publish's handlers when s.from is set.
func (b *Broker) publish(ctx context.Context, r *Message, s sender, done func(error)) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if len(r.Payload) > b.cfg.maxPayload {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrPayloadTooLarge, len(r.Payload), b.cfg.maxPayload)
	}
	from := s.from
	lend := from != nil
	box := newBox(r.Payload, lend, lend)
	if box.borrowed {
		defer recycle(box)
	}
	m := &box.Message
	m.Topic, m.ID, m.QoS, m.Headers, m.Sealed, m.Time = r.Topic, r.ID, r.QoS, r.Headers, r.Sealed, r.Time
	m.publisher = from
	if m.QoS == ExactlyOnce && from != nil {
		m.PublisherID = dedupID(from)
	}
	if err := checkPublished(m); err != nil {
		return err
	}
	if m.ID == "" {
		fillID(b.ids, box)
	}
	if bs := b.bound.Load(); bs != nil {
		if err := checkBindings(*bs, m); err != nil {
			return err
		}
	}
	if !m.Sealed && (b.engines.def != nil || len(b.engines.overrides) > 0) {
		if err := b.checkTopic(m.Topic); err != nil {
			return err
		}
		if err := b.seal(m); err != nil {
			return err
		}
	}
	if len(b.hooks.publish) > 0 {
		var err error
		if m, err = b.onPublish(ctx, m); err != nil {
			return err
		}
	}
	ts, err := b.topic(m.Topic)
	if err != nil {
		return err
	}
	// The topic's own name, equal to m's: the match cache keeps it as its
	// key, and finds it again without comparing bytes.
	m.Topic = ts.name
	if m.QoS == ExactlyOnce {
		return b.publishOnce(ctx, ts, m, done, r.ID == "", s.receipt)
	}
	return b.route(ctx, ts, m, done, s.receipt)
}

// route stamps m, unless its publisher did (WithTime), and hands it to the
// matching subscriptions; done, when not nil, receives the outcome of a
// durable append (see PublishAsync). With a store, an ExactlyOnce message
// and the topic's messages routed after it wait in the topic's gate until
// it is durable. r, when not nil, receives m's offset and epoch.
func (b *Broker) route(ctx context.Context, ts *topicState, m *Message, done func(error), r *Receipt) error {
	if b.watch != nil {
		return b.routeOut(ctx, ts, m, done, r)
	}
	if m.Time.IsZero() {
		m.Time = b.clock.now()
	}
	var h *heldMessage
	ts.mu.Lock()
	if m.QoS == ExactlyOnce && b.st.mem == nil {
		h, done = ts.hold(b, done)
	}
	m, durable, err := ts.log.append(ctx, m, done)
	if err != nil {
		ts.mu.Unlock()
		return err
	}
	ts.seq = m.Seq
	ts.messages++
	if r != nil {
		r.Offset, r.Epoch = m.Seq, ts.epoch.Load()
	}
	subs := b.subs.Match(ts.name)
	catching := len(ts.catching) > 0
	if catching {
		subs = ts.live(subs)
	}
	if g := ts.gate; g != nil && (h != nil || g.busy.Load()) && g.push(h, m, subs) {
		if catching {
			ts.divert(m, true)
		}
		ts.mu.Unlock()
		b.published.Add(1)
		g.drain(ctx)
		return b.settled(ctx, m, durable, done)
	}
	if catching {
		ts.divert(m, false)
	}
	var room [4]afterPush // what the enqueues leave to do after the lock
	later, hasSync := b.enqueue(room[:0], subs, m)
	ts.mu.Unlock()
	b.published.Add(1)
	b.deliver(ctx, later, hasSync, subs, m)
	return b.settled(ctx, m, durable, done)
}

// enqueue hands m to subs' async queues, appending to later what is left
// to do after the topic's lock, and reports whether subs has inline ones.
func (b *Broker) enqueue(later []afterPush, subs []*Subscription, m *Message) ([]afterPush, bool) {
	hasSync := false
	for _, s := range subs {
		if s.q == nil {
			hasSync = true
			continue
		}
		if a, ok := s.enqueue(m.keep()); ok {
			later = append(later, a)
		}
	}
	return later, hasSync
}

// deliver finishes the fan-out enqueue began, under no lock: drops and
// Block waits, then each inline subscription's handler.
func (b *Broker) deliver(ctx context.Context, later []afterPush, hasSync bool, subs []*Subscription, m *Message) {
	for i := range later {
		later[i].settle(ctx)
	}
	if hasSync {
		for _, s := range subs {
			if s.q == nil {
				s.deliverSync(ctx, m)
			}
		}
	}
}

// fanOut hands m, a lasting message, to subs: the fan-out of a message
// released by a topic's gate, outside the topic's lock.
func (b *Broker) fanOut(ctx context.Context, subs []*Subscription, m *Message) {
	var room [4]afterPush
	later, hasSync := b.enqueue(room[:0], subs, m)
	b.deliver(ctx, later, hasSync, subs, m)
}

// settled returns the outcome of routing m once it is as durable as its
// publisher asked: it waits for durable, or calls done when m is durable
// already.
func (b *Broker) settled(ctx context.Context, m *Message, durable chan error, done func(error)) error {
	if durable != nil {
		return awaitDurable(ctx, durable)
	}
	if done != nil && b.st.durableNow(m) {
		done(nil)
	}
	return nil
}

// checkTopic validates a topic name without creating the topic.
func (b *Broker) checkTopic(name string) error {
	if _, ok := b.topics.Load(name); ok {
		return nil
	}
	if err := match.ValidateTopic(name, b.limits); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidTopic, truncate(name), err)
	}
	return nil
}

// topic returns the state of a topic, creating it on its first publish.
func (b *Broker) topic(name string) (*topicState, error) {
	if v, ok := b.topics.Load(name); ok {
		return v.(*topicState), nil
	}
	if err := b.checkTopic(name); err != nil {
		return nil, err
	}
	b.topicsMu.RLock()
	defer b.topicsMu.RUnlock()
	if b.ntopics.Add(1) > int64(b.cfg.maxTopics) {
		b.ntopics.Add(-1)
		return nil, fmt.Errorf("%w: limit %d", ErrTooManyTopics, b.cfg.maxTopics)
	}
	ts := &topicState{name: name}
	log, epoch, err := b.st.open(context.Background(), name, &ts.ring)
	if err != nil {
		b.ntopics.Add(-1)
		return nil, err
	}
	ts.log = log
	ts.epoch.Store(epoch)
	v, loaded := b.topics.LoadOrStore(name, ts)
	if loaded {
		b.ntopics.Add(-1)
	}
	return v.(*topicState), nil
}

// Subscribe registers handler for the topics matching pattern. By default
// the handler runs asynchronously, in a goroutine of the subscription's own,
// fed by a bounded queue; see [WithInline] and the other [SubscribeOption]s.
func (b *Broker) Subscribe(pattern string, handler Handler, opts ...SubscribeOption) (*Subscription, error) {
	if handler == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidOption)
	}
	if err := match.ValidatePattern(pattern, b.limits); err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidPattern, truncate(pattern), err)
	}
	sc, err := newSubConfig(b.cfg.subDefaults, opts)
	if err != nil {
		return nil, err
	}
	s := &Subscription{b: b, pattern: pattern, handler: handler, cfg: sc, done: make(chan struct{})}
	if len(b.hooks.subscribe) > 0 {
		if err := b.onSubscribe(s); err != nil {
			return nil, err
		}
	}
	if !sc.inline {
		s.q = newQueue(sc.queueSize)
		s.ctx, s.cancel = context.WithCancel(context.Background())
	}
	if err := b.startWatching(s); err != nil {
		return nil, err
	}
	if err := b.addReplaying(s); err != nil {
		b.stopWatching(s)
		if s.cancel != nil {
			s.cancel()
		}
		return nil, err
	}
	return s, nil
}

// addReplaying registers s and, when it asks for replay, resume or a
// durable position, hands it the history of every matching topic before
// any live message.
func (b *Broker) addReplaying(s *Subscription) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if s.cfg.resume && match.IsPattern(s.pattern) {
		return fmt.Errorf("%w: resuming from an offset needs a topic, not a pattern", ErrInvalidOption)
	}
	return b.addStored(s)
}

// matchingTopics returns the topics matching pattern, sorted by name.
func (b *Broker) matchingTopics(pattern string) []*topicState {
	if !match.IsPattern(pattern) {
		if v, ok := b.topics.Load(pattern); ok {
			return []*topicState{v.(*topicState)}
		}
		return nil
	}
	var topics []*topicState
	b.topics.Range(func(k, v any) bool {
		if match.Matches(pattern, k.(string)) {
			topics = append(topics, v.(*topicState))
		}
		return true
	})
	slices.SortFunc(topics, func(a, b *topicState) int { return strings.Compare(a.name, b.name) })
	return topics
}

// add registers s and starts its worker.
func (b *Broker) add(s *Subscription) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return ErrClosed
	}
	if len(b.all) >= b.cfg.maxSubscriptions {
		return fmt.Errorf("%w: limit %d", ErrTooManySubscriptions, b.cfg.maxSubscriptions)
	}
	if id := s.cfg.subscriber; id != "" {
		k := subKey{id, s.pattern}
		if _, ok := b.bySub[k]; ok {
			return fmt.Errorf("%w: subscriber %q to %q", ErrDuplicateSubscription, truncate(id), truncate(s.pattern))
		}
		b.bySub[k] = s
	}
	b.all[s] = struct{}{}
	b.subs.Insert(s.pattern, s)
	if s.q != nil {
		b.wg.Add(1)
		go s.run()
	} else if s.rs != nil && len(s.rs.plans) > 0 {
		b.wg.Add(1) // done when Subscribe has caught up
	}
	return nil
}

// remove unregisters s.
func (b *Broker) remove(s *Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if id := s.cfg.subscriber; id != "" {
		delete(b.bySub, subKey{id, s.pattern})
	}
	delete(b.all, s)
	b.subs.Remove(s.pattern, s)
}

// Close stops the broker: publishes and subscribes fail with [ErrClosed],
// async subscriptions drain their queues for up to the drain timeout (see
// [WithDrainTimeout]), and Close returns once every goroutine the broker
// started has exited. Handlers must return once their context is canceled.
func (b *Broker) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.drainTimeout)
	defer cancel()
	err := b.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		b.log.Warn("whispeer: drain timeout passed, pending messages dropped", "timeout", b.cfg.drainTimeout)
		return b.pluginErr
	}
	return err
}

// Shutdown is Close with a context bounding the drain: when ctx is done,
// pending messages are dropped with [DropShutdown], handler contexts are
// canceled, and Shutdown returns ctx's error once the workers have exited.
func (b *Broker) Shutdown(ctx context.Context) error {
	b.closeOnce.Do(func() { b.closeErr = b.shutdown(ctx) })
	return b.closeErr
}

func (b *Broker) shutdown(ctx context.Context) error {
	b.mu.Lock()
	b.closed.Store(true)
	subs := make([]*Subscription, 0, len(b.all))
	for s := range b.all {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	close(b.st.stop)
	for _, s := range subs {
		if s.q != nil {
			s.q.close(false)
		} else if !s.closed.Swap(true) {
			close(s.done)
		}
	}
	drained := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(drained)
	}()
	select {
	case <-drained:
		b.pluginErr = b.release()
		return b.pluginErr
	case <-ctx.Done():
	}
	for _, s := range subs {
		if s.q != nil {
			s.cancel()
			for _, m := range s.q.close(true) {
				s.drop(m, DropShutdown)
			}
		}
	}
	<-drained
	b.pluginErr = b.release()
	return errors.Join(ctx.Err(), b.pluginErr)
}

// release closes the plugins and the store once the broker has stopped.
func (b *Broker) release() error {
	err := b.closePlugins()
	if bp := b.cfg.backplane; bp != nil {
		if berr := bp.Close(); berr != nil {
			err = errors.Join(err, fmt.Errorf("close backplane: %w", berr))
		}
	}
	if serr := b.st.s.Close(); serr != nil {
		err = errors.Join(err, fmt.Errorf("close store: %w", serr))
	}
	return err
}

// invoke calls h, s's handler, for one delivery.
func (b *Broker) invoke(ctx context.Context, s *Subscription, h Handler, m *Message) error {
	if len(b.hooks.deliver) > 0 {
		b.onDeliver(s, m)
	}
	if m.engine != nil && !s.cfg.raw {
		var err error
		if m, err = m.opened(); err != nil {
			return err
		}
	}
	return h(ctx, m)
}

func (b *Broker) reportError(s *Subscription, m *Message, err error) {
	if b.cfg.onError != nil {
		b.cfg.onError(s, m, err)
		return
	}
	b.log.Warn("whispeer: handler failed", "pattern", s.pattern, "topic", m.Topic, "id", m.ID, "error", err)
}

// Stats counts the broker's traffic and state.
type Stats struct {
	Published     uint64 // messages accepted by Publish
	Dropped       uint64 // messages dropped by any subscription
	Duplicates    uint64 // ExactlyOnce publishes recognised as retries
	Topics        int    // distinct topics published to or subscribed to by name
	Subscriptions int    // live subscriptions
	// LocalOnly counts the QoS 0 messages delivered to this broker's
	// subscriptions only, without an offset, while its backplane was down
	// (see [Backplane]).
	LocalOnly uint64
}

// Stats returns the broker's counters.
func (b *Broker) Stats() Stats {
	b.mu.Lock()
	n := len(b.all)
	b.mu.Unlock()
	return Stats{
		Published:     b.published.Load(),
		Dropped:       b.dropped.Load(),
		Duplicates:    b.dedup.dups.Load(),
		Topics:        int(b.ntopics.Load()),
		Subscriptions: n,
		LocalOnly:     b.localOnly.Load(),
	}
}

// truncate shortens a client-supplied string for an error message.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
