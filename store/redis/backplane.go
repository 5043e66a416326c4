package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
)

// DefaultQueue bounds the payloads a Backplane has received and not yet
// handed to its broker: each is one message, or a run of up to 64
// messages of one topic appended together.
const DefaultQueue = 1 << 16

// DefaultQueueBytes bounds the bytes of the payloads a Backplane has
// received and not yet handed to its broker.
const DefaultQueueBytes = 64 << 20

// Backplane is a [whispeer.Backplane] on Redis Pub/Sub: it receives what
// a [Store] made [WithPublish] publishes. A concrete topic is received on
// its sharded channel (SSUBSCRIBE); a pattern on the unsharded channel of
// its first level (SUBSCRIBE), or of every first level (PSUBSCRIBE) when
// its first level is a wildcard. The subscriptions of every watch share
// one dedicated connection per Redis (per master of a Redis Cluster, the
// one that holds the channel's slot), and one goroutine per connection
// keeps them, subscribing them all again after a lost connection; a watch
// costs no goroutine. Received messages wait in a bounded queue for one
// goroutine that hands them to the broker, at most [DefaultQueue]
// payloads and [DefaultQueueBytes] bytes of them; past either bound they
// are dropped and counted (Dropped), and the broker reads them from the
// store when the topic's next message shows the gap.
type Backplane struct {
	st  *Store
	log *slog.Logger

	q         chan received
	maxBytes  int64
	queued    atomic.Int64 // bytes of the payloads in q
	stop      chan struct{}
	wg        sync.WaitGroup
	dropped   atomic.Uint64
	bad       atomic.Uint64 // received messages that did not decode
	up        atomic.Bool   // every connection holds its subscriptions
	reachable atomic.Bool   // Redis answered the last probe
	ctx       context.Context
	cancel    context.CancelFunc // ends ctx: Close

	// mu guards the fields below, and each shard's; it is taken after a
	// shard's cmd, never before.
	mu       sync.Mutex
	watches  map[string]struct{}
	patterns map[string]struct{}
	chans    map[channel]*chanState
	shards   map[string]*shard    // by address; "" for a Redis that is no cluster
	slots    []slotRange          // a Redis Cluster's masters, by slot
	down     int                  // shards whose connection is lost
	retry    map[channel]struct{} // to subscribe again: retryLater
	retrying bool                 // a goroutine works on retry
	closed   bool
}

type received struct {
	channel, payload string
}

// chanState is a channel some watches need: how many, and the shard it
// was last subscribed on.
type chanState struct {
	n  int
	sh *shard
}

// BackplaneOption configures a Backplane.
type BackplaneOption func(*Backplane)

// WithQueue bounds the payloads received and not yet delivered (default
// [DefaultQueue]).
func WithQueue(n int) BackplaneOption {
	return func(b *Backplane) { b.q = make(chan received, max(n, 1)) }
}

// WithQueueBytes bounds the bytes of the payloads received and not yet
// delivered (default [DefaultQueueBytes]); a payload larger than n is
// queued only when the queue is empty.
func WithQueueBytes(n int) BackplaneOption {
	return func(b *Backplane) { b.maxBytes = int64(max(n, 1)) }
}

// WithBackplaneLogger sets where the backplane reports lost subscriptions
// and damaged messages (default slog.Default()).
func WithBackplaneLogger(l *slog.Logger) BackplaneOption { return func(b *Backplane) { b.log = l } }

// NewBackplane returns the backplane of st, which must publish what it
// appends ([WithPublish]).
func NewBackplane(st *Store, opts ...BackplaneOption) (*Backplane, error) {
	if !st.opt.publish {
		return nil, fmt.Errorf("%w: redis backplane: the store does not publish (WithPublish)", whispeer.ErrInvalidOption)
	}
	b := &Backplane{st: st, log: slog.Default(), stop: make(chan struct{}), maxBytes: DefaultQueueBytes,
		watches: make(map[string]struct{}), patterns: make(map[string]struct{}),
		chans: make(map[channel]*chanState), shards: make(map[string]*shard), retry: make(map[channel]struct{})}
	for _, o := range opts {
		o(b)
	}
	if b.q == nil {
		b.q = make(chan received, DefaultQueue)
	}
	b.up.Store(true)
	b.reachable.Store(true)
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Start begins handing received messages to r, and probing Redis.
func (b *Backplane) Start(r func(m *whispeer.Message, epoch uint64)) error {
	b.wg.Add(2)
	go b.run(r)
	go b.probe()
	return nil
}

// probeEvery is how often a Backplane pings Redis to tell an outage that
// no subscription shows, as a network that drops packets.
const probeEvery = time.Second

// probe pings Redis every probeEvery until Close, each ping bounded by the
// store's timeout, and logs when Redis stops or starts answering.
func (b *Backplane) probe() {
	defer b.wg.Done()
	t := time.NewTicker(probeEvery)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		err := b.st.Ping(b.ctx)
		if b.ctx.Err() != nil {
			return
		}
		switch was := b.reachable.Swap(err == nil); {
		case err != nil && was:
			b.log.Warn("whispeer: redis is unreachable: QoS 0 publishes reach this node's subscribers only, QoS 1 and 2 publishes fail", "error", err)
		case err == nil && !was:
			b.log.Info("whispeer: redis answers again: publishes go through it")
		}
	}
}

// run hands what the subscriptions received to r until Close.
func (b *Backplane) run(r func(*whispeer.Message, uint64)) {
	defer b.wg.Done()
	for {
		select {
		case <-b.stop:
			return
		case msg := <-b.q:
			b.queued.Add(-int64(len(msg.payload)))
			msgs, ep, err := decodePublished(msg.payload)
			if err != nil {
				b.damaged(msg.channel, err)
				continue
			}
			if b.wanted(msg.channel, msgs[0].Topic) {
				for _, m := range msgs {
					r(m, ep)
				}
			}
		}
	}
}

// wanted reports whether a message of topic received on the channel name
// is one the broker asked for: its topic's channel is watched, or a
// watched pattern matches it.
func (b *Backplane) wanted(name, topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.watches[topic]; ok && name == b.st.Channel(topic) {
		return true
	}
	if strings.HasPrefix(name, b.st.opt.prefix+":w:") {
		for p := range b.patterns {
			if match.Matches(p, topic) {
				return true
			}
		}
	}
	return false
}

// Watch subscribes to topic's channel, or a pattern's, and returns once
// Redis confirmed the subscription.
func (b *Backplane) Watch(ctx context.Context, topic string) error {
	ch := b.channelOf(topic)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return whispeer.ErrClosed
	}
	if _, ok := b.watches[topic]; ok {
		b.mu.Unlock()
		return nil
	}
	b.watches[topic] = struct{}{}
	if match.IsPattern(topic) {
		b.patterns[topic] = struct{}{}
	}
	cs := b.chans[ch]
	if cs == nil {
		cs = &chanState{}
		b.chans[ch] = cs
	}
	cs.n++
	b.mu.Unlock()
	// Subscribed again even when another watch has the channel, which
	// Redis confirms at once: this watch's subscription is then confirmed.
	if err := b.subscribe(ctx, ch); err != nil {
		b.Unwatch(topic)
		b.mu.Lock()
		if b.chans[ch] != nil { // other watches need it: subscribe it later
			b.retryLater(ch)
		}
		b.mu.Unlock()
		return fmt.Errorf("redis subscribe: %w", err)
	}
	return nil
}

// Unwatch stops receiving topic's messages. The channel's subscription
// ends, without waiting, when no other watch needs it.
func (b *Backplane) Unwatch(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.watches[topic]; !ok {
		return
	}
	delete(b.watches, topic)
	delete(b.patterns, topic)
	ch := b.channelOf(topic)
	cs := b.chans[ch]
	if cs.n--; cs.n > 0 {
		return
	}
	delete(b.chans, ch)
	if sh := cs.sh; sh != nil {
		sh.unsub[ch] = struct{}{}
		sh.kick()
	}
}

// channel is what a watch subscribes to: a sharded or unsharded channel,
// or a pattern of channels.
type channel struct {
	name string
	kind byte // 's' sharded, 'n' unsharded, 'p' pattern
}

// channelOf returns the channel that carries topic's messages, or a
// pattern's.
func (b *Backplane) channelOf(topic string) channel {
	if !match.IsPattern(topic) {
		return channel{b.st.Channel(topic), 's'}
	}
	first, _, _ := strings.Cut(topic, "/")
	if first == "+" || first == "#" {
		return channel{b.st.opt.prefix + ":w:*", 'p'}
	}
	return channel{b.st.opt.prefix + ":w:" + first, 'n'}
}

// subscribeCmd returns the command that subscribes to ch.
func (b *Backplane) subscribeCmd(ch channel) rueidis.Completed {
	c := b.st.c
	switch ch.kind {
	case 's':
		return c.B().Ssubscribe().Channel(ch.name).Build()
	case 'p':
		return c.B().Psubscribe().Pattern(ch.name).Build()
	}
	return c.B().Subscribe().Channel(ch.name).Build()
}

// unsubscribeCmd returns the command that ends ch's subscription.
func (b *Backplane) unsubscribeCmd(ch channel) rueidis.Completed {
	c := b.st.c
	switch ch.kind {
	case 's':
		return c.B().Sunsubscribe().Channel(ch.name).Build()
	case 'p':
		return c.B().Punsubscribe().Pattern(ch.name).Build()
	}
	return c.B().Unsubscribe().Channel(ch.name).Build()
}

// onMessage queues what a connection received, dropping it when the
// queue is full, in payloads or in bytes; it runs on the connection's
// reading goroutine.
func (b *Backplane) onMessage(m rueidis.PubSubMessage) {
	n := int64(len(m.Message))
	if q := b.queued.Add(n); q > b.maxBytes && q != n {
		b.queued.Add(-n)
		b.dropped.Add(1)
		return
	}
	select {
	case b.q <- received{m.Channel, m.Message}:
	default:
		b.queued.Add(-n)
		b.dropped.Add(1)
	}
}

// Up reports whether the backplane's subscriptions are in place: false
// from a lost connection until its subscriptions are made again.
func (b *Backplane) Up() bool { return b.up.Load() }

// Down reports whether the backplane cannot carry messages now: a
// subscription is lost, or Redis did not answer the last probe (every
// second, bounded by the store's timeout). Its broker then delivers its
// own QoS 0 publishes to its own subscriptions only.
func (b *Backplane) Down() bool { return !b.up.Load() || !b.reachable.Load() }

// Dropped returns how many received payloads the full queue dropped.
func (b *Backplane) Dropped() uint64 { return b.dropped.Load() }

// Close ends every subscription and stops delivering.
func (b *Backplane) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	clear(b.watches)
	clear(b.patterns)
	clear(b.chans)
	b.mu.Unlock()
	b.cancel()
	close(b.stop)
	b.wg.Wait()
	return nil
}

// truncate bounds a name in logs.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

var _ whispeer.Backplane = (*Backplane)(nil)
