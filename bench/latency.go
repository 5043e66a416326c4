package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Latency is one publisher sending at a fixed rate to one subscriber: the
// time from just before Publish to the subscriber's handler, measured on
// this process's monotonic clock, as percentiles over the window.
type Latency struct{}

// Name implements Workload.
func (Latency) Name() string { return "latency" }

// Title implements Workload.
func (Latency) Title(cfg Config) string {
	return fmt.Sprintf("latency at %d msgs/s, %d B", cfg.Rate, cfg.Size)
}

// Metrics implements Workload.
func (Latency) Metrics() []Metric {
	return []Metric{
		{Key: "p99_us", Label: "p99 µs"},
		{Key: "p50_us", Label: "p50 µs"},
		{Key: "p999_us", Label: "p99.9 µs"},
		{Key: "max_us", Label: "max µs"},
		{Key: "loss_pct", Label: "loss %"},
	}
}

// Run implements Workload.
func (w Latency) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	s, err := open(ctx, t, w.Name())
	if err != nil {
		return Outcome{}, err
	}
	defer s.close()
	topics := []string{"lat"}
	f := newFlock(topics, true)
	rec := &recorder{}
	f.onData = rec.observe
	sub, err := s.connect(ctx)
	if err != nil {
		return s.outcome(nil, err)
	}
	if err := sub.Subscribe(ctx, topics[0], f.handler(0)); err != nil {
		return s.outcome(nil, err)
	}
	pub, err := s.connectPublisher(ctx)
	if err != nil {
		return s.outcome(nil, err)
	}
	if err := f.await(ctx, pub, 20*time.Second); err != nil {
		return s.outcome(nil, err)
	}
	return s.outcome(w.measure(ctx, f, rec, pub, topics[0], cfg))
}

// measure publishes at cfg.Rate through the warm-up and the window, then
// drains and computes percentiles of the window's messages.
func (Latency) measure(ctx context.Context, f *flock, rec *recorder, pub Client, topic string, cfg Config) (Metrics, error) {
	start := time.Now()
	rec.from.Store(int64(start.Add(cfg.Warmup).Sub(epoch)))
	end := start.Add(cfg.Warmup + cfg.Duration)
	rec.to.Store(int64(end.Sub(epoch)))
	interval := time.Second / time.Duration(max(cfg.Rate, 1))
	for i := 0; ; i++ {
		due := start.Add(time.Duration(i) * interval)
		if !due.Before(end) {
			break
		}
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		if err := pub.Publish(ctx, topic, payload(cfg.Size)); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		f.published.Add(1)
	}
	flushClient(ctx, pub)
	got, want := f.drain(ctx)
	m := rec.metrics()
	m["loss_pct"] = lossPct(got, want)
	return m, nil
}

// recorder keeps the latencies of data payloads sent within [from, to).
type recorder struct {
	from, to atomic.Int64 // send times, as durations since epoch
	mu       sync.Mutex
	us       []float64
}

// observe records p's latency when it was sent within the window.
func (r *recorder) observe(p []byte) {
	now := time.Since(epoch)
	sent, ok := stamped(p)
	if !ok || int64(sent) < r.from.Load() || int64(sent) >= r.to.Load() {
		return
	}
	r.mu.Lock()
	r.us = append(r.us, float64(now-sent)/float64(time.Microsecond))
	r.mu.Unlock()
}

// metrics returns the percentiles of what was recorded.
func (r *recorder) metrics() Metrics {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := slices.Clone(r.us)
	slices.Sort(s)
	m := Metrics{"samples": float64(len(s))}
	if len(s) == 0 {
		return m
	}
	m["p50_us"] = Percentile(s, 50)
	m["p99_us"] = Percentile(s, 99)
	m["p999_us"] = Percentile(s, 99.9)
	m["max_us"] = s[len(s)-1]
	return m
}

var _ Workload = Latency{}
