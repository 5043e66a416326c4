package whispeer_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/memory"
)

// syncingStore holds every Append's done until the test makes the oldest
// durable, or failed, as a store's sync does: in append order.
type syncingStore struct {
	whispeer.Store
	mu      sync.Mutex
	pending []func(error)
}

func (s *syncingStore) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	if done == nil {
		return s.Store.Append(ctx, m, nil)
	}
	return s.Store.Append(ctx, m, func(error) { // memory's, at once
		s.mu.Lock()
		s.pending = append(s.pending, done)
		s.mu.Unlock()
	})
}

// sync calls the oldest pending done with err.
func (s *syncingStore) sync(t *testing.T, err error) {
	t.Helper()
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.mu.Unlock()
		t.Fatal("no append awaits its sync")
	}
	done := s.pending[0]
	s.pending = s.pending[1:]
	s.mu.Unlock()
	done(err)
}

// received returns the payloads c received, in order.
func received(c *collector) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ps []string
	for _, m := range c.msgs {
		ps = append(ps, string(m.Payload))
	}
	return ps
}

// gateFixture is a broker on a syncingStore with an inline and an async
// subscription to topic "g".
type gateFixture struct {
	st            *syncingStore
	b             *whispeer.Broker
	inline, async collector
	acks          chan error
}

func newGateFixture(t *testing.T) *gateFixture {
	f := &gateFixture{st: &syncingStore{Store: memory.New()}, acks: make(chan error, 16)}
	f.b = newBroker(t, whispeer.WithStore(f.st))
	if _, err := f.b.Subscribe("g", f.inline.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.b.Subscribe("g", f.async.handle); err != nil {
		t.Fatal(err)
	}
	return f
}

// publish publishes payload on "g" at qos, its id the payload.
func (f *gateFixture) publish(t *testing.T, payload string, qos whispeer.QoS) {
	t.Helper()
	err := f.b.PublishAsync(context.Background(), "g", []byte(payload), func(err error) { f.acks <- err },
		whispeer.WithQoS(qos), whispeer.WithID(payload))
	if err != nil {
		t.Fatalf("PublishAsync(%q): %v", payload, err)
	}
}

// want checks that both subscriptions received want, in order, once every
// delivery in flight has settled.
func (f *gateFixture) want(t *testing.T, want ...string) {
	t.Helper()
	synctest.Wait()
	for name, c := range map[string]*collector{"inline": &f.inline, "async": &f.async} {
		if got := received(c); !slices.Equal(got, want) {
			t.Errorf("%s subscription received %q, want %q", name, got, want)
		}
	}
}

func TestBroker_QoS2WaitsForDurabilityInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGateFixture(t)
		f.publish(t, "a0", whispeer.AtMostOnce)
		f.publish(t, "b2", whispeer.ExactlyOnce)
		f.publish(t, "c1", whispeer.AtLeastOnce)
		f.publish(t, "d0", whispeer.AtMostOnce)
		f.publish(t, "e2", whispeer.ExactlyOnce)
		f.publish(t, "f0", whispeer.AtMostOnce)
		f.want(t, "a0")   // b2 is not durable yet, and the rest wait behind it
		f.st.sync(t, nil) // b2
		f.want(t, "a0", "b2", "c1", "d0")
		f.st.sync(t, nil) // c1: e2 still waits
		f.want(t, "a0", "b2", "c1", "d0")
		f.st.sync(t, nil) // e2
		f.want(t, "a0", "b2", "c1", "d0", "e2", "f0")
		f.publish(t, "g1", whispeer.AtLeastOnce) // the gate is open again
		f.want(t, "a0", "b2", "c1", "d0", "e2", "f0", "g1")
	})
}

func TestBroker_QoS2GateReleasedOnStoreError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newGateFixture(t)
		f.publish(t, "a2", whispeer.ExactlyOnce)
		f.publish(t, "b0", whispeer.AtMostOnce)
		f.want(t)
		broken := errors.New("disk full")
		f.st.sync(t, broken)
		var acks []error
		for len(f.acks) > 0 {
			acks = append(acks, <-f.acks)
		}
		if len(acks) != 2 || !errors.Is(acks[1], broken) {
			t.Fatalf("acks %v: want b0's nil, then a2's failure wrapping %v", acks, broken)
		}
		f.want(t, "b0") // the failed message is not delivered
		f.publish(t, "c0", whispeer.AtMostOnce)
		f.want(t, "b0", "c0")
	})
}

func TestBroker_CatchUpStopsAtQoS2Gate(t *testing.T) {
	for _, inline := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			f := newGateFixture(t)
			f.publish(t, "a0", whispeer.AtMostOnce)
			f.publish(t, "b2", whispeer.ExactlyOnce)
			f.publish(t, "c0", whispeer.AtMostOnce)
			var late collector
			opts := []whispeer.SubscribeOption{whispeer.WithReplay(10)}
			if inline {
				opts = append(opts, whispeer.WithInline())
			}
			if _, err := f.b.Subscribe("g", late.handle, opts...); err != nil {
				t.Fatal(err)
			}
			synctest.Wait()
			if got := received(&late); !slices.Equal(got, []string{"a0"}) {
				t.Errorf("inline %v: replay before b2 is durable gave %q, want [a0]", inline, got)
			}
			f.st.sync(t, nil)
			synctest.Wait()
			if got := received(&late); !slices.Equal(got, []string{"a0", "b2", "c0"}) {
				t.Errorf("inline %v: replay then live gave %q, want [a0 b2 c0]", inline, got)
			}
		})
	}
}
