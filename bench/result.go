package bench

import (
	"encoding/json"
	"io"
	"math"
	"slices"
	"time"
)

// Metrics are the figures one workload run produced, by key.
type Metrics map[string]float64

// Metric describes one figure a workload reports.
type Metric struct {
	Key          string // key in Metrics and JSON lines, e.g. "msgs_per_sec"
	Label        string // column heading, e.g. "msgs/s"
	HigherBetter bool   // whether a larger value ranks better
}

// Record is one JSON line: a single run, or the summary of several.
type Record struct {
	Kind     string    `json:"kind"` // "run" or "summary"
	Target   string    `json:"target"`
	Workload string    `json:"workload"`
	Version  string    `json:"version,omitempty"`
	Run      int       `json:"run,omitempty"`
	Time     time.Time `json:"time"`
	Config   Config    `json:"config"`
	Metrics  Metrics   `json:"metrics,omitempty"`
	Min      Metrics   `json:"min,omitempty"`
	Max      Metrics   `json:"max,omitempty"`
	Runs     int       `json:"runs,omitempty"`
	Error    string    `json:"error,omitempty"`
}

// Summary is the outcome of every run of one (target, workload) pair.
type Summary struct {
	Target, Workload string
	Version          string    // as the last run reported it
	Runs             []Metrics // one per successful run
	Err              error     // set when no run succeeded
}

// Median returns the median of key over the runs that reported it.
func (s *Summary) Median(key string) float64 { return Median(s.values(key)) }

// Spread returns the smallest and largest value of key over the runs.
func (s *Summary) Spread(key string) (lo, hi float64) { return Spread(s.values(key)) }

// values collects key from every run that reported it.
func (s *Summary) values(key string) []float64 {
	var xs []float64
	for _, m := range s.Runs {
		if v, ok := m[key]; ok {
			xs = append(xs, v)
		}
	}
	return xs
}

// Record returns the summary as a JSON-lines record.
func (s *Summary) Record(cfg Config) Record {
	r := Record{Kind: "summary", Target: s.Target, Workload: s.Workload, Version: s.Version,
		Time: time.Now().UTC(), Config: cfg, Runs: len(s.Runs)}
	if s.Err != nil {
		r.Error = s.Err.Error()
		return r
	}
	r.Metrics, r.Min, r.Max = Metrics{}, Metrics{}, Metrics{}
	for _, k := range s.keys() {
		r.Metrics[k] = s.Median(k)
		r.Min[k], r.Max[k] = s.Spread(k)
	}
	return r
}

// keys returns every metric key any run reported, sorted.
func (s *Summary) keys() []string {
	var ks []string
	for _, m := range s.Runs {
		for k := range m {
			if !slices.Contains(ks, k) {
				ks = append(ks, k)
			}
		}
	}
	slices.Sort(ks)
	return ks
}

// WriteRecord writes r as one JSON line, leaving out values that JSON
// cannot hold (NaN, infinities).
func WriteRecord(w io.Writer, r Record) error {
	r.Metrics, r.Min, r.Max = finite(r.Metrics), finite(r.Min), finite(r.Max)
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// finite returns m without NaN and infinite values.
func finite(m Metrics) Metrics {
	if m == nil {
		return nil
	}
	out := Metrics{}
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}
