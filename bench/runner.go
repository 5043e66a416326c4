package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Runner runs every workload on every target Runs times, interleaved
// (run 1 of every pair, then run 2…) so that the machine's noise spreads
// over all targets alike. Within a workload the targets run in their order
// on odd runs and in reverse on even ones, so that of two neighbours (a
// target and its A/B twin) neither always runs first.
type Runner struct {
	Targets   []Target
	Workloads []Workload
	Config    Config
	Runs      int
	Records   io.Writer // JSON lines of every run and summary; may be nil
	Log       io.Writer // progress lines; may be nil
}

// Run measures and returns one summary per (workload, target) pair, in
// workload order then target order. Targets that implement io.Closer are
// closed at the end, to remove what they built.
func (r *Runner) Run(ctx context.Context) ([]*Summary, error) {
	defer r.close()
	sums := make([]*Summary, 0, len(r.Targets)*len(r.Workloads))
	for _, w := range r.Workloads {
		for _, t := range r.Targets {
			sums = append(sums, &Summary{Target: t.Name(), Workload: w.Name()})
		}
	}
	for run := 1; run <= max(r.Runs, 1); run++ {
		for wi, w := range r.Workloads {
			for _, ti := range RunOrder(len(r.Targets), run) {
				if err := r.runOne(ctx, w, r.Targets[ti], run, sums[wi*len(r.Targets)+ti]); err != nil {
					return sums, err
				}
			}
		}
	}
	for _, s := range sums {
		if r.Records != nil {
			WriteRecord(r.Records, s.Record(r.Config))
		}
	}
	return sums, ctx.Err()
}

// RunOrder returns the order in which run (counted from 1) visits n
// targets: 0…n-1 on odd runs, n-1…0 on even ones.
func RunOrder(n, run int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
		if run%2 == 0 {
			order[i] = n - 1 - i
		}
	}
	return order
}

// runOne runs w on t once into s, unless an earlier run found the pair
// cannot run. It returns an error only when ctx ended.
func (r *Runner) runOne(ctx context.Context, w Workload, t Target, run int, s *Summary) error {
	if errors.Is(s.Err, ErrUnavailable) || errors.Is(s.Err, ErrNotApplicable) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	rctx, cancel := context.WithTimeout(ctx, r.Config.Warmup+r.Config.Duration+2*time.Minute)
	start := time.Now()
	out, err := w.Run(rctx, t, r.Config)
	cancel()
	rec := Record{Kind: "run", Target: t.Name(), Workload: w.Name(), Version: out.Version,
		Run: run, Time: time.Now().UTC(), Config: r.Config, Metrics: out.Metrics}
	if out.Version != "" {
		s.Version = out.Version
	}
	switch {
	case err != nil:
		rec.Error = err.Error()
		if len(s.Runs) == 0 {
			s.Err = err
		}
		r.logf("%-16s %-10s run %d: %v", t.Name(), w.Name(), run, err)
	default:
		s.Runs, s.Err = append(s.Runs, out.Metrics), nil
		key := w.Metrics()[0]
		r.logf("%-16s %-10s run %d: %s %s (%.1fs)", t.Name(), w.Name(), run,
			human(out.Metrics[key.Key]), key.Label, time.Since(start).Seconds())
	}
	if r.Records != nil && !errors.Is(err, ErrNotApplicable) {
		WriteRecord(r.Records, rec)
	}
	return nil
}

// logf writes one progress line.
func (r *Runner) logf(format string, args ...any) {
	if r.Log != nil {
		fmt.Fprintf(r.Log, format+"\n", args...)
	}
}

// close closes the targets that implement io.Closer.
func (r *Runner) close() {
	for _, t := range r.Targets {
		if c, ok := t.(io.Closer); ok {
			c.Close()
		}
	}
}
