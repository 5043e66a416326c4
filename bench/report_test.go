package bench

import (
	"fmt"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	sums := []*Summary{
		{Target: "limit", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 4e6}}},
		{Target: "whispeer-json-ws", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 5e5}, {"msgs_per_sec": 4e5}, {"msgs_per_sec": 6e5}}},
		{Target: "nats-tcp", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 1e6}}},
		{Target: "redis", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 2.5e5}}},
		{Target: "whispeer-tcp", Workload: "throughput", Err: fmt.Errorf("%w yet: no client", ErrUnavailable)},
		{Target: "limit", Workload: "latency", Err: fmt.Errorf("%w: nothing", ErrNotApplicable)},
		{Target: "whispeer-json-ws", Workload: "latency", Runs: []Metrics{{"p99_us": 300, "p50_us": 100}}},
		{Target: "nats-tcp", Workload: "latency", Runs: []Metrics{{"p99_us": 200, "p50_us": 90}}},
		{Target: "redis", Workload: "latency", Runs: []Metrics{{"p99_us": 400, "p50_us": 95}}},
		{Target: "whispeer-tcp", Workload: "latency", Err: fmt.Errorf("%w yet: no client", ErrUnavailable)},
	}
	var sb strings.Builder
	Report(&sb, []Workload{Throughput{}, Latency{}}, sums, DefaultConfig(0))
	out := sb.String()
	for _, want := range []string{
		"| whispeer-json-ws | 500k 0.50× | 300 1.50× |", // higher and lower is better, against nats-tcp
		"| limit | 4.00M 4.00× | — |",
		"| whispeer-tcp | n/a | n/a |",
		"| whispeer-json-ws | 500k | 400k–600k | 0.50× |",
		"| redis | 400 | 400–400 | 2.00× | 95.0 |",
		"whispeer-tcp (throughput, latency): not available yet: no client",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestHuman(t *testing.T) {
	tests := map[float64]string{1234567: "1.23M", 45678: "46k", 512: "512", 12.34: "12.3", 0.5: "0.50"}
	for v, want := range tests {
		if got := human(v); got != want {
			t.Errorf("human(%v) = %q, want %q", v, got, want)
		}
	}
}
