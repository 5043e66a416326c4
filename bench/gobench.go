package bench

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// GoBench is one result line of `go test -bench -benchmem`.
type GoBench struct {
	Name     string  // package prefix and benchmark, e.g. "server/BenchmarkFanout/100-2"
	NsOp     float64 // ns/op
	BOp      float64 // B/op; NaN without -benchmem
	AllocsOp float64 // allocs/op; NaN without -benchmem
}

// benchLine matches a result line: name, iterations, then value-unit pairs.
var benchLine = regexp.MustCompile(`^(Benchmark\S+)\s+\d+\s+(.*)$`)

// ParseGoBench reads the result lines of `go test -bench` output from r,
// naming each benchmark with prefix in front; other lines are skipped.
func ParseGoBench(r io.Reader, prefix string) ([]GoBench, error) {
	var out []GoBench
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLine.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		b := GoBench{Name: prefix + m[1], NsOp: math.NaN(), BOp: math.NaN(), AllocsOp: math.NaN()}
		f := strings.Fields(m[2])
		for i := 0; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				b.NsOp = v
			case "B/op":
				b.BOp = v
			case "allocs/op":
				b.AllocsOp = v
			}
		}
		out = append(out, b)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read benchmark output: %w", err)
	}
	return out, nil
}

// GoBenchRow is one benchmark's medians on both sides of an A/B.
type GoBenchRow struct {
	Name       string
	Base, New  GoBench // medians of each figure over the side's runs
	Only       string  // "base" or "new" when the benchmark ran on one side only
	Slower     bool    // ns/op new/base above 1/ABThreshold
	MoreAllocs bool    // allocs/op higher on the new side
	MoreBytes  bool    // B/op new/base above 1/ABThreshold
}

// CompareGoBench pairs the runs of base and new by name and returns one row
// per benchmark, in the order new lists them, then those only base has.
func CompareGoBench(base, new []GoBench) []GoBenchRow {
	var names []string
	for _, b := range slices.Concat(new, base) {
		if !slices.Contains(names, b.Name) {
			names = append(names, b.Name)
		}
	}
	rows := make([]GoBenchRow, 0, len(names))
	for _, name := range names {
		r := GoBenchRow{Name: name}
		bs, ns := runsOf(base, name), runsOf(new, name)
		switch {
		case len(bs) == 0:
			r.Only, r.New = "new", medianBench(ns)
		case len(ns) == 0:
			r.Only, r.Base = "base", medianBench(bs)
		default:
			r.Base, r.New = medianBench(bs), medianBench(ns)
			r.Slower = r.New.NsOp/r.Base.NsOp > 1/ABThreshold
			r.MoreAllocs = r.New.AllocsOp > r.Base.AllocsOp
			r.MoreBytes = r.New.BOp > r.Base.BOp/ABThreshold
		}
		rows = append(rows, r)
	}
	return rows
}

// runsOf returns the runs of the benchmark name.
func runsOf(runs []GoBench, name string) []GoBench {
	var out []GoBench
	for _, r := range runs {
		if r.Name == name {
			out = append(out, r)
		}
	}
	return out
}

// medianBench returns the median of each figure over runs.
func medianBench(runs []GoBench) GoBench {
	figure := func(f func(GoBench) float64) float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return Median(xs)
	}
	return GoBench{Name: runs[0].Name,
		NsOp:     figure(func(b GoBench) float64 { return b.NsOp }),
		BOp:      figure(func(b GoBench) float64 { return b.BOp }),
		AllocsOp: figure(func(b GoBench) float64 { return b.AllocsOp })}
}

// GoBenchTable writes rows as a markdown table of medians and new/base
// ratios, then the benchmarks that ran on one side only. It returns how
// many rows it flagged: slower or allocating more bytes past the
// threshold, or allocating more times at all.
func GoBenchTable(w io.Writer, rows []GoBenchRow) (flagged int) {
	writeRow(w, "benchmark", "ns/op base", "ns/op new", "new/base", "B/op base", "B/op new", "new/base",
		"allocs/op base", "allocs/op new", "new/base", "")
	writeRow(w, slices.Repeat([]string{"---"}, 11)...)
	var only []string
	for _, r := range rows {
		if r.Only != "" {
			only = append(only, fmt.Sprintf("`%s` (%s only)", r.Name, r.Only))
			continue
		}
		var marks []string
		if r.Slower {
			marks = append(marks, "⚠ slower")
		}
		if r.MoreAllocs {
			marks = append(marks, "⚠ more allocs")
		}
		if r.MoreBytes {
			marks = append(marks, "⚠ more bytes")
		}
		if len(marks) > 0 {
			flagged++
		}
		writeRow(w, r.Name,
			plain(r.Base.NsOp), plain(r.New.NsOp), timesOf(r.New.NsOp, r.Base.NsOp),
			plain(r.Base.BOp), plain(r.New.BOp), timesOf(r.New.BOp, r.Base.BOp),
			plain(r.Base.AllocsOp), plain(r.New.AllocsOp), timesOf(r.New.AllocsOp, r.Base.AllocsOp),
			strings.Join(marks, ", "))
	}
	if len(only) > 0 {
		fmt.Fprintf(w, "\nOn one side only: %s.\n", strings.Join(only, ", "))
	}
	return flagged
}

// plain formats v as go test prints it, to one decimal at most; "?" for NaN.
func plain(v float64) string {
	if math.IsNaN(v) {
		return "?"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// timesOf formats a/b as "1.02×"; "=" when both are equal (zero included).
func timesOf(a, b float64) string {
	switch {
	case a == b:
		return "="
	case math.IsNaN(a) || math.IsNaN(b) || b == 0:
		return "?"
	}
	return fmt.Sprintf("%.2f×", a/b)
}
