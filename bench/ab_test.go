package bench

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestPairs(t *testing.T) {
	sums := []*Summary{
		{Target: "whispeer-tcp", Workload: "throughput"},
		{Target: "whispeer-tcp@base", Workload: "throughput"},
		{Target: "nats-tcp", Workload: "throughput"},
		{Target: "whispeer-ws", Workload: "throughput"}, // no twin
		{Target: "whispeer-tcp@base", Workload: "latency"},
		{Target: "whispeer-tcp", Workload: "latency"},
	}
	var got []string
	for _, p := range Pairs(sums) {
		got = append(got, p.Workload+":"+p.New.Target+"/"+p.Base.Target)
	}
	want := []string{"throughput:whispeer-tcp/whispeer-tcp@base", "latency:whispeer-tcp/whispeer-tcp@base"}
	if !slices.Equal(got, want) {
		t.Errorf("Pairs = %q, want %q", got, want)
	}
}

func TestGain(t *testing.T) {
	higher := Metric{Key: "msgs_per_sec", HigherBetter: true}
	lower := Metric{Key: "p99_us"}
	tests := []struct {
		name        string
		m           Metric
		newV, baseV float64
		want        float64
		flagged     bool
	}{
		{"faster", higher, 110, 100, 1.1, false},
		{"level", higher, 100, 100, 1, false},
		{"at the threshold", higher, 97, 100, 0.97, false},
		{"slower", higher, 96, 100, 0.96, true},
		{"lower latency", lower, 80, 100, 1.25, false},
		{"higher latency", lower, 110, 100, 100.0 / 110, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := Gain(tt.m, tt.newV, tt.baseV)
			if math.Abs(g-tt.want) > 1e-9 {
				t.Errorf("Gain(%v, %v) = %v, want %v", tt.newV, tt.baseV, g, tt.want)
			}
			if Flagged(g) != tt.flagged {
				t.Errorf("Flagged(%v) = %v, want %v", g, Flagged(g), tt.flagged)
			}
		})
	}
	for _, g := range []float64{Gain(higher, 1, 0), Gain(lower, 0, 1), Gain(higher, math.NaN(), 1)} {
		if !math.IsNaN(g) || Flagged(g) {
			t.Errorf("a gain without a figure on each side is %v (flagged %v), want NaN, not flagged", g, Flagged(g))
		}
	}
}

func TestABReport(t *testing.T) {
	na := fmt.Errorf("%w: durable only", ErrNotApplicable)
	sums := []*Summary{
		{Target: "whispeer-tcp", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 9e5}, {"msgs_per_sec": 1e6}, {"msgs_per_sec": 1.1e6}}},
		{Target: "whispeer-tcp@base", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 1e6}}},
		{Target: "whispeer-ws", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 5e5}}},
		{Target: "whispeer-ws@base", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 6e5}}},
		{Target: "whispeer-json-ws", Workload: "throughput", Err: fmt.Errorf("lost")},
		{Target: "whispeer-json-ws@base", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 3e5}}},
		{Target: "whispeer-durable-file-batch", Workload: "throughput", Err: na},
		{Target: "whispeer-durable-file-batch@base", Workload: "throughput", Err: na},
		{Target: "nats-tcp", Workload: "throughput", Runs: []Metrics{{"msgs_per_sec": 2e6}}},
		{Target: "whispeer-tcp", Workload: "latency", Runs: []Metrics{{"p99_us": 200}}},
		{Target: "whispeer-tcp@base", Workload: "latency", Runs: []Metrics{{"p99_us": 250}}},
	}
	var sb strings.Builder
	n := ABReport(&sb, []Workload{Throughput{}, Latency{}}, sums)
	out := sb.String()
	for _, want := range []string{
		"| throughput | whispeer-tcp | msgs/s delivered | 1.00M | 900k–1.10M | 1.00M | 1.00M–1.00M | 1.00× |  |",
		"| throughput | whispeer-ws | msgs/s delivered | 500k | 500k–500k | 600k | 600k–600k | 0.83× | ⚠ |",
		"| throughput | whispeer-json-ws | msgs/s delivered | failed |  | 300k | 300k–300k |  | ⚠ |",
		"| latency | whispeer-tcp | p99 µs | 200 | 200–200 | 250 | 250–250 | 1.25× |  |",
		"2 of 4 rows flagged.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("A/B report lacks %q:\n%s", want, out)
		}
	}
	if n != 2 {
		t.Errorf("ABReport flagged %d rows, want 2", n)
	}
	for _, unwanted := range []string{"durable-file", "nats-tcp"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("A/B report shows %s:\n%s", unwanted, out)
		}
	}
	sb.Reset()
	if ABReport(&sb, []Workload{Throughput{}}, sums[8:9]) != 0 || sb.Len() != 0 {
		t.Errorf("A/B report without pairs wrote %q", sb.String())
	}
}

func TestRunOrder(t *testing.T) {
	if got := RunOrder(3, 1); !slices.Equal(got, []int{0, 1, 2}) {
		t.Errorf("RunOrder(3, 1) = %v", got)
	}
	if got := RunOrder(3, 2); !slices.Equal(got, []int{2, 1, 0}) {
		t.Errorf("RunOrder(3, 2) = %v", got)
	}
}

// orderTarget is a target that a fake workload runs without a server.
type orderTarget struct{ name string }

func (o orderTarget) Name() string                                { return o.name }
func (orderTarget) Start(context.Context) (string, string, error) { return "", "", nil }
func (orderTarget) Stop() error                                   { return nil }
func (orderTarget) Connect(context.Context) (Client, error)       { return nil, nil }

// orderWorkload records the targets it ran, and reports the run's number.
type orderWorkload struct{ ran *[]string }

func (orderWorkload) Name() string        { return "order" }
func (orderWorkload) Title(Config) string { return "order" }
func (orderWorkload) Metrics() []Metric   { return []Metric{{Key: "n", Label: "n"}} }
func (w orderWorkload) Run(_ context.Context, t Target, _ Config) (Outcome, error) {
	*w.ran = append(*w.ran, t.Name())
	return Outcome{Metrics: Metrics{"n": float64(len(*w.ran))}}, nil
}

func TestRunner_AlternatesTwins(t *testing.T) {
	var ran []string
	r := &Runner{Targets: []Target{orderTarget{"whispeer-tcp"}, orderTarget{"whispeer-tcp@base"}},
		Workloads: []Workload{orderWorkload{&ran}}, Runs: 4}
	sums, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"whispeer-tcp", "whispeer-tcp@base", "whispeer-tcp@base", "whispeer-tcp",
		"whispeer-tcp", "whispeer-tcp@base", "whispeer-tcp@base", "whispeer-tcp"}
	if !slices.Equal(ran, want) {
		t.Errorf("runs went %q, want %q", ran, want)
	}
	// Each summary holds its own target's runs, whichever ran first.
	for i, want := range [][]float64{{1, 4, 5, 8}, {2, 3, 6, 7}} {
		if got := sums[i].values("n"); !slices.Equal(got, want) {
			t.Errorf("%s's runs = %v, want %v", sums[i].Target, got, want)
		}
	}
}
