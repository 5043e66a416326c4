package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Durability is acknowledged publishes to a server that stores them:
// cfg.Inflight publishers each wait for their acknowledgement, so that
// at most that many are unacknowledged at once.
type Durability struct{}

// Name implements Workload.
func (Durability) Name() string { return "durable" }

// Title implements Workload.
func (Durability) Title(cfg Config) string {
	return fmt.Sprintf("durable acked publishes, %d in flight, %d B", cfg.Inflight, cfg.Size)
}

// Metrics implements Workload.
func (Durability) Metrics() []Metric {
	return []Metric{
		{Key: "acks_per_sec", Label: "acked/s", HigherBetter: true},
		{Key: "ack_p50_us", Label: "ack p50 µs"},
		{Key: "ack_p99_us", Label: "ack p99 µs"},
	}
}

// Run implements Workload.
func (w Durability) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	if err := skip(t, w.Name()); err != nil {
		return Outcome{}, err
	}
	d, ok := t.(Durable)
	if !ok {
		return Outcome{}, fmt.Errorf("%w: no durable mode", ErrNotApplicable)
	}
	_, version, err := d.StartDurable(ctx)
	defer t.Stop()
	if err != nil {
		return Outcome{}, err
	}
	pub, err := d.ConnectDurable(ctx)
	if err != nil {
		return Outcome{Version: version}, err
	}
	defer pub.Close()
	m, err := w.measure(ctx, pub, cfg)
	return Outcome{Version: version, Metrics: m}, err
}

// measure runs cfg.Inflight publishing goroutines through the warm-up and
// the window, counting acknowledgements inside the window.
func (Durability) measure(ctx context.Context, pub AckPublisher, cfg Config) (Metrics, error) {
	var (
		acked    atomic.Int64
		mu       sync.Mutex
		lat      []float64
		errs     []error
		start    = time.Now()
		from, to = start.Add(cfg.Warmup), start.Add(cfg.Warmup + cfg.Duration)
		wg       sync.WaitGroup
	)
	p := payload(cfg.Size)
	for range max(cfg.Inflight, 1) {
		wg.Go(func() {
			var mine []float64
			for t0 := time.Now(); t0.Before(to); t0 = time.Now() {
				if err := pub.PublishAck(ctx, "durable", p); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				if t0.After(from) {
					acked.Add(1)
					mine = append(mine, float64(time.Since(t0))/float64(time.Microsecond))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(lat)
	return Metrics{
		"acks_per_sec": float64(acked.Load()) / cfg.Duration.Seconds(),
		"ack_p50_us":   Percentile(lat, 50),
		"ack_p99_us":   Percentile(lat, 99),
	}, nil
}

var _ Workload = Durability{}
