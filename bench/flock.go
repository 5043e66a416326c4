package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// counter counts the data payloads one subscription received, and whether
// a probe showed it active.
type counter struct {
	n     atomic.Int64
	ready atomic.Bool
}

// flock is the set of subscriptions one workload measures, and the
// publisher's view of their progress.
type flock struct {
	topics    []string   // topic of each subscription
	subs      []*counter // one per subscription
	shared    bool       // all subscriptions share one topic (fan-out)
	published atomic.Int64
	waiting   atomic.Bool   // the publisher is blocked on its window
	wake      chan struct{} // nudges a waiting publisher
	onData    Handler       // optional, sees every data payload
}

// newFlock returns a flock of len(topics) subscriptions.
func newFlock(topics []string, shared bool) *flock {
	f := &flock{topics: topics, shared: shared, wake: make(chan struct{}, 1)}
	for range topics {
		f.subs = append(f.subs, &counter{})
	}
	return f
}

// handler returns the Handler of subscription i.
func (f *flock) handler(i int) Handler {
	c := f.subs[i]
	return func(p []byte) {
		if isProbe(p) {
			c.ready.Store(true)
			return
		}
		if f.onData != nil {
			f.onData(p)
		}
		c.n.Add(1)
		if f.waiting.Load() {
			select {
			case f.wake <- struct{}{}:
			default:
			}
		}
	}
}

// received returns the data payloads received over all subscriptions.
func (f *flock) received() int64 {
	var n int64
	for _, c := range f.subs {
		n += c.n.Load()
	}
	return n
}

// delivered returns how many publishes have reached every subscriber they
// were meant for: the slowest subscriber's count when the topic is shared,
// the sum otherwise.
func (f *flock) delivered() int64 {
	if !f.shared {
		return f.received()
	}
	low := f.subs[0].n.Load()
	for _, c := range f.subs[1:] {
		low = min(low, c.n.Load())
	}
	return low
}

// expected returns the deliveries the publishes so far should produce.
func (f *flock) expected() int64 {
	if f.shared {
		return f.published.Load() * int64(len(f.subs))
	}
	return f.published.Load()
}

// await publishes probes until every subscription has received one, so
// that measurement starts with every subscription active at the server.
func (f *flock) await(ctx context.Context, pub Client, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for round := 0; ; round++ {
		pending, sent := 0, map[string]bool{}
		for i, c := range f.subs {
			if c.ready.Load() {
				continue
			}
			pending++
			if t := f.topics[i]; !sent[t] && round%4 == 0 {
				sent[t] = true
				if err := pub.Publish(ctx, t, probe(i)); err != nil {
					return fmt.Errorf("probe: %w", err)
				}
			}
		}
		if pending == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d subscriptions not active after %v", pending, len(f.subs), timeout)
		}
		if err := sleep(ctx, 25*time.Millisecond); err != nil {
			return err
		}
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
