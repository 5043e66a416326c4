package bench

import (
	"context"
	"time"
)

// Config holds the knobs every workload reads.
type Config struct {
	Duration   time.Duration `json:"duration_ns"` // measured window of one run
	Warmup     time.Duration `json:"warmup_ns"`   // traffic before the window opens
	Size       int           `json:"size"`        // payload bytes
	Window     int           `json:"window"`      // publishes allowed ahead of delivery
	Subs       int           `json:"subs"`        // fan-out subscribers
	Rate       int           `json:"rate"`        // latency workload, messages per second
	Conns      int           `json:"conns"`       // idle connections
	Topics     int           `json:"topics"`      // many-topics workload, topics
	TopicConns int           `json:"topic_conns"` // many-topics workload, subscriber connections
	Inflight   int           `json:"inflight"`    // durable workload, unacknowledged publishes
}

// DefaultConfig returns the configuration of the published figures, with
// the measured window set to d.
func DefaultConfig(d time.Duration) Config {
	return Config{
		Duration: d, Warmup: 500 * time.Millisecond, Size: 128, Window: 1000,
		Subs: 100, Rate: 10000, Conns: 10000, Topics: 10000, TopicConns: 100,
		Inflight: 100,
	}
}

// Outcome is what one workload run produced.
type Outcome struct {
	Version string
	Metrics Metrics
}

// Workload is one measurement, bounded in time.
type Workload interface {
	// Name identifies the workload, e.g. "fanout".
	Name() string
	// Title describes it in one line for the table, e.g. "1 → 100 fan-out".
	Title(cfg Config) string
	// Metrics lists the figures it reports; the first ranks the targets.
	Metrics() []Metric
	// Run starts t, measures it and stops it.
	Run(ctx context.Context, t Target, cfg Config) (Outcome, error)
}

// Workloads returns every workload in table order.
func Workloads() []Workload {
	return []Workload{Throughput{}, Fanout{}, Latency{}, Idle{}, Durability{}, Topics{},
		Unwindowed{}, Unwindowed{Fanout: true}, Unwindowed{Stuck: true},
		HTTPPublish{Posters: 16}, HTTPPublish{Batch: 100, Posters: 16}}
}
