package whispeer

import (
	"context"
	"errors"
)

// Pacing makes an inline subscription served from a [Store] catch up at its
// subscriber's pace, for [WithPacing]: a transport whose subscriber is a
// remote client with a bounded queue and window reads the stored messages
// as fast as the client takes them, rather than all at once.
type Pacing struct {
	// Context is the context of the handler calls for stored messages;
	// when it ends the catch-up stops. Nil means context.Background().
	Context context.Context
	// Room returns nil when the subscriber has room for one more message,
	// or else a channel that is closed when it may have. It must not
	// block: the broker calls it before every stored message, the last
	// ones under the topic's lock.
	Room func() <-chan struct{}
	// Done, if not nil, is called once the catch-up has ended, with
	// [Subscription.Recovered]: false when messages after the position
	// resumed from could not be delivered, such as those that retention
	// removed first, or when the catch-up stopped early.
	Done func(recovered bool)
	// Replay, if not nil, receives the messages replayed to the
	// subscription, history and stored messages alike, in place of the
	// subscription's handler, so that a subscriber tells them from live
	// messages by the handler that gets them.
	Replay Handler
}

// catchUpPage is how many stored messages a paced catch-up reads at once.
const catchUpPage = 256

// errPaused ends a page of a paced catch-up when the subscriber has no
// room for the next message.
var errPaused = errors.New("whispeer: catch-up paused")

// catchUpPaced is the goroutine of a paced catch-up: it brings s up to the
// live messages of every topic it has a plan for, then calls Done.
func (b *Broker) catchUpPaced(s *Subscription) {
	defer b.wg.Done() // added by add
	for _, c := range s.rs.plans {
		if !b.pace(s, c) {
			s.rs.recovered.Store(false)
		}
	}
	s.rs.plans = nil
	if done := s.cfg.pacing.Done; done != nil {
		done(s.rs.recovered.Load())
	}
}

// pace delivers the stored messages of c's topic from c.next on, a page at
// a time as the subscriber has room, and makes s live in the topic: the
// pages that reach the end of the log are read under the topic's lock, so
// that no live message comes between. It reports false if it stopped
// before the end.
func (b *Broker) pace(s *Subscription, c *catchup) bool {
	ctx := s.cfg.pacing.Context
	for {
		if err := b.awaitRoom(ctx, s); err != nil {
			break
		}
		info, err := b.st.s.Topic(ctx, c.ts.name)
		if err != nil {
			b.log.Warn("whispeer: reading the store failed", "pattern", s.pattern, "topic", c.ts.name, "error", err)
			break
		}
		tail := info.Last < c.next+catchUpSlack
		if tail {
			c.ts.mu.Lock()
		}
		n, err := b.readPage(ctx, s, c)
		if tail && err == nil && n < catchUpPage {
			delete(c.ts.catching, s) // caught up: live from now on
			c.ts.mu.Unlock()
			return true
		}
		if tail {
			c.ts.mu.Unlock()
		}
		if err != nil && err != errPaused {
			if err != errStopped {
				b.log.Warn("whispeer: reading the store failed", "pattern", s.pattern, "topic", c.ts.name, "error", err)
			}
			break
		}
	}
	c.ts.mu.Lock()
	delete(c.ts.catching, s)
	c.ts.mu.Unlock()
	return false
}

// awaitRoom waits until s's subscriber has room for a message, and
// returns errStopped if the subscription, its pacing context or the broker
// stops first.
func (b *Broker) awaitRoom(ctx context.Context, s *Subscription) error {
	for {
		if b.stopping(s) || ctx.Err() != nil {
			return errStopped
		}
		ch := s.cfg.pacing.Room()
		if ch == nil {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
		case <-b.st.stop:
		}
	}
}

// readPage delivers up to catchUpPage stored messages of c's topic from
// c.next on, as long as s's subscriber has room; it returns how many it
// read, and errPaused if it stopped for room.
func (b *Broker) readPage(ctx context.Context, s *Subscription, c *catchup) (int, error) {
	n := 0
	err := b.st.s.Read(ctx, c.ts.name, c.next, catchUpPage, func(m *Message) error {
		if b.stopping(s) || ctx.Err() != nil {
			return errStopped
		}
		if n > 0 && s.cfg.pacing.Room() != nil {
			return errPaused
		}
		n++
		if d := b.advance(s, c, m); d != nil {
			s.deliverReplay(ctx, d)
		}
		return nil
	})
	if errors.Is(err, errPaused) {
		return n, errPaused
	}
	if errors.Is(err, errStopped) {
		return n, errStopped
	}
	return n, err
}
