package whispeer

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
)

// gate holds a topic's messages back while an ExactlyOnce message of the
// topic awaits its store's sync: that message reaches its subscribers only
// once it is durable, so that a crash cannot lose from the store a message
// a subscriber already has (its publisher would send it again and it would
// be delivered twice). The messages of the topic routed after it wait
// behind it and are fanned out in their order once it is released. Without
// a store the broker has no gate: its history is as durable as it gets.
//
// A topic has a gate from its first ExactlyOnce message on; its lock comes
// after the topic's (route pushes under both). One goroutine at a time
// fans out a gate's messages: a publisher's, or one started by the store's
// done callback that made the queue's head ready.
type gate struct {
	b    *Broker
	busy atomic.Bool // something is queued or being fanned out: route must queue

	mu       sync.Mutex
	queue    []*heldMessage // oldest first from head
	head     int
	out      uint64     // the offset of the last message fanned out
	fanned   *sync.Cond // on mu: signalled when out grows
	draining bool       // a goroutine is fanning out the queue's head
}

// heldMessage is a message waiting in a gate with the subscriptions it
// was matched to when it was routed.
type heldMessage struct {
	m      *Message // a lasting copy (Message.keep)
	subs   []*Subscription
	queued bool // pushed to the gate
	ready  bool // may be fanned out: durable, failed, or not ExactlyOnce
	failed bool // its append failed: it is not delivered
}

// hold returns the entry of an ExactlyOnce message about to be appended
// and the done to hand its store, which releases the entry before calling
// done. ts.mu is held.
func (ts *topicState) hold(b *Broker, done func(error)) (*heldMessage, func(error)) {
	if ts.gate == nil {
		ts.gate = &gate{b: b}
		ts.gate.fanned = sync.NewCond(&ts.gate.mu)
	}
	g, h := ts.gate, &heldMessage{}
	return h, func(err error) {
		g.mu.Lock()
		h.ready, h.failed = true, err != nil
		// Unless route has yet to push it (route then fans it out) or a
		// drain is under way (it will find it), a goroutine of its own
		// fans it out: not the store's, which a handler waiting for a
		// sync would block.
		run := h.queued && !g.draining && g.head < len(g.queue) && g.queue[g.head].ready
		g.draining = g.draining || run
		g.mu.Unlock()
		if run {
			go g.run(context.Background())
		}
		if done != nil {
			done(err)
		}
	}
}

// push queues m in the gate when it must wait: h is m's entry when m is
// an ExactlyOnce message, else nil, and m is queued only behind others. It
// reports whether m was queued. ts.mu is held.
func (g *gate) push(h *heldMessage, m *Message, subs []*Subscription) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if h == nil {
		if !g.busy.Load() {
			return false
		}
		h = &heldMessage{ready: true}
	}
	h.m, h.subs, h.queued = m, subs, true
	g.queue = append(g.queue, h)
	g.busy.Store(true)
	return true
}

// drain fans out the gate's ready messages in their order, unless another
// goroutine is doing so (it will find them).
func (g *gate) drain(ctx context.Context) {
	g.mu.Lock()
	if g.draining {
		g.mu.Unlock()
		return
	}
	g.draining = true
	g.mu.Unlock()
	g.run(ctx)
}

// run is drain once this goroutine has made itself the gate's drainer: it
// stops at the first message still awaiting its store.
func (g *gate) run(ctx context.Context) {
	g.mu.Lock()
	for g.head < len(g.queue) && g.queue[g.head].ready {
		h := g.queue[g.head]
		g.queue[g.head] = nil
		if g.head++; g.head == len(g.queue) {
			g.queue, g.head = g.queue[:0], 0
		}
		g.mu.Unlock()
		if !h.failed {
			g.b.fanOut(ctx, h.subs, h.m)
		}
		g.mu.Lock()
		g.out = h.m.Seq
		g.fanned.Broadcast()
	}
	g.draining = false
	if g.head == len(g.queue) {
		g.busy.Store(false)
	}
	g.mu.Unlock()
}

// await returns once the message at offset seq, which has left its
// store's done, has been fanned out (or skipped, had it failed): the wait
// of a Publish for its subscribers. It returns ctx's error when ctx ends
// first.
func (g *gate) await(ctx context.Context, seq uint64) error {
	g.drain(ctx)
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		g.fanned.Broadcast()
		g.mu.Unlock()
	})
	defer stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.out < seq {
		if err := ctx.Err(); err != nil {
			return err
		}
		g.fanned.Wait()
	}
	return nil
}

// noGate is gatedFrom's answer for a topic with nothing in its gate.
const noGate = math.MaxUint64

// gatedFrom returns the offset of the oldest message in ts's gate, below
// which a catch-up may read the store, or noGate. ts.mu is held: the gate
// then gains nothing, though it may release what it holds.
func (ts *topicState) gatedFrom() uint64 {
	g := ts.gate
	if g == nil || !g.busy.Load() {
		return noGate
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.head < len(g.queue) {
		return g.queue[g.head].m.Seq
	}
	return noGate
}

// join adds s, a subscription that has caught up to offset from, to the
// subscriptions of every message in the gate, unless the gate released
// the message at from meanwhile: then it reports false, and s has that
// message to read from the store. The topic's lock is held.
func (g *gate) join(s *Subscription, from uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.head == len(g.queue) || g.queue[g.head].m.Seq != from {
		return false
	}
	for _, h := range g.queue[g.head:] {
		h.subs = append(h.subs[:len(h.subs):len(h.subs)], s)
	}
	return true
}
