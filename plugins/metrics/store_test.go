package metrics_test

import (
	"context"
	"errors"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/plugins/metrics/metricstest"
	"github.com/whispeer-io/whispeer/store/memory"
)

func TestInstrumentStore(t *testing.T) {
	p := metrics.New(metrics.Options{LatencySample: 1}) // time every append
	b := newBroker(t, whispeer.WithPlugin(p), whispeer.WithStore(p.InstrumentStore(memory.New())))
	ctx := context.Background()
	b.Publish(ctx, "a", []byte("x"))                                         // QoS 0: not waited for
	b.Publish(ctx, "a", []byte("y"), whispeer.WithQoS(whispeer.AtLeastOnce)) // waits until durable
	got := make(chan string, 2)
	if _, err := b.Subscribe("a", func(_ context.Context, m *whispeer.Message) error {
		got <- string(m.Payload)
		return nil
	}, whispeer.WithInline(), whispeer.WithReplay(2)); err != nil {
		t.Fatal(err)
	}
	if a, b := <-got, <-got; a != "x" || b != "y" {
		t.Fatalf("replayed %q, %q", a, b)
	}
	f := metricstest.Scrape(t, p.Handler())
	want(t, f, 2, "whispeer_store_latency_seconds", "op", metrics.StoreAppend)
	want(t, f, 1, "whispeer_store_latency_seconds", "op", metrics.StoreDurable)
	if n, ok := f.Value("whispeer_store_latency_seconds", "op", metrics.StoreRead); !ok || n < 1 {
		t.Errorf("reads observed: %v, %v", n, ok)
	}
}

// TestInstrumentStore_SampledAppends checks that appends are timed one in
// LatencySample, as delivery latency is.
func TestInstrumentStore_SampledAppends(t *testing.T) {
	p := metrics.New(metrics.Options{LatencySample: 4})
	b := newBroker(t, whispeer.WithPlugin(p), whispeer.WithStore(p.InstrumentStore(memory.New())))
	for range 8 {
		if err := b.Publish(t.Context(), "a", []byte("x"), whispeer.WithQoS(whispeer.AtLeastOnce)); err != nil {
			t.Fatal(err)
		}
	}
	f := metricstest.Scrape(t, p.Handler())
	want(t, f, 2, "whispeer_store_latency_seconds", "op", metrics.StoreAppend)
	want(t, f, 2, "whispeer_store_latency_seconds", "op", metrics.StoreDurable)
}

// TestInstrumentStore_Cursors checks that the instrumented store keeps
// the cursors of a store that keeps them, and reports ErrNoCursors for
// one that keeps none.
func TestInstrumentStore_Cursors(t *testing.T) {
	p := metrics.New(metrics.Options{})
	ctx := context.Background()
	c := whispeer.Cursor{Subscriber: "s", Topic: "t", Epoch: 1, Offset: 2}
	keeps := p.InstrumentStore(memory.New())
	if err := keeps.SaveCursor(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := keeps.LoadCursor(ctx, "s", "t"); err != nil || !ok || got != c {
		t.Fatalf("LoadCursor = %+v, %v, %v; want %+v", got, ok, err, c)
	}
	none := p.InstrumentStore(struct{ whispeer.Store }{memory.New()})
	if err := none.SaveCursor(ctx, c); !errors.Is(err, whispeer.ErrNoCursors) {
		t.Fatalf("SaveCursor on a store without cursors: %v, want ErrNoCursors", err)
	}
	if _, _, err := none.LoadCursor(ctx, "s", "t"); !errors.Is(err, whispeer.ErrNoCursors) {
		t.Fatalf("LoadCursor on a store without cursors: %v, want ErrNoCursors", err)
	}
}

// dupStore is a store that finds every append a duplicate, as a store
// that de-duplicates ExactlyOnce messages finds a retry.
type dupStore struct{ whispeer.Store }

func (dupStore) Append(context.Context, *whispeer.Message, func(error)) error {
	return whispeer.ErrDuplicate
}

// TestInstrumentStore_Duplicates checks that a retry the store
// recognised is no store error.
func TestInstrumentStore_Duplicates(t *testing.T) {
	p := metrics.New(metrics.Options{LatencySample: 2})
	s := p.InstrumentStore(dupStore{memory.New()})
	for range 2 { // one timed, one not
		if err := s.Append(t.Context(), &whispeer.Message{Topic: "a"}, nil); !errors.Is(err, whispeer.ErrDuplicate) {
			t.Fatalf("Append: %v, want ErrDuplicate", err)
		}
	}
	f := metricstest.Scrape(t, p.Handler())
	if n, ok := f.Value("whispeer_store_errors_total", "op", metrics.StoreAppend); ok && n != 0 {
		t.Fatalf("store errors counted for duplicates: %v", n)
	}
}
