package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/plugins/metrics/metricstest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// gate rejects publishes to "closed".
type gate struct{}

func (gate) Name() string { return "gate" }

func (gate) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	if m.Topic == "closed" {
		return nil, errors.New("closed")
	}
	return m, nil
}

func newBroker(t *testing.T, opts ...whispeer.Option) *whispeer.Broker {
	t.Helper()
	opts = append(opts, whispeer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	b, err := whispeer.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func want(t *testing.T, f metricstest.Families, v float64, name string, labels ...string) {
	t.Helper()
	got, ok := f.Value(name, labels...)
	if !ok {
		t.Errorf("%s%v missing", name, labels)
		return
	}
	if got != v {
		t.Errorf("%s%v = %v, want %v", name, labels, got, v)
	}
}

func TestPlugin_MetricsMoveWithTraffic(t *testing.T) {
	p := metrics.New(metrics.Options{LatencySample: 1})
	b := newBroker(t, whispeer.WithPlugin(p), whispeer.WithPlugin(gate{}))
	before := metricstest.Scrape(t, p.Handler())
	want(t, before, 0, "whispeer_messages_in_total")
	want(t, before, 0, "whispeer_topics")

	h := hook.NewSet(b.Plugins(), nil) // as a server runs them
	c := hook.Conn{ID: "ws:1"}
	h.Connected(c)
	h.Authenticated(c)
	h.Connected(hook.Conn{ID: "ws:2"})
	h.Disconnected(c, nil)
	for _, pat := range []string{"a", "#"} {
		if _, err := b.Subscribe(pat, func(context.Context, *whispeer.Message) error { return nil }, whispeer.WithInline()); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for range 3 {
		if err := b.Publish(ctx, "a", []byte("12345")); err != nil {
			t.Fatal(err)
		}
	}
	b.Publish(ctx, "b", []byte("xy"), whispeer.WithQoS(whispeer.AtLeastOnce))
	if err := b.Publish(ctx, "closed", nil); !errors.Is(err, whispeer.ErrRejected) {
		t.Fatalf("Publish(closed) = %v", err)
	}
	h.Acked(c, "m")

	f := metricstest.Scrape(t, p.Handler())
	want(t, f, 1, "whispeer_connections")
	want(t, f, 2, "whispeer_connections_total")
	want(t, f, 1, "whispeer_authentications_total")
	want(t, f, 2, "whispeer_subscriptions")
	want(t, f, 2, "whispeer_topics")
	want(t, f, 5, "whispeer_messages_in_total") // the rejected one included: the gate runs after
	want(t, f, 17, "whispeer_bytes_in_total")
	want(t, f, 7, "whispeer_messages_out_total") // 3 × 2 subscriptions + 1
	want(t, f, 32, "whispeer_bytes_out_total")
	want(t, f, 1, "whispeer_acks_total")
	want(t, f, 1, "whispeer_rejected_total", "op", "publish", "plugin", "gate")
	want(t, f, 7, "whispeer_delivery_latency_seconds")
	want(t, f, 0, "whispeer_dropped_messages_total", "reason", "evicted")
	if _, ok := f.Value("go_goroutines"); !ok {
		t.Error("the Go runtime collector is missing")
	}
}

func TestPlugin_Drops(t *testing.T) {
	p := metrics.New(metrics.Options{})
	b := newBroker(t, whispeer.WithPlugin(p))
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	_, err := b.Subscribe("a", func(_ context.Context, m *whispeer.Message) error {
		if m.ID == "1" {
			close(started)
			<-release
		}
		return nil
	}, whispeer.WithQueueSize(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	b.Publish(ctx, "a", nil, whispeer.WithID("1"))
	<-started
	for _, id := range []string{"2", "3", "4"} { // 2 and 3 are evicted by the next
		b.Publish(ctx, "a", nil, whispeer.WithID(id))
	}
	f := metricstest.Scrape(t, p.Handler())
	want(t, f, 2, "whispeer_dropped_messages_total", "reason", "evicted")
	want(t, f, 0, "whispeer_dropped_messages_total", "reason", "queue_full")
}

func TestPlugin_LatencySampled(t *testing.T) {
	p := metrics.New(metrics.Options{LatencySample: 4})
	b := newBroker(t, whispeer.WithPlugin(p))
	if _, err := b.Subscribe("a", func(context.Context, *whispeer.Message) error { return nil }, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		b.Publish(context.Background(), "a", nil)
	}
	f := metricstest.Scrape(t, p.Handler())
	want(t, f, 2, "whispeer_delivery_latency_seconds") // sequence numbers 4 and 8
	want(t, f, 10, "whispeer_messages_out_total")
}

func TestPlugin_ServerAdditionsAndStoreLatency(t *testing.T) {
	p := metrics.New(metrics.Options{})
	newBroker(t, whispeer.WithPlugin(p))
	var expired uint64 = 3
	err := p.Registry().Register(metrics.DroppedFunc("qos_expired", func() uint64 { return expired }))
	if err != nil {
		t.Fatalf("register a server drop reason: %v", err)
	}
	p.Registry().MustRegister(
		metrics.CounterFunc("qos_retries_total", "QoS 1 resends.", func() uint64 { return 9 }),
		metrics.GaugeFunc("qos_inflight", "QoS 1 copies awaiting acks.", func() float64 { return 4 }),
	)
	p.StoreLatency("append").Observe((2 * time.Millisecond).Seconds())
	p.StoreLatency("append").Observe((3 * time.Millisecond).Seconds())
	f := metricstest.Scrape(t, p.Handler())
	want(t, f, 3, "whispeer_dropped_messages_total", "reason", "qos_expired")
	want(t, f, 0, "whispeer_dropped_messages_total", "reason", "shutdown")
	want(t, f, 9, "whispeer_qos_retries_total")
	want(t, f, 4, "whispeer_qos_inflight")
	want(t, f, 2, "whispeer_store_latency_seconds", "op", "append")
}

func TestPlugin_BeforeProvision(t *testing.T) {
	p := metrics.New(metrics.Options{})
	f := metricstest.Scrape(t, p.Handler())
	want(t, f, 0, "whispeer_subscriptions")
	if p.Name() != metrics.Name {
		t.Errorf("Name = %q", p.Name())
	}
}
