package bench

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Report writes the markdown report of sums: an overview with each
// workload's main figure and its ratio to the best peer, one table per
// workload with every figure, the versions measured, and why some targets
// or workloads did not run.
func Report(w io.Writer, workloads []Workload, sums []*Summary, cfg Config) {
	Overview(w, workloads, sums, cfg)
	for _, wl := range workloads {
		fmt.Fprintln(w)
		Detail(w, wl, byWorkload(sums, wl.Name()), cfg)
	}
	fmt.Fprintln(w)
	Versions(w, sums)
	if n := Notes(sums); len(n) > 0 {
		fmt.Fprintln(w)
		for _, line := range n {
			fmt.Fprintln(w, "- "+line)
		}
	}
}

// Overview writes one row per target, one column per workload: the median
// of the workload's main figure and its ratio to the best peer.
func Overview(w io.Writer, workloads []Workload, sums []*Summary, cfg Config) {
	head := []string{"target"}
	for _, wl := range workloads {
		m := wl.Metrics()[0]
		head = append(head, fmt.Sprintf("%s: %s", wl.Name(), m.Label))
	}
	writeRow(w, head...)
	writeRow(w, slices.Repeat([]string{"---"}, len(head))...)
	for _, target := range targetNames(sums) {
		row := []string{target}
		for _, wl := range workloads {
			m := wl.Metrics()[0]
			ws := byWorkload(sums, wl.Name())
			s := ws[slices.IndexFunc(ws, func(s *Summary) bool { return s.Target == target })]
			if len(s.Runs) == 0 {
				row = append(row, cell(s))
				continue
			}
			v := s.Median(m.Key)
			row = append(row, strings.TrimSpace(human(v)+" "+ratio(v, bestPeer(ws, m))))
		}
		writeRow(w, row...)
	}
}

// Detail writes one workload's table: every figure's median, the main
// figure's spread over the runs and its ratio to the best peer.
func Detail(w io.Writer, wl Workload, sums []*Summary, cfg Config) {
	ms := wl.Metrics()
	fmt.Fprintf(w, "**%s** (`%s`; %s: %s)\n\n", wl.Title(cfg), wl.Name(), ms[0].Label, direction(ms[0]))
	head := []string{"target", ms[0].Label + " (median)", "min–max", "× best peer"}
	for _, m := range ms[1:] {
		head = append(head, m.Label)
	}
	writeRow(w, head...)
	writeRow(w, slices.Repeat([]string{"---"}, len(head))...)
	best := bestPeer(sums, ms[0])
	for _, s := range sums {
		if len(s.Runs) == 0 {
			writeRow(w, append([]string{s.Target, cell(s)}, slices.Repeat([]string{""}, len(head)-2)...)...)
			continue
		}
		v := s.Median(ms[0].Key)
		lo, hi := s.Spread(ms[0].Key)
		row := []string{s.Target, human(v), human(lo) + "–" + human(hi), ratio(v, best)}
		for _, m := range ms[1:] {
			row = append(row, human(s.Median(m.Key)))
		}
		writeRow(w, row...)
	}
}

// Versions lists the version each target measured.
func Versions(w io.Writer, sums []*Summary) {
	seen := map[string]bool{}
	fmt.Fprintln(w, "Versions measured:")
	for _, s := range sums {
		if s.Version != "" && !seen[s.Target] {
			seen[s.Target] = true
			fmt.Fprintf(w, "- %s: %s\n", s.Target, s.Version)
		}
	}
}

// Notes returns one line per target and reason that kept some of its
// workloads from running here, naming those workloads.
func Notes(sums []*Summary) []string {
	type key struct{ target, reason string }
	var order []key
	names := map[key][]string{}
	for _, s := range sums {
		if s.Err == nil || len(s.Runs) > 0 || errors.Is(s.Err, ErrNotApplicable) {
			continue
		}
		k := key{s.Target, s.Err.Error()}
		if _, ok := names[k]; !ok {
			order = append(order, k)
		}
		names[k] = append(names[k], s.Workload)
	}
	var out []string
	for _, k := range order {
		out = append(out, fmt.Sprintf("%s (%s): %s", k.target, strings.Join(names[k], ", "), k.reason))
	}
	return out
}

// targetNames returns the targets of sums in their first-seen order.
func targetNames(sums []*Summary) []string {
	var names []string
	for _, s := range sums {
		if !slices.Contains(names, s.Target) {
			names = append(names, s.Target)
		}
	}
	return names
}
