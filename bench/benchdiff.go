package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// BenchDiff runs whispeer's Go benchmarks at two commits of one
// repository: each package's test binary is built once per side, then the
// sides run in turn, one -count at a time (base, new, then new, base…), so
// that the machine's noise spreads over both alike.
type BenchDiff struct {
	Root      string   // repository root
	BaseRev   string   // commit compared against
	NewRev    string   // commit measured; "" for the working tree as it is
	Pkgs      []string // packages relative to Root, e.g. ".", "./server"
	Bench     string   // -test.bench pattern
	Benchtime string   // -test.benchtime; "" for go test's default
	Count     int      // runs of each benchmark per side
	Log       io.Writer
}

// diffSide is one side's source tree and test binaries, by package.
type diffSide struct {
	rev, src string
	bins     map[string]string
}

// Run builds both sides in a temporary directory, runs them, and returns
// every result line of each.
func (d *BenchDiff) Run(ctx context.Context) (base, new []GoBench, err error) {
	tmp, err := os.MkdirTemp("", "whispeer-benchdiff-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(tmp)
	if abs, err := filepath.Abs(d.Root); err == nil {
		d.Root = abs
	}
	sides := make([]*diffSide, 2)
	for i, rev := range []string{d.BaseRev, d.NewRev} {
		if sides[i], err = d.build(ctx, rev, filepath.Join(tmp, strconv.Itoa(i))); err != nil {
			return nil, nil, err
		}
	}
	results := make([][]GoBench, 2)
	for run := 1; run <= max(d.Count, 1); run++ {
		for _, i := range RunOrder(2, run) {
			d.logf("run %d/%d: %s", run, d.Count, sides[i].rev)
			rs, err := d.runOnce(ctx, sides[i])
			results[i] = append(results[i], rs...)
			if err != nil {
				return results[0], results[1], err
			}
		}
	}
	return results[0], results[1], nil
}

// build exports rev into dir (unless rev is "", the working tree) and
// compiles each package's test binary there.
func (d *BenchDiff) build(ctx context.Context, rev, dir string) (*diffSide, error) {
	s := &diffSide{rev: rev, src: d.Root, bins: map[string]string{}}
	if rev == "" {
		s.rev = "working tree"
	} else {
		s.src = filepath.Join(dir, "src")
		if err := exportTree(d.Root, rev, s.src); err != nil {
			return nil, err
		}
	}
	for i, pkg := range d.Pkgs {
		bin := filepath.Join(dir, fmt.Sprintf("pkg%d.test", i))
		d.logf("build %s at %s", pkg, s.rev)
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-o", bin, pkg)
		cmd.Dir = s.src
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s at %s: %w: %s", pkg, s.rev, err, lastLines(string(out), 5))
		}
		if _, err := os.Stat(bin); err == nil { // a package without tests builds nothing
			s.bins[pkg] = bin
		}
	}
	return s, nil
}

// runOnce runs every package's benchmarks of side s once.
func (d *BenchDiff) runOnce(ctx context.Context, s *diffSide) ([]GoBench, error) {
	var all []GoBench
	for _, pkg := range d.Pkgs {
		bin, ok := s.bins[pkg]
		if !ok {
			continue
		}
		args := []string{"-test.run", "^$", "-test.bench", d.Bench, "-test.benchmem", "-test.count", "1"}
		if d.Benchtime != "" {
			args = append(args, "-test.benchtime", d.Benchtime)
		}
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Dir = filepath.Join(s.src, pkg) // as go test runs it: testdata is found
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		runErr := cmd.Run()
		rs, err := ParseGoBench(&out, pkgPrefix(pkg))
		all = append(all, rs...)
		if runErr != nil {
			return all, fmt.Errorf("benchmarks of %s at %s: %w: %s", pkg, s.rev, runErr, lastLines(out.String(), 5))
		}
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// pkgPrefix names a package's benchmarks in the table: "server/" for
// "./server", nothing for the root.
func pkgPrefix(pkg string) string {
	p := strings.Trim(strings.TrimPrefix(pkg, "./"), "/.")
	if p == "" {
		return ""
	}
	return p + "/"
}

// logf writes one progress line.
func (d *BenchDiff) logf(format string, args ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, format+"\n", args...)
	}
}
