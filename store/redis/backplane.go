package redis

import (
	"context"
	"errors"
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

// DefaultQueue bounds the messages a Backplane has received and not yet
// handed to its broker.
const DefaultQueue = 1 << 16

// Backplane is a [whispeer.Backplane] on Redis Pub/Sub: it receives what
// a [Store] made [WithPublish] publishes. A concrete topic is received on
// its sharded channel (SSUBSCRIBE); a pattern on the unsharded channel of
// its first level (SUBSCRIBE), or of every first level (PSUBSCRIBE) when
// its first level is a wildcard. Each watch has a goroutine that keeps its
// subscription, resubscribing after a lost connection. Received messages
// wait in a bounded queue for one goroutine that hands them to the broker;
// when it is full they are dropped and counted (Dropped), and the broker
// reads them from the store when the topic's next message shows the gap.
type Backplane struct {
	st  *Store
	log *slog.Logger

	q         chan received
	stop      chan struct{}
	wg        sync.WaitGroup
	dropped   atomic.Uint64
	bad       atomic.Uint64 // received messages that did not decode
	up        atomic.Bool   // the last subscription attempt worked
	reachable atomic.Bool   // Redis answered the last probe
	ctx       context.Context
	cancel    context.CancelFunc // ends ctx: Close

	mu       sync.Mutex
	watches  map[string]context.CancelFunc
	patterns map[string]struct{}
	closed   bool
}

type received struct {
	channel, payload string
}

// BackplaneOption configures a Backplane.
type BackplaneOption func(*Backplane)

// WithQueue bounds the messages received and not yet delivered (default
// [DefaultQueue]).
func WithQueue(n int) BackplaneOption {
	return func(b *Backplane) { b.q = make(chan received, max(n, 1)) }
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
	b := &Backplane{st: st, log: slog.Default(), stop: make(chan struct{}),
		watches: make(map[string]context.CancelFunc), patterns: make(map[string]struct{})}
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

// wanted reports whether a message of topic received on channel is one
// the broker asked for: its topic's channel is watched, or a watched
// pattern matches it.
func (b *Backplane) wanted(channel, topic string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.watches[topic]; ok && channel == b.st.Channel(topic) {
		return true
	}
	if strings.HasPrefix(channel, b.st.opt.prefix+":w:") {
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
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return whispeer.ErrClosed
	}
	if _, ok := b.watches[topic]; ok {
		b.mu.Unlock()
		return nil
	}
	wctx, cancel := context.WithCancel(context.Background())
	b.watches[topic] = cancel
	if match.IsPattern(topic) {
		b.patterns[topic] = struct{}{}
	}
	b.mu.Unlock()
	ready := make(chan error, 1)
	b.wg.Add(1)
	go b.keep(wctx, topic, ready)
	select {
	case err := <-ready:
		if err != nil {
			b.Unwatch(topic)
			return err
		}
		return nil
	case <-ctx.Done():
		b.Unwatch(topic)
		return ctx.Err()
	}
}

// Unwatch stops receiving topic's messages.
func (b *Backplane) Unwatch(topic string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cancel, ok := b.watches[topic]; ok {
		cancel()
		delete(b.watches, topic)
		delete(b.patterns, topic)
	}
}

// subscription returns the command that subscribes to topic's messages
// and the one that ends it.
func (b *Backplane) subscription(topic string) (sub, unsub rueidis.Completed) {
	c := b.st.c
	if !match.IsPattern(topic) {
		ch := b.st.Channel(topic)
		return c.B().Ssubscribe().Channel(ch).Build(), c.B().Sunsubscribe().Channel(ch).Build()
	}
	first, _, _ := strings.Cut(topic, "/")
	if first == "+" || first == "#" {
		ch := b.st.opt.prefix + ":w:*"
		return c.B().Psubscribe().Pattern(ch).Build(), c.B().Punsubscribe().Pattern(ch).Build()
	}
	ch := b.st.opt.prefix + ":w:" + first
	return c.B().Subscribe().Channel(ch).Build(), c.B().Unsubscribe().Channel(ch).Build()
}

// keep holds topic's subscription until ctx is done, subscribing again
// after a lost connection; ready receives the outcome of the first attempt.
func (b *Backplane) keep(ctx context.Context, topic string, ready chan error) {
	defer b.wg.Done()
	sub, unsub := b.subscription(topic)
	var once sync.Once
	confirm := func(err error) { once.Do(func() { ready <- err }) }
	hctx := rueidis.WithOnSubscriptionHook(ctx, func(s rueidis.PubSubSubscription) {
		if strings.HasSuffix(s.Kind, "subscribe") && !strings.Contains(s.Kind, "un") {
			b.up.Store(true)
			confirm(nil)
		}
	})
	hctx = rueidis.WithOnReceiveReturnHook(hctx, func(err error, c rueidis.CommandClient) error {
		if errors.Is(err, context.Canceled) {
			return c.Do(context.Background(), unsub).Error()
		}
		return err
	})
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		err := b.st.c.Receive(hctx, sub, func(m rueidis.PubSubMessage) {
			select {
			case b.q <- received{m.Channel, m.Message}:
			default:
				b.dropped.Add(1)
			}
		})
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			confirm(fmt.Errorf("redis subscribe: %w", err))
			if b.up.Swap(false) { // logged once per outage, not per subscription and attempt
				b.log.Warn("whispeer: redis subscriptions lost; subscribing again", "topic", truncate(topic), "error", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	confirm(ctx.Err())
}

// Up reports whether the backplane's subscriptions are in place: false
// from a lost subscription until one is made again.
func (b *Backplane) Up() bool { return b.up.Load() }

// Down reports whether the backplane cannot carry messages now: a
// subscription is lost, or Redis did not answer the last probe (every
// second, bounded by the store's timeout). Its broker then delivers its
// own QoS 0 publishes to its own subscriptions only.
func (b *Backplane) Down() bool { return !b.up.Load() || !b.reachable.Load() }

// Dropped returns how many received messages the full queue dropped.
func (b *Backplane) Dropped() uint64 { return b.dropped.Load() }

// Close ends every subscription and stops delivering.
func (b *Backplane) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	for t, cancel := range b.watches {
		cancel()
		delete(b.watches, t)
	}
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
