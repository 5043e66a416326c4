package client

import (
	"context"
	"errors"
	"fmt"
)

// Close stops the client after flushing: subscriptions stop taking
// deliveries and finish (and acknowledge) those already queued for them,
// what is queued for the connection is written and the server is given
// the time to take it (a PING round trip), and QoS 1 publishes get their
// PUBACK, all bounded by the client's timeout (WithTimeout). A client that
// is disconnected does not wait for a reconnection: its buffered publishes
// are dropped and its pending QoS 1 publishes fail with ErrClosed. Past
// the timeout, handler contexts are canceled and queued deliveries
// dropped. Close returns once every goroutine the client started has
// exited, so handlers must return once their context is canceled.
// Closing twice is a no-op.
func (c *Client) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.timeout)
	defer cancel()
	err := c.shutdown(ctx, false)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: close: %w", ErrTimeout, err)
	}
	return err
}

// Drain is Close bounded by ctx instead of the client's timeout, and
// patient with a lost connection: it waits for a reconnection to send what
// is buffered and to get the PUBACKs still missing. When ctx ends first,
// Drain stops the client at once and returns ctx's error.
func (c *Client) Drain(ctx context.Context) error {
	return c.shutdown(ctx, true)
}

// shutdown drains and stops the client. The first call does the work; a
// later one waits for it and returns nil.
func (c *Client) shutdown(ctx context.Context, patient bool) error {
	c.mu.Lock()
	if c.shutting {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.shutting, c.closing = true, true
	c.mu.Unlock()
	defer close(c.done)

	subs := c.liveSubs()
	for _, s := range subs {
		s.stopForDrain()
	}
	err := waitSubs(ctx, subs)
	if err == nil {
		err = c.waitSent(ctx, patient)
	}
	if err == nil && c.Connected() {
		if ferr := c.Flush(ctx); ctx.Err() != nil {
			err = ferr
		}
	}
	c.terminate(ErrClosed)
	for _, s := range subs {
		s.end(ErrClosed)
	}
	c.wg.Wait()
	return err
}

// waitSubs waits for the subscriptions' goroutines to finish their queues.
func waitSubs(ctx context.Context, subs []*Subscription) error {
	for _, s := range subs {
		select {
		case <-s.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// waitSent waits until every queued frame is written and every QoS 1
// publish acknowledged; when not patient, also until the connection is
// lost.
func (c *Client) waitSent(ctx context.Context, patient bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closed || (c.cur == nil && !patient) {
			return nil
		}
		if len(c.pend) == 0 && !c.writing && len(c.inflight) == 0 {
			return nil
		}
		ch := c.changedLocked()
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			c.mu.Lock()
			return ctx.Err()
		}
		c.mu.Lock()
	}
}
