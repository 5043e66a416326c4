package bench

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"one", []float64{4}, 4},
		{"odd", []float64{9, 1, 5}, 5},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"repeated", []float64{7, 7, 1}, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Median(tt.in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median(nil) is not NaN")
	}
}

func TestMedian_KeepsInput(t *testing.T) {
	in := []float64{3, 1, 2}
	Median(in)
	if in[0] != 3 || in[1] != 1 || in[2] != 2 {
		t.Errorf("Median reordered its input: %v", in)
	}
}

func TestPercentile(t *testing.T) {
	sorted := make([]float64, 1000)
	for i := range sorted {
		sorted[i] = float64(i + 1)
	}
	tests := []struct {
		p, want float64
	}{
		{0, 1}, {50, 500}, {99, 990}, {99.9, 999}, {100, 1000},
	}
	for _, tt := range tests {
		if got := Percentile(sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(1..1000, %v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := Percentile([]float64{42}, 99.9); got != 42 {
		t.Errorf("Percentile of one value = %v, want 42", got)
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("Percentile(nil) is not NaN")
	}
}

func TestSpread(t *testing.T) {
	lo, hi := Spread([]float64{3, -1, 8, 2})
	if lo != -1 || hi != 8 {
		t.Errorf("Spread = %v, %v, want -1, 8", lo, hi)
	}
}

func TestSummary_Record(t *testing.T) {
	s := &Summary{Target: "nats-tcp", Workload: "throughput", Runs: []Metrics{
		{"msgs_per_sec": 100, "loss_pct": 0}, {"msgs_per_sec": 300, "loss_pct": 1}, {"msgs_per_sec": 200, "loss_pct": 0},
	}}
	r := s.Record(DefaultConfig(0))
	if r.Metrics["msgs_per_sec"] != 200 || r.Min["msgs_per_sec"] != 100 || r.Max["msgs_per_sec"] != 300 {
		t.Errorf("Record = %+v, want median 200 within 100–300", r)
	}
	if r.Runs != 3 || r.Kind != "summary" {
		t.Errorf("Record runs %d, kind %q", r.Runs, r.Kind)
	}
}
