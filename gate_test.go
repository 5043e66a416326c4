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

// qos2SyncingStore holds the done of ExactlyOnce appends until the test
// makes the oldest durable; other appends are durable at once.
type qos2SyncingStore struct{ syncingStore }

func (s *qos2SyncingStore) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	if m.QoS != whispeer.ExactlyOnce {
		return s.Store.Append(ctx, m, done)
	}
	return s.syncingStore.Append(ctx, m, done)
}

// TestBroker_InlineHandlerPublishesThroughOpenGate has an inline handler
// publish at QoS 1, and wait for its message to be durable, into a topic
// whose gate holds a QoS 2 message back: the publish returns once durable,
// without waiting for the gate, and its message is delivered after the
// QoS 2 one when that is released.
func TestBroker_InlineHandlerPublishesThroughOpenGate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &qos2SyncingStore{syncingStore{Store: memory.New()}}
		b := newBroker(t, whispeer.WithStore(st))
		var g collector
		if _, err := b.Subscribe("g", g.handle, whispeer.WithInline()); err != nil {
			t.Fatal(err)
		}
		published := make(chan error, 1)
		_, err := b.Subscribe("x", func(ctx context.Context, m *whispeer.Message) error {
			published <- b.Publish(ctx, "g", []byte("c1"), whispeer.WithQoS(whispeer.AtLeastOnce), whispeer.WithID("c1"))
			return nil
		}, whispeer.WithInline())
		if err != nil {
			t.Fatal(err)
		}
		acks := make(chan error, 1)
		if err := b.PublishAsync(context.Background(), "g", []byte("b2"), func(err error) { acks <- err },
			whispeer.WithQoS(whispeer.ExactlyOnce), whispeer.WithID("b2")); err != nil {
			t.Fatal(err)
		}
		publish(t, b, "x", "go")
		if err := <-published; err != nil {
			t.Fatalf("the handler's publish: %v", err)
		}
		synctest.Wait()
		if got := received(&g); len(got) != 0 {
			t.Fatalf("received %q while b2 awaits its sync", got)
		}
		st.sync(t, nil)
		if err := <-acks; err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := received(&g); !slices.Equal(got, []string{"b2", "c1"}) {
			t.Fatalf("received %q, want b2 then c1", got)
		}
	})
}

// TestBroker_GateHandlerPublishesAndWaits has the inline handler that a
// released QoS 2 message reaches publish into the same topic at QoS 1 and
// wait for its sync: the gate's fan-out, which runs the handler, does not
// hold up the store, and the handler's message follows.
func TestBroker_GateHandlerPublishesAndWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &syncingStore{Store: memory.New()}
		b := newBroker(t, whispeer.WithStore(st))
		var g collector
		published := make(chan error, 1)
		_, err := b.Subscribe("g", func(ctx context.Context, m *whispeer.Message) error {
			g.handle(ctx, m)
			if string(m.Payload) == "b2" {
				published <- b.Publish(ctx, "g", []byte("c1"), whispeer.WithQoS(whispeer.AtLeastOnce), whispeer.WithID("c1"))
			}
			return nil
		}, whispeer.WithInline())
		if err != nil {
			t.Fatal(err)
		}
		if err := b.PublishAsync(context.Background(), "g", []byte("b2"), func(error) {},
			whispeer.WithQoS(whispeer.ExactlyOnce), whispeer.WithID("b2")); err != nil {
			t.Fatal(err)
		}
		st.sync(t, nil) // b2: released to the handler, which publishes c1 and waits
		synctest.Wait()
		select {
		case err := <-published:
			t.Fatalf("the handler's publish returned %v before its sync", err)
		default:
		}
		st.sync(t, nil) // c1
		if err := <-published; err != nil {
			t.Fatalf("the handler's publish: %v", err)
		}
		synctest.Wait()
		if got := received(&g); !slices.Equal(got, []string{"b2", "c1"}) {
			t.Fatalf("received %q, want b2 then c1", got)
		}
	})
}

// TestBroker_QoS2PublishCancelled cancels a blocking QoS 2 Publish while it
// waits for its store, and another while it waits, durable, for a message
// ahead of it whose inline handler is slow: each returns the context's
// error at once, and the messages are delivered all the same.
func TestBroker_QoS2PublishCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &syncingStore{Store: memory.New()}
		b := newBroker(t, whispeer.WithStore(st))
		var g collector
		block := make(chan struct{})
		_, err := b.Subscribe("g", func(ctx context.Context, m *whispeer.Message) error {
			if string(m.Payload) == "a2" {
				<-block
			}
			return g.handle(ctx, m)
		}, whispeer.WithInline())
		if err != nil {
			t.Fatal(err)
		}
		publish := func(payload string) (context.CancelFunc, chan error) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- b.Publish(ctx, "g", []byte(payload), whispeer.WithQoS(whispeer.ExactlyOnce), whispeer.WithID(payload))
			}()
			synctest.Wait()
			return cancel, done
		}
		cancelA, doneA := publish("a2")
		cancelA() // waiting for its store
		if err := <-doneA; !errors.Is(err, context.Canceled) {
			t.Fatalf("Publish cancelled before its sync: %v, want context.Canceled", err)
		}
		cancelB, doneB := publish("b2")
		st.sync(t, nil) // a2: its handler blocks the gate
		st.sync(t, nil) // b2: durable, behind a2
		synctest.Wait()
		select {
		case err := <-doneB:
			t.Fatalf("Publish returned %v while a2's handler holds the gate", err)
		default:
		}
		cancelB()
		if err := <-doneB; !errors.Is(err, context.Canceled) {
			t.Fatalf("Publish cancelled behind the gate: %v, want context.Canceled", err)
		}
		close(block)
		synctest.Wait()
		if got := received(&g); !slices.Equal(got, []string{"a2", "b2"}) {
			t.Fatalf("received %q, want a2 then b2", got)
		}
	})
}
