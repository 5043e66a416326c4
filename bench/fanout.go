package bench

import (
	"context"
	"fmt"
)

// Fanout is one publisher and cfg.Subs subscribers, each on its own
// connection, on one topic: deliveries per second summed over subscribers.
type Fanout struct{}

// Name implements Workload.
func (Fanout) Name() string { return "fanout" }

// Title implements Workload.
func (Fanout) Title(cfg Config) string {
	return fmt.Sprintf("1 → %d fan-out, %d B", cfg.Subs, cfg.Size)
}

// Metrics implements Workload.
func (Fanout) Metrics() []Metric { return flowMetrics }

// Run implements Workload.
func (w Fanout) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	s, err := open(ctx, t, w.Name())
	if err != nil {
		return Outcome{}, err
	}
	defer s.close()
	topics := make([]string, cfg.Subs)
	for i := range topics {
		topics[i] = "fan"
	}
	f := newFlock(topics, true)
	err = s.connectMany(ctx, cfg.Subs, 16, func(i int, c Client) error {
		return c.Subscribe(ctx, topics[i], f.handler(i))
	})
	if err != nil {
		return s.outcome(nil, err)
	}
	pub, err := s.connectPublisher(ctx)
	if err != nil {
		return s.outcome(nil, err)
	}
	return s.outcome(measureFlow(ctx, f, pub, topics[:1], cfg, serverPIDs(t)))
}

var _ Workload = Fanout{}
