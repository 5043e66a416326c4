package bench

import (
	"math"
	"strings"
	"testing"
)

const goBenchOutput = `goos: linux
goarch: amd64
pkg: github.com/whispeer-io/whispeer/server
cpu: AMD EPYC
BenchmarkFanout/subs=100-2         	   10000	    105000 ns/op	     512 B/op	       3 allocs/op
BenchmarkEncodeBody-2              	 5000000	       230.5 ns/op	       0 B/op	       0 allocs/op
BenchmarkNoMem-2                   	 1000000	      1000 ns/op
PASS
ok  	github.com/whispeer-io/whispeer/server	3.2s
`

func TestParseGoBench(t *testing.T) {
	got, err := ParseGoBench(strings.NewReader(goBenchOutput), "server/")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("parsed %d results, want 3: %+v", len(got), got)
	}
	if want := (GoBench{Name: "server/BenchmarkFanout/subs=100-2", NsOp: 105000, BOp: 512, AllocsOp: 3}); got[0] != want {
		t.Errorf("first = %+v, want %+v", got[0], want)
	}
	if got[1].NsOp != 230.5 || got[1].AllocsOp != 0 {
		t.Errorf("second = %+v", got[1])
	}
	if !math.IsNaN(got[2].BOp) || !math.IsNaN(got[2].AllocsOp) {
		t.Errorf("a result without -benchmem has B/op %v, allocs/op %v, want NaN", got[2].BOp, got[2].AllocsOp)
	}
}

func TestCompareGoBench(t *testing.T) {
	run := func(name string, ns, b, allocs float64) GoBench { return GoBench{name, ns, b, allocs} }
	base := []GoBench{
		run("A", 100, 64, 1), run("A", 300, 64, 1), run("A", 110, 64, 1),
		run("B", 100, 0, 0), run("B", 100, 0, 0),
		run("C", 1000, 1000, 2),
		run("Gone", 5, 0, 0),
	}
	new := []GoBench{
		run("A", 102, 64, 1), run("A", 90, 64, 1), run("A", 500, 64, 1), // median 102 against 110
		run("B", 104, 16, 1), run("B", 104, 16, 1), // 1.04× and one allocation more
		run("C", 1030, 1030, 2), // 3 % slower, 3 % more bytes: within 1/0.97
		run("Added", 7, 0, 0),
	}
	rows := CompareGoBench(base, new)
	byName := map[string]GoBenchRow{}
	for _, r := range rows {
		byName[r.Name] = r
	}
	if a := byName["A"]; a.Base.NsOp != 110 || a.New.NsOp != 102 || a.Slower || a.MoreAllocs {
		t.Errorf("A = %+v, want medians 110 and 102, not flagged", a)
	}
	if b := byName["B"]; !b.Slower || !b.MoreAllocs || !b.MoreBytes {
		t.Errorf("B = %+v, want slower, allocating more times and more bytes", b)
	}
	if c := byName["C"]; c.Slower || c.MoreAllocs || c.MoreBytes {
		t.Errorf("C = %+v, want within the threshold", c)
	}
	if byName["Gone"].Only != "base" || byName["Added"].Only != "new" {
		t.Errorf("one-sided rows: Gone %q, Added %q", byName["Gone"].Only, byName["Added"].Only)
	}
	var sb strings.Builder
	if n := GoBenchTable(&sb, rows); n != 1 {
		t.Errorf("GoBenchTable flagged %d rows, want 1", n)
	}
	out := sb.String()
	for _, want := range []string{
		"| A | 110 | 102 | 0.93× | 64 | 64 | = | 1 | 1 | = |  |",
		"| B | 100 | 104 | 1.04× | 0 | 16 | ? | 0 | 1 | ? | ⚠ slower, ⚠ more allocs, ⚠ more bytes |",
		"| C | 1000 | 1030 | 1.03× | 1000 | 1030 | 1.03× | 2 | 2 | = |  |",
		"On one side only: `Added` (new only), `Gone` (base only).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestPkgPrefix(t *testing.T) {
	for pkg, want := range map[string]string{".": "", "./": "", "./server": "server/", "./store/file/": "store/file/"} {
		if got := pkgPrefix(pkg); got != want {
			t.Errorf("pkgPrefix(%q) = %q, want %q", pkg, got, want)
		}
	}
}
