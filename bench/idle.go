package bench

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Idle opens cfg.Conns connections, each subscribed to a topic of its own,
// and reads the server process's resident memory before and after:
// memory per idle subscriber connection.
type Idle struct{}

// Name implements Workload.
func (Idle) Name() string { return "idle" }

// Title implements Workload.
func (Idle) Title(cfg Config) string {
	return fmt.Sprintf("%d idle subscribed connections, server memory", cfg.Conns)
}

// Metrics implements Workload.
func (Idle) Metrics() []Metric {
	return []Metric{
		{Key: "kib_per_conn", Label: "KiB/conn"},
		{Key: "conns_per_sec", Label: "connects/s", HigherBetter: true},
		{Key: "rss_mib", Label: "server RSS MiB"},
	}
}

// Run implements Workload.
func (w Idle) Run(ctx context.Context, t Target, cfg Config) (Outcome, error) {
	if err := skip(t, w.Name()); err != nil {
		return Outcome{}, err
	}
	p, ok := t.(Process)
	if !ok {
		return Outcome{}, fmt.Errorf("%w: the server does not run as its own process", ErrNotApplicable)
	}
	s, err := open(ctx, t, w.Name())
	if err != nil {
		return Outcome{}, err
	}
	defer s.close()
	time.Sleep(500 * time.Millisecond)
	before, err := rssBytes(p.PID())
	if err != nil {
		return s.outcome(nil, err)
	}
	start := time.Now()
	err = s.connectMany(ctx, cfg.Conns, 32, func(i int, c Client) error {
		return c.Subscribe(ctx, "idle"+strconv.Itoa(i), func([]byte) {})
	})
	if err != nil {
		return s.outcome(nil, fmt.Errorf("after %d connections: %w", len(s.clients), err))
	}
	connectSec := time.Since(start).Seconds()
	time.Sleep(2 * time.Second)
	after, err := rssBytes(p.PID())
	if err != nil {
		return s.outcome(nil, err)
	}
	return s.outcome(Metrics{
		"kib_per_conn":  float64(after-before) / 1024 / float64(cfg.Conns),
		"conns_per_sec": float64(cfg.Conns) / connectSec,
		"rss_mib":       float64(after) / (1 << 20),
	}, nil)
}

var _ Workload = Idle{}
