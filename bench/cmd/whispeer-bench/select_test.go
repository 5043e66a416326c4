package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/bench"
)

// names returns the targets' names.
func names(ts []bench.Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name())
	}
	return out
}

func TestSelectTargets_BaseTwins(t *testing.T) {
	m := &Main{targets: "whispeer-tcp,nats-tcp,whispeer-json-ws", baseRev: "HEAD~1"}
	want := []string{"whispeer-tcp", "whispeer-tcp@base", "nats-tcp", "whispeer-json-ws", "whispeer-json-ws@base"}
	if got := names(must(m.selectTargets())); !slices.Equal(got, want) {
		t.Errorf("targets = %q, want %q", got, want)
	}
	m.baseRev = ""
	if got := names(must(m.selectTargets())); !slices.Equal(got, []string{"whispeer-tcp", "nats-tcp", "whispeer-json-ws"}) {
		t.Errorf("targets without a base = %q", got)
	}
}

func TestSelectTargets_AllTwinsEveryWhispeerTarget(t *testing.T) {
	m := &Main{targets: "all", baseBin: "/usr/local/bin/whispeer-old"}
	all := names(must(m.selectTargets()))
	for i, name := range all {
		if base, ok := strings.CutSuffix(name, bench.BaseSuffix); ok {
			if i == 0 || all[i-1] != base {
				t.Errorf("%s does not follow %s: %q", name, base, all)
			}
			continue
		}
		whispeer := strings.HasPrefix(name, "whispeer")
		if twinned := i+1 < len(all) && all[i+1] == name+bench.BaseSuffix; twinned != whispeer {
			t.Errorf("%s twinned = %v: %q", name, twinned, all)
		}
	}
}

// must returns v, or panics with err.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
