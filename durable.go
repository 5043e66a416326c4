package whispeer

import (
	"context"
	"fmt"
	"time"
)

// Durables calls fn with the name of every durable subscription
// ([WithDurable]) whose cursors the store keeps, and the last time one of
// its cursors was saved, in no particular order, until fn returns false:
// how an application that restarted finds the durable subscribers that
// never came back, to forget them with [Broker.ForgetDurable]. It fails
// with [ErrNoCursors] when the broker's store keeps none.
func (b *Broker) Durables(ctx context.Context, fn func(name string, saved time.Time) bool) error {
	if b.st.cursors == nil {
		return ErrNoCursors
	}
	last := make(map[string]time.Time)
	err := b.st.cursors.Cursors(ctx, func(c Cursor, saved time.Time) bool {
		if t, ok := last[c.Subscriber]; !ok || saved.After(t) {
			last[c.Subscriber] = saved
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	for name, saved := range last {
		if !fn(name, saved) {
			break
		}
	}
	return nil
}

// TouchDurable saves again, unchanged, the cursor in topic of the durable
// subscription name, if it has one, so that [Broker.Durables] gives it as
// saved now: as a subscriber leaves, it marks when it was last seen. It
// fails with [ErrNoCursors] when the broker's store keeps none.
func (b *Broker) TouchDurable(ctx context.Context, name, topic string) error {
	if b.st.cursors == nil {
		return ErrNoCursors
	}
	c, ok, err := b.st.cursors.LoadCursor(ctx, name, topic)
	if err == nil && ok {
		err = b.st.cursors.SaveCursor(ctx, c)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
