package metrics_test

import (
	"context"
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
	}, whispeer.WithSync(), whispeer.WithReplay(2)); err != nil {
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
