// Command benchdiff compares whispeer's hot-path Go benchmarks at two
// commits: it builds each package's test binary at both, runs them in turn
// -count times with -benchmem, and prints a markdown table of the medians
// of ns/op, B/op and allocs/op with new/base ratios, flagging a benchmark
// that is more than 3 % slower, allocates more than 3 % more bytes, or
// allocates more often. Benchmarks found on one side only are listed as
// such.
//
//	go run ./cmd/benchdiff -base v0.9.0 -count 5
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/whispeer-io/whispeer/bench"
)

// hotPath selects the benchmarks of a message's path: publishing in the
// root package (bench_test.go, plugin_bench_test.go), fan-out, encoding and
// delivery to sessions in server (bench_test.go, native_bench_test.go).
const hotPath = "^Benchmark(Publish|Fanout|NativeFanout|NativePublish|Encode)"

func main() {
	d, md, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdiff:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, d, md); err != nil {
		fmt.Fprintln(os.Stderr, "benchdiff:", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a BenchDiff and the -md path.
func parseFlags(args []string) (*bench.BenchDiff, string, error) {
	d := &bench.BenchDiff{Log: os.Stderr}
	var pkgs, md string
	fs := flag.NewFlagSet("benchdiff", flag.ContinueOnError)
	fs.StringVar(&d.Root, "root", "..", "whispeer repository root")
	fs.StringVar(&d.BaseRev, "base", "", "commit to compare against (required)")
	fs.StringVar(&d.NewRev, "new", "HEAD", "commit measured; empty for the working tree as it is")
	fs.StringVar(&pkgs, "pkgs", ".,./server", "comma-separated packages whose benchmarks run")
	fs.StringVar(&d.Bench, "bench", hotPath, "benchmarks to run (go test -bench); . for all")
	fs.StringVar(&d.Benchtime, "benchtime", "", "go test -benchtime; empty for its default (1s)")
	fs.IntVar(&d.Count, "count", 5, "runs of each benchmark per side; the table shows medians")
	fs.StringVar(&md, "md", "", "file to write the table to, besides standard output")
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	if d.BaseRev == "" {
		return nil, "", errors.New("-base is required")
	}
	d.Pkgs = strings.Split(pkgs, ",")
	return d, md, nil
}

// run compares, then prints the table, and writes it to md when set.
func run(ctx context.Context, d *bench.BenchDiff, md string) error {
	base, new, err := d.Run(ctx)
	if err != nil {
		return err
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "Go benchmarks `%s` of %s, new: %s, base: %s; medians of %d runs each, -benchmem",
		d.Bench, strings.Join(d.Pkgs, ", "), revName(d.Root, d.NewRev), revName(d.Root, d.BaseRev), d.Count)
	if d.Benchtime != "" {
		fmt.Fprintf(&sb, ", -benchtime %s", d.Benchtime)
	}
	fmt.Fprintf(&sb, ". ⚠ marks more than %.0f %% more ns/op or B/op, or more allocs/op.\n\n", (1/bench.ABThreshold-1)*100)
	n := bench.GoBenchTable(&sb, bench.CompareGoBench(base, new))
	fmt.Fprintf(&sb, "\n%d flagged.\n", n)
	fmt.Print(sb.String())
	if md == "" {
		return nil
	}
	return os.WriteFile(md, []byte(sb.String()), 0o644)
}

// revName names a side: rev with its commit, or the working tree.
func revName(root, rev string) string {
	if rev == "" {
		return "the working tree"
	}
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short=12", rev).Output()
	if err != nil {
		return rev
	}
	return fmt.Sprintf("%s (`%s`)", rev, strings.TrimSpace(string(out)))
}
