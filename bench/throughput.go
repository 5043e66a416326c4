package bench

import (
	"context"
	"fmt"
)

// Throughput is one publisher and one subscriber on one topic: sustained
// deliveries per second, and the share lost.
type Throughput struct{}

// Name implements Workload.
func (Throughput) Name() string { return "throughput" }

// Title implements Workload.
func (Throughput) Title(cfg Config) string {
	return fmt.Sprintf("1 → 1 throughput, %d B", cfg.Size)
}

// Metrics implements Workload.
func (Throughput) Metrics() []Metric { return flowMetrics }

// Run implements Workload.
func (w Throughput) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	s, err := open(ctx, t, w.Name())
	if err != nil {
		return Outcome{}, err
	}
	defer s.close()
	topics := []string{"bench"}
	f := newFlock(topics, true)
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
	return s.outcome(measureFlow(ctx, f, pub, topics, cfg, serverPIDs(t)))
}

var _ Workload = Throughput{}
