package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Topics is one publisher cycling over cfg.Topics topics, each with one
// subscription, spread over cfg.TopicConns subscriber connections: routing
// with a large subscription table.
type Topics struct{}

// Name implements Workload.
func (Topics) Name() string { return "topics" }

// Title implements Workload.
func (Topics) Title(cfg Config) string {
	return fmt.Sprintf("%d topics, 1 subscriber each (%d connections), %d B", cfg.Topics, cfg.TopicConns, cfg.Size)
}

// Metrics implements Workload.
func (Topics) Metrics() []Metric {
	return append(flowMetrics[:len(flowMetrics):len(flowMetrics)],
		Metric{Key: "subscribe_sec", Label: "setup s"})
}

// Run implements Workload.
func (w Topics) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	s, err := open(ctx, t, w.Name())
	if err != nil {
		return Outcome{}, err
	}
	defer s.close()
	topics := make([]string, cfg.Topics)
	for i := range topics {
		topics[i] = "t" + strconv.Itoa(i)
	}
	f := newFlock(topics, false)
	start := time.Now()
	conns := max(1, min(cfg.TopicConns, cfg.Topics))
	err = s.connectMany(ctx, conns, 16, func(c int, cl Client) error {
		for i := c; i < len(topics); i += conns {
			if err := cl.Subscribe(ctx, topics[i], f.handler(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return s.outcome(nil, err)
	}
	pub, err := s.connectPublisher(ctx)
	if err != nil {
		return s.outcome(nil, err)
	}
	if err := f.await(ctx, pub, 60*time.Second); err != nil {
		return s.outcome(nil, err)
	}
	setup := time.Since(start).Seconds()
	m, err := measureFlow(ctx, f, pub, topics, cfg, serverPIDs(t))
	if m != nil {
		m["subscribe_sec"] = setup
	}
	return s.outcome(m, err)
}

var _ Workload = Topics{}
