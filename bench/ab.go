package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// ABThreshold is the least gain a whispeer target may show against its
// base twin before the A/B table flags it.
const ABThreshold = 0.97

// Pair is one workload's summaries of a whispeer target and of its twin
// served by the base build.
type Pair struct {
	Workload  string
	New, Base *Summary
}

// Pairs returns, in the order of sums, every (target, twin) pair of the
// same workload: a twin is the summary whose target is the other's name
// followed by BaseSuffix. Targets without a twin are left out.
func Pairs(sums []*Summary) []Pair {
	type key struct{ workload, target string }
	base := map[key]*Summary{}
	for _, s := range sums {
		if name, ok := strings.CutSuffix(s.Target, BaseSuffix); ok {
			base[key{s.Workload, name}] = s
		}
	}
	var out []Pair
	for _, s := range sums {
		if b, ok := base[key{s.Workload, s.Target}]; ok {
			out = append(out, Pair{Workload: s.Workload, New: s, Base: b})
		}
	}
	return out
}

// Gain compares the new median of metric m with the base one: new/base
// where higher is better, base/new where lower is better, so that above 1
// is always an improvement. It is NaN when either is missing or zero.
func Gain(m Metric, newV, baseV float64) float64 {
	num, den := newV, baseV
	if !m.HigherBetter {
		num, den = baseV, newV
	}
	if math.IsNaN(num) || math.IsNaN(den) || den == 0 {
		return math.NaN()
	}
	return num / den
}

// notApplicable reports whether s is a workload its target does not run.
func notApplicable(s *Summary) bool { return len(s.Runs) == 0 && errors.Is(s.Err, ErrNotApplicable) }

// Flagged reports whether gain falls below ABThreshold. A gain that could
// not be computed is not flagged: its row shows why.
func Flagged(gain float64) bool { return gain < ABThreshold }

// ABReport writes the A/B table: for each workload and each whispeer
// target with a base twin, the medians of the main figure on both sides,
// the gain, and a flag where it is below ABThreshold. It writes nothing
// when sums hold no pair, and returns how many rows it flagged: those
// below ABThreshold, and those that ran on the base but not on the new
// build.
func ABReport(w io.Writer, workloads []Workload, sums []*Summary) (flagged int) {
	pairs := Pairs(sums)
	if len(pairs) == 0 {
		return 0
	}
	fmt.Fprintf(w, "**A/B: each whispeer target against its `%s` twin** (the same Go client, "+
		"only the server differs; gain = new/base of the medians, base/new where lower is better; "+
		"⚠ below %.2f×)\n\n", BaseSuffix, ABThreshold)
	writeRow(w, "workload", "target", "figure", "new (median)", "new min–max", "base (median)", "base min–max", "gain", "")
	writeRow(w, "---", "---", "---", "---", "---", "---", "---", "---", "---")
	rows := 0
	for _, wl := range workloads {
		m := wl.Metrics()[0]
		for _, p := range pairs {
			if p.Workload != wl.Name() || notApplicable(p.New) && notApplicable(p.Base) {
				continue
			}
			rows++
			row, bad := abRow(p, m)
			if bad {
				flagged++
			}
			writeRow(w, row...)
		}
	}
	fmt.Fprintf(w, "\n%d of %d rows flagged.\n", flagged, rows)
	return flagged
}

// abRow is the table row of one pair on metric m, and whether it is flagged.
func abRow(p Pair, m Metric) (row []string, flagged bool) {
	row = []string{p.Workload, p.New.Target, m.Label}
	for _, s := range []*Summary{p.New, p.Base} {
		if len(s.Runs) == 0 {
			row = append(row, cell(s), "")
			continue
		}
		lo, hi := s.Spread(m.Key)
		row = append(row, human(s.Median(m.Key)), human(lo)+"–"+human(hi))
	}
	switch {
	case len(p.New.Runs) == 0 && len(p.Base.Runs) > 0:
		return append(row, "", "⚠"), true // ran on the base only
	case len(p.New.Runs) == 0 || len(p.Base.Runs) == 0:
		return append(row, "", ""), false
	}
	g := Gain(m, p.New.Median(m.Key), p.Base.Median(m.Key))
	mark := ""
	if Flagged(g) {
		mark = "⚠"
	}
	shown := "?"
	if !math.IsNaN(g) {
		shown = fmt.Sprintf("%.2f×", g)
	}
	return append(row, shown, mark), Flagged(g)
}
