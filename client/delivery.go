package client

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// maxArrivals bounds how many deliveries the reader collects before it
// hands them over, so that a handler need not wait for a long run of
// frames to be parsed.
const maxArrivals = 64

// arrivals collects, in the connection's reader, deliveries for one
// subscription from consecutive MSG frames, so that they reach its inbox
// under one lock.
type arrivals struct {
	cn   *conn         // the connection read
	sid  uint32        // the subscription the collected deliveries are for; 0 for none
	s    *Subscription // nil when it is gone or draining
	msgs []*Message
	seq  uint64     // the highest offset among msgs
	free []*Message // borrowed messages to reuse, from any subscription
}

// onMessage collects a MSG for its subscription, handing over what was
// collected for another one first.
func (c *Client) onMessage(cn *conn, a *arrivals, m *wire.Message) {
	if m.SID != a.sid || len(a.msgs) == maxArrivals {
		c.handOver(a)
		a.sid, a.s = m.SID, c.lookup(m.SID)
		if a.s != nil && a.s.draining.Load() {
			a.s = nil
		}
	}
	s := a.s
	if s == nil || (m.QoS == wire.ExactlyOnce && !c.arrived(cn, s, m)) {
		return
	}
	a.seq = max(a.seq, m.Offset)
	topic := ""
	if s.concrete && string(m.Topic) == s.pattern {
		topic = s.pattern // shared, not copied
	}
	if !s.cfg.borrow {
		a.msgs = append(a.msgs, newMessage(m, topic, cn.gen))
		return
	}
	var old *Message
	if n := len(a.free); n > 0 {
		old, a.free[n-1] = a.free[n-1], nil
		a.free = a.free[:n-1]
	}
	a.msgs = append(a.msgs, borrowMessage(old, m, topic, cn.gen))
}

// handOver moves the subscription's position past the collected
// deliveries and puts them in its inbox, waiting for room for at most the
// subscription's WithSlowConsumerWait, and reports those that still find
// it full. The reader hands over whenever the frames it has buffered run
// out, and before it handles a frame other than MSG.
func (c *Client) handOver(a *arrivals) {
	if s := a.s; s != nil {
		if s.concrete && a.seq > s.seq.Load() {
			s.seq.Store(a.seq)
		}
		rest := s.in.put(a.msgs, &a.free)
		if len(rest) > 0 {
			rest = c.waitRoom(a.cn, s, rest, &a.free)
		}
		for _, m := range rest {
			c.stats.dropped.Add(1)
			c.report(&DeliveryError{Pattern: s.pattern, Topic: m.Topic, ID: m.ID, Err: ErrSlowConsumer})
		}
	}
	clear(a.msgs)
	a.sid, a.s, a.msgs, a.seq = 0, nil, a.msgs[:0], 0
}

// waitRoom puts rest, the deliveries that found s's queue full, as its
// goroutine makes room, for at most s's wait, and returns those that still
// do not fit. While it waits the connection is not read, so the server
// slows what it sends; it stops waiting when the connection is given up
// and returns nothing when the subscription ends, like a queue that is
// never handled.
func (c *Client) waitRoom(cn *conn, s *Subscription, rest []*Message, spare *[]*Message) []*Message {
	if s.cfg.wait <= 0 || !s.in.mayWait() {
		return rest
	}
	cn.waiting.Store(true)
	defer cn.waiting.Store(false)
	t := time.NewTimer(s.cfg.wait)
	defer t.Stop()
	for len(rest) > 0 {
		select {
		case <-s.in.room:
		case <-t.C:
			s.in.giveUp()
			return rest
		case <-cn.done:
			return rest
		case <-s.done:
			return nil
		case <-s.ctx.Done():
			return nil
		}
		rest = s.in.put(rest, spare)
	}
	return rest
}

// onSubAck records the answer to a SUB: the first one completes
// Subscribe; a refusal after a reconnection ends the subscription.
func (c *Client) onSubAck(cn *conn, a *wire.SubAck) {
	s := c.lookup(a.SID)
	if s == nil {
		return
	}
	first := s.answered.CompareAndSwap(false, true)
	if a.Code != wire.CodeOK {
		err := serverError(a.Code, false, wire.TypeSubscribe, a.Text)
		if first {
			s.acked <- err
			return
		}
		c.report(fmt.Errorf("subscription %q refused after reconnecting: %w", s.pattern, err))
		s.unsubscribe(false)
		s.end(err)
		return
	}
	mode := wire.ResumeMode(s.mode.Load())
	if s.concrete && a.Epoch != 0 {
		newEpoch := s.epoch.Swap(a.Epoch) != a.Epoch
		if newEpoch {
			s.handed.Store(0) // offsets of another history
			s.floor.Store(0)
		}
		switch {
		case mode == wire.ResumeLast && !s.positioned.Load():
			s.seq.Store(a.Offset - min(a.Offset, uint64(s.cfg.resume.Last)))
		case mode != wire.ResumeLast && (newEpoch || !s.positioned.Load()):
			s.seq.Store(a.Offset)
		}
		s.positioned.Store(true)
	}
	if (mode == wire.ResumeOffset || mode == wire.ResumeDurable) && !a.Recovered {
		c.report(fmt.Errorf("subscription %q: %w", s.pattern, ErrGap))
	}
	if first {
		s.acked <- nil
	}
}

// run is the subscription's goroutine: it calls the handler for each
// queued delivery until the subscription ends, or finishes the queue and
// exits when Close drains it.
func (s *Subscription) run() {
	defer s.c.wg.Done()
	defer close(s.done)
	var msgs []*Message
	for {
		if msgs = s.in.take(msgs); len(msgs) > 0 {
			s.handleAll(msgs)
			continue
		}
		select {
		case <-s.in.ready:
		case e := <-s.events: // nil, never ready, without WithPresenceEvents
			s.cfg.onPresence(e)
		case <-s.drain:
			for {
				if msgs = s.in.take(msgs); len(msgs) == 0 {
					return
				}
				s.handleAll(msgs)
			}
		case <-s.ctx.Done():
			return
		}
	}
}

// handleAll handles msgs in order, until the subscription ends.
func (s *Subscription) handleAll(msgs []*Message) {
	for _, m := range msgs {
		if s.ctx.Err() != nil {
			return
		}
		s.handle(m)
	}
}

// handle opens a delivery, calls the handler and acknowledges it. A
// delivery that does not open is reported and acknowledged anyway, since
// sending it again would not help; a handler's error is reported and
// leaves the delivery unacknowledged.
func (s *Subscription) handle(m *Message) {
	c := s.c
	if err := s.open(m); err != nil {
		s.fail(m, fmt.Errorf("%w: %w", whispeer.ErrOpen, err))
		s.ack(m)
		return
	}
	if err := s.call(m); err != nil {
		s.fail(m, err)
		if errors.As(err, new(final)) {
			s.ack(m)
		} else if m.QoS == ExactlyOnce {
			s.once.forget(m) // to be handed over again when resent
		}
		return
	}
	c.stats.delivered.Add(1)
	s.ack(m)
}

// final marks a handler error that a redelivery cannot cure, such as a
// payload that does not decode: the delivery is acknowledged regardless.
type final struct{ error }

func (e final) Unwrap() error { return e.error }

// call runs the handler, turning a panic into an error.
func (s *Subscription) call(m *Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", whispeer.ErrHandlerPanic, r)
		}
	}()
	return s.handler(s.ctx, m)
}

// open replaces a sealed payload by its plaintext. With a keyring, an
// unsealed payload is refused unless WithAcceptPlaintext.
func (s *Subscription) open(m *Message) error {
	c := s.c
	if s.cfg.raw {
		m.Envelope = m.flagged
		return nil
	}
	if !m.flagged {
		if c.seal && !c.cfg.acceptPlain {
			return envelope.ErrNotSealed
		}
		return nil
	}
	var dst []byte
	if m.borrowed {
		dst = s.plain[:0] // the payload is lent: open it into the scratch
	}
	p, err := c.engine.Open(dst, m.Topic, m.ID, m.Payload)
	if err != nil {
		return err
	}
	if m.borrowed && cap(p) <= maxPlainScratch {
		s.plain = p[:0]
	}
	m.Payload = p
	return nil
}

// maxPlainScratch is the largest buffer a borrowing subscription keeps for
// opening envelopes: a larger plaintext gets a buffer of its own.
const maxPlainScratch = 64 << 10

func (s *Subscription) fail(m *Message, err error) {
	s.c.stats.failed.Add(1)
	topic, id := m.Topic, m.ID
	if m.borrowed {
		topic, id = strings.Clone(topic), strings.Clone(id)
	}
	s.c.report(&DeliveryError{Pattern: s.pattern, Topic: topic, ID: id, Err: err})
}

// ack acknowledges a QoS 1 delivery on the connection it arrived on; after
// a reconnection the ack has nobody to go to. A server that grants
// CapAckOffset is told the delivery's offset too, which names it even
// when another delivery on the subscription has the same id.
func (s *Subscription) ack(m *Message) {
	if m.QoS == ExactlyOnce {
		s.received(m)
		return
	}
	if m.QoS != AtLeastOnce {
		return
	}
	c := s.c
	c.mu.Lock()
	if cn := c.cur; cn != nil && cn.gen == m.gen {
		n := len(c.pend)
		a := wire.Ack{SID: s.sid, ID: bytesOf(m.ID)}
		if cn.caps.Has(wire.CapAckOffset) {
			a.Offset = m.Seq
		}
		var err error
		c.pend, err = wire.AppendAck(c.pend, wire.TypePubAck, &a)
		if n == 0 && err == nil {
			c.wakeLocked()
		}
	}
	c.mu.Unlock()
}

// Pattern returns the pattern the subscription was made with.
func (s *Subscription) Pattern() string { return s.pattern }

// Done returns a channel closed once the subscription has ended and its
// goroutine exited.
func (s *Subscription) Done() <-chan struct{} { return s.done }

// Err returns why the subscription ended: nil while it runs and after
// Unsubscribe, ErrClosed after the client closed, or the server's refusal
// when renewing it after a reconnection.
func (s *Subscription) Err() error {
	if p := s.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Position returns the topic's epoch and the offset of the latest message
// received, for WithResume; zeros for a pattern, or before the server
// reported them.
func (s *Subscription) Position() (epoch, offset uint64) {
	return s.epoch.Load(), s.seq.Load()
}

// Unsubscribe ends the subscription: the server is told, no handler call
// starts after it returns (one under way finishes) and queued deliveries
// are dropped. Unsubscribing twice is a no-op.
func (s *Subscription) Unsubscribe() error {
	s.unsubscribe(true)
	s.end(nil)
	return nil
}

// Close is Unsubscribe, so that a Subscription is an io.Closer.
func (s *Subscription) Close() error { return s.Unsubscribe() }

// unsubscribe unregisters s and, with tell, sends UNSUB.
func (s *Subscription) unsubscribe(tell bool) {
	c := s.c
	if !c.remove(s) || !tell {
		return
	}
	c.mu.Lock()
	if c.cur != nil {
		b, _ := wire.AppendUnsubscribe(nil, &wire.Unsubscribe{SID: s.sid})
		c.queueLocked(c.cur, b)
	}
	c.mu.Unlock()
}

// stopForDrain unregisters s and lets its goroutine finish the queue.
func (s *Subscription) stopForDrain() {
	s.c.remove(s)
	s.draining.Store(true)
	s.drainOn.Do(func() { close(s.drain) })
}

// end stops the subscription's goroutine; err is what Err reports.
func (s *Subscription) end(err error) {
	s.endOnce.Do(func() {
		if err != nil {
			s.err.Store(&err)
		}
		s.cancel()
	})
}
