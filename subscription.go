package whispeer

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// Handler handles one message. It must treat m as read-only. For an async
// subscription ctx is canceled when the subscription ends; for an inline one it
// is the publisher's context.
type Handler func(ctx context.Context, m *Message) error

// Subscription is one pattern subscribed with one handler. Its methods are
// safe for concurrent use.
type Subscription struct {
	b       *Broker
	pattern string
	handler Handler
	cfg     subConfig
	q       *queue // nil for an inline subscription
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
	closed  atomic.Bool
	rs      *resumeState // set when the broker has a store

	delivered atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
}

// SubscriptionStats counts what happened to a subscription's messages.
type SubscriptionStats struct {
	Delivered uint64 // handler calls that returned nil
	Failed    uint64 // handler calls that returned an error or panicked
	Dropped   uint64 // messages discarded without a handler call
	Pending   int    // messages queued now (async only)
}

// Pattern returns the pattern the subscription was made with.
func (s *Subscription) Pattern() string { return s.pattern }

// Subscriber returns the subscriber id given with [WithSubscriber], or "".
func (s *Subscription) Subscriber() string { return s.cfg.subscriber }

// Stats returns the subscription's counters.
func (s *Subscription) Stats() SubscriptionStats {
	st := SubscriptionStats{
		Delivered: s.delivered.Load(),
		Failed:    s.failed.Load(),
		Dropped:   s.dropped.Load(),
	}
	if s.q != nil {
		st.Pending = s.q.len()
	}
	return st
}

// Done returns a channel closed once the subscription has stopped: after
// Unsubscribe, or after [Broker.Close], and after its last handler call.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Unsubscribe stops the subscription: no handler call starts after it
// returns, except one already under way, and queued messages are dropped
// with [DropUnsubscribed]. It does not wait for a running handler; use Done
// for that. Unsubscribing twice is a no-op.
func (s *Subscription) Unsubscribe() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.b.remove(s)
	s.b.stopWatching(s)
	if s.q == nil {
		close(s.done)
		return nil
	}
	s.cancel()
	for _, m := range s.q.close(true) {
		s.drop(m, DropUnsubscribed)
	}
	return nil
}

// Close is Unsubscribe, so that a Subscription is an io.Closer.
func (s *Subscription) Close() error { return s.Unsubscribe() }

// enqueue hands m to an async subscription's queue. It runs under m's
// topic lock, in the publisher's goroutine, so it waits for nothing and
// calls no handler: a drop to report, or under [Block] a wait for room,
// is returned, with ok set, for the publisher to settle once it has let
// go of the lock.
func (s *Subscription) enqueue(m *Message) (a afterPush, ok bool) {
	res, old := s.q.push(m, s.cfg.overflow)
	switch res {
	case pushedOldest:
		return afterPush{s: s, m: old, reason: DropEvicted}, true
	case pushedOver:
		return afterPush{s: s, m: m, wait: true}, true
	case rejected:
		return afterPush{s: s, m: m, reason: DropQueueFull}, true
	case queueClosed:
		return afterPush{s: s, m: m, reason: s.stopReason()}, true
	}
	return afterPush{}, false
}

// afterPush is what an enqueue leaves to do after the topic's lock: report
// the drop of m, or wait for room for m, which went past the capacity of
// a queue under [Block].
type afterPush struct {
	s      *Subscription
	m      *Message
	reason DropReason
	wait   bool
}

// settle does what an enqueue left to do, under no lock: waits for room
// up to the block timeout, dropping m if none comes, or reports the drop.
func (a *afterPush) settle(ctx context.Context) {
	if a.wait {
		if a.s.q.awaitRoom(ctx, a.m, a.s.cfg.blockTimeout) {
			return
		}
		a.reason = DropTimeout
	}
	a.s.drop(a.m, a.reason)
}

// deliverSync runs the handler in the publisher's goroutine. Only a
// borrowing handler (subopt.Borrow, a transport's) gets a borrowed message
// as it is.
func (s *Subscription) deliverSync(ctx context.Context, m *Message) {
	s.deliverWith(ctx, s.handler, m)
}

// deliverReplay is deliverSync for a message of history or of the store
// replayed to the subscription: its pacing's Replay handler, when it has
// one, gets it (see [Pacing]).
func (s *Subscription) deliverReplay(ctx context.Context, m *Message) {
	h := s.handler
	if p := s.cfg.pacing; p != nil && p.Replay != nil {
		h = p.Replay
	}
	s.deliverWith(ctx, h, m)
}

// deliverWith runs h for m in the calling goroutine.
func (s *Subscription) deliverWith(ctx context.Context, h Handler, m *Message) {
	if s.closed.Load() {
		return
	}
	if !s.cfg.borrow {
		m = m.keep()
	}
	if err := s.call(ctx, h, m); err != nil {
		s.failed.Add(1)
		s.b.reportError(s, m.keep(), err)
		return
	}
	s.delivered.Add(1)
	s.accepted(m)
}

// run is an async subscription's worker: it pops batches and calls the
// handler until the queue is closed and drained, or the subscription is
// stopped.
func (s *Subscription) run() {
	defer s.b.wg.Done()
	defer close(s.done)
	if s.rs != nil && len(s.rs.plans) > 0 {
		s.b.catchUpAll(s)
	}
	var batch []*Message
	yielded := false
	for {
		var done bool
		batch, done = s.q.popAll(batch[:0])
		if done {
			return
		}
		if len(batch) == 0 {
			if !yielded {
				// Give the publisher a turn before parking: under load the
				// next pop then finds a batch, and no wake-up is needed.
				yielded = true
				runtime.Gosched()
				continue
			}
			<-s.q.wake
			continue
		}
		yielded = false
		for i, m := range batch {
			if s.ctx.Err() != nil {
				for _, m := range batch[i:] {
					s.drop(m, s.stopReason())
				}
				break
			}
			s.handle(m)
		}
		clear(batch)
	}
}

// handle calls the handler for m, redelivering an at-least-once message
// whose handler failed, with doubling delays.
func (s *Subscription) handle(m *Message) {
	delay := s.cfg.redeliveryDelay
	for attempt := 0; ; attempt++ {
		err := s.call(s.ctx, s.handler, m)
		if err == nil {
			s.delivered.Add(1)
			s.accepted(m)
			return
		}
		s.failed.Add(1)
		s.b.reportError(s, m, err)
		if m.QoS == AtMostOnce || attempt >= s.cfg.maxRedeliveries || isOpenError(err) || !s.sleep(delay) {
			return
		}
		delay = min(2*delay, maxRedeliveryDelay)
	}
}

// sleep waits for d or until the subscription stops; it reports whether the
// full delay passed.
func (s *Subscription) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// call runs the handler, turning a panic into an error.
func (s *Subscription) call(ctx context.Context, h Handler, m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrHandlerPanic, r)
		}
	}()
	return s.b.invoke(ctx, s, h, m)
}

func (s *Subscription) stopReason() DropReason {
	if s.closed.Load() {
		return DropUnsubscribed
	}
	return DropShutdown
}

func (s *Subscription) drop(m *Message, reason DropReason) {
	s.dropped.Add(1)
	s.b.dropped.Add(1)
	if s.b.cfg.onDrop != nil {
		s.b.cfg.onDrop(Drop{Subscription: s, Message: m, Reason: reason})
	}
	if len(s.b.hooks.drop) > 0 {
		s.b.onDrop(Drop{Subscription: s, Message: m, Reason: reason})
	}
}

// DropReason says why a message was dropped.
type DropReason uint8

// The reasons for a drop.
const (
	DropQueueFull    DropReason = iota // the queue was full under DropNewest
	DropEvicted                        // evicted as the oldest under DropOldest
	DropTimeout                        // the queue stayed full for the block timeout
	DropUnsubscribed                   // the subscription ended first
	DropShutdown                       // the broker closed before delivery
)

var dropReasons = [...]string{
	DropQueueFull:    "queue_full",
	DropEvicted:      "evicted",
	DropTimeout:      "timeout",
	DropUnsubscribed: "unsubscribed",
	DropShutdown:     "shutdown",
}

// String returns the reason's name, such as "queue_full".
func (r DropReason) String() string {
	if int(r) < len(dropReasons) {
		return dropReasons[r]
	}
	return fmt.Sprintf("drop(%d)", uint8(r))
}

// Drop describes one dropped message, for [WithDropHandler].
type Drop struct {
	Subscription *Subscription
	Message      *Message
	Reason       DropReason
}
