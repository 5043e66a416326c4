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
	// block: the broker calls it, under no lock of its own, before every
	// message of the catch-up, stored or held back meanwhile.
	Room func() <-chan struct{}
	// Done, if not nil, is called once the catch-up has ended, with
	// [Subscription.Recovered]: false when messages after the position
	// resumed from could not be delivered, such as those that retention
	// removed first, or when the catch-up stopped early.
	Done func(recovered bool)
	// Replay, if not nil, receives the messages replayed to the
	// subscription, history and stored messages alike, published before
	// the subscription was made, in place of the subscription's handler,
	// so that a subscriber tells them from live messages by the handler
	// that gets them.
	Replay Handler
}

// errPaused ends a page of a paced catch-up when the subscriber has no
// room for the next message.
var errPaused = errors.New("whispeer: catch-up paused")

// catchUpPaced is the goroutine of a paced catch-up: it brings s up to the
// live messages of every topic it has a plan for, then calls Done.
func (b *Broker) catchUpPaced(s *Subscription) {
	defer b.wg.Done() // added by add
	f := b.feedFor(s)
	for _, c := range s.rs.plans {
		if err := b.catchUp(f, c); err != nil {
			s.rs.recovered.Store(false)
			if err != errStopped {
				b.log.Warn("whispeer: reading the store failed", "pattern", s.pattern, "topic", c.ts.name, "error", err)
			}
		}
	}
	s.rs.plans = nil
	if done := s.cfg.pacing.Done; done != nil {
		done(s.rs.recovered.Load())
	}
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
