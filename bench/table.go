package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// IsPeer reports whether a target is another broker, rather than whispeer
// or the limit row: ratios compare with the best peer.
func IsPeer(target string) bool {
	return target != "limit" && !strings.HasPrefix(target, "whispeer")
}

// human formats v with three significant figures and a k or M suffix.
func human(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "?"
	case a >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case a >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// bestPeer returns the best median of metric m among the peers' summaries
// of one workload, or NaN when no peer has one.
func bestPeer(sums []*Summary, m Metric) float64 {
	best := math.NaN()
	for _, s := range sums {
		if !IsPeer(s.Target) || len(s.Runs) == 0 {
			continue
		}
		v := s.Median(m.Key)
		if math.IsNaN(best) || (m.HigherBetter && v > best) || (!m.HigherBetter && v < best) {
			best = v
		}
	}
	return best
}

// ratio formats v relative to best, as "0.62×".
func ratio(v, best float64) string {
	if math.IsNaN(v) || math.IsNaN(best) || best == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", v/best)
}

// cell returns what a table shows for a summary that has no runs.
func cell(s *Summary) string {
	switch {
	case errors.Is(s.Err, ErrNotApplicable):
		return "—"
	case errors.Is(s.Err, ErrUnavailable):
		return "n/a"
	default:
		return "failed"
	}
}

// direction says which way a metric is better.
func direction(m Metric) string {
	if m.HigherBetter {
		return "higher is better"
	}
	return "lower is better"
}

// byWorkload returns the summaries of workload name, in target order.
func byWorkload(sums []*Summary, name string) []*Summary {
	var out []*Summary
	for _, s := range sums {
		if s.Workload == name {
			out = append(out, s)
		}
	}
	return out
}

// writeRow writes one markdown table row.
func writeRow(w io.Writer, cells ...string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}
