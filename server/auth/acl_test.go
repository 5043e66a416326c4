package auth

import (
	"fmt"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/internal/match"
)

func TestCovers(t *testing.T) {
	tests := []struct {
		allowed []string
		pattern string
		want    bool
	}{
		{[]string{"chat/#"}, "chat/+", true},
		{[]string{"chat/#"}, "chat/a", true},
		{[]string{"chat/#"}, "chat", true},
		{[]string{"chat/#"}, "chat/a/b/c", true},
		{[]string{"chat/#"}, "chat/#", true},
		{[]string{"chat/#"}, "chat/+/#", true},
		{[]string{"chat/#"}, "chats", false},
		{[]string{"chat/#"}, "#", false},
		{[]string{"chat/#"}, "+/a", false},
		{[]string{"chat/+"}, "chat/#", false},
		{[]string{"chat/+"}, "#", false},
		{[]string{"chat/+"}, "chat/a", true},
		{[]string{"chat/+"}, "chat/*", true},
		{[]string{"chat/*"}, "chat/+", true},
		{[]string{"chat/+"}, "chat", false},
		{[]string{"chat/+"}, "chat/a/b", false},
		{[]string{"#"}, "#", true},
		{[]string{"#"}, "a/+/b/#", true},
		{[]string{"+/#"}, "#", true}, // topics have at least one level
		{[]string{"+"}, "#", false},
		{[]string{"+/+"}, "+/#", false},
		{[]string{"a/+/c"}, "a/b/c", true},
		{[]string{"a/+/c"}, "a/+/c", true},
		{[]string{"a/b/c"}, "a/+/c", false},
		{[]string{"a/b", "a/+"}, "a/+", true},
		{[]string{"chat", "chat/+/#"}, "chat/#", true}, // only together
		{[]string{"chat", "chat/+"}, "chat/#", false},  // chat/a/b is missing
		{[]string{"a/b/#", "a/+/c"}, "a/+/c", true},
		{[]string{"a/b/#", "a/c/#"}, "a/+", false},
		{nil, "a", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v⊇%s", tt.allowed, tt.pattern), func(t *testing.T) {
			if got := Covers(tt.allowed, tt.pattern); got != tt.want {
				t.Errorf("Covers(%q, %q) = %v, want %v", tt.allowed, tt.pattern, got, tt.want)
			}
		})
	}
}

// TestCovers_BruteForce compares Covers with its definition on every pair
// of small patterns, and on every pattern against every pair of allowed
// patterns: pattern is covered exactly when each topic it matches is
// matched by an allowed pattern. Topics are drawn from the pattern's
// literals plus one that no pattern names, up to one level deeper than
// the longest pattern, which is enough to find any counterexample.
func TestCovers_BruteForce(t *testing.T) {
	long := patterns([]string{"a", "b", "+", "*"}, 3)
	short := patterns([]string{"a", "+"}, 2)
	topics := topicsUpTo([]string{"a", "b", "z"}, 4)

	check := func(allowed []string, pattern string) {
		want := true
		for _, topic := range topics {
			if match.Matches(pattern, topic) && !matchesAny(allowed, topic) {
				want = false
				break
			}
		}
		if got := Covers(allowed, pattern); got != want {
			t.Errorf("Covers(%q, %q) = %v, want %v", allowed, pattern, got, want)
		}
	}
	for _, a := range long {
		for _, p := range long {
			check([]string{a}, p)
		}
	}
	for _, a := range short {
		for _, b := range short {
			for _, p := range long {
				check([]string{a, b}, p)
			}
		}
	}
}

// patterns returns every valid pattern of 1 to n levels drawn from lvls,
// with and without a trailing "#".
func patterns(lvls []string, n int) []string {
	out := []string{"#"}
	prev := []string{""}
	for range n {
		var next []string
		for _, p := range prev {
			for _, l := range lvls {
				next = append(next, strings.TrimPrefix(p+"/"+l, "/"))
			}
		}
		for _, p := range next {
			out = append(out, p, p+"/#")
		}
		prev = next
	}
	return out
}

// topicsUpTo returns every topic of 1 to n levels drawn from lvls.
func topicsUpTo(lvls []string, n int) []string {
	var out []string
	prev := []string{""}
	for range n {
		var next []string
		for _, p := range prev {
			for _, l := range lvls {
				next = append(next, strings.TrimPrefix(p+"/"+l, "/"))
			}
		}
		out = append(out, next...)
		prev = next
	}
	return out
}

// matchesAny reports whether one of patterns matches topic.
func matchesAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if match.Matches(p, topic) {
			return true
		}
	}
	return false
}
