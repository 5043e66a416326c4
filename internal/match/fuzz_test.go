package match

import (
	"slices"
	"testing"
)

// FuzzValidate checks that validation never panics and agrees with the
// plain statement of the rules, and that for every valid pattern and topic
// Matches, the reference matcher and a Sublist agree.
func FuzzValidate(f *testing.F) {
	for _, tt := range matchTests {
		f.Add(tt.pattern, tt.topic)
	}
	for _, seed := range [][2]string{
		{"", ""}, {"/", "//"}, {"#/a", "a\x00"}, {"a+", "\xff"}, {"#x", "a\x7f/b"},
		{"+/+/+/+/+", "a/b/c/d/e"}, {"日本/#", "日本"}, {"*/#", "x"}, {"a/\u202e/#", "\u0085\u2069"},
	} {
		f.Add(seed[0], seed[1])
	}
	small := Limits{MaxBytes: 24, MaxLevels: 4}
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		for _, l := range []Limits{{}, small} {
			for _, s := range []string{pattern, topic} {
				te, pe := ValidateTopic(s, l), ValidatePattern(s, l)
				if te != refValidate(s, l, false) || pe != refValidate(s, l, true) {
					t.Fatalf("%q: ValidateTopic = %v, ValidatePattern = %v; want %v, %v",
						s, te, pe, refValidate(s, l, false), refValidate(s, l, true))
				}
				if te == nil && (pe != nil || IsPattern(s)) {
					t.Fatalf("%q: a valid topic must be a valid pattern and not IsPattern", s)
				}
			}
		}
		if ValidatePattern(pattern, Limits{}) != nil || ValidateTopic(topic, Limits{}) != nil {
			return
		}
		want := Matches(pattern, topic)
		if ref := refMatches(pattern, topic); want != ref {
			t.Fatalf("Matches(%q, %q) = %v, reference says %v", pattern, topic, want, ref)
		}
		for _, size := range []int{0, 8} {
			s := New[int](size)
			s.Insert(pattern, 1)
			s.Insert("#", 2)
			wantVals := []int{2}
			if want {
				wantVals = []int{1, 2}
			}
			for range 2 {
				if got := sortedCopy(s.Match(topic)); !slices.Equal(got, wantVals) {
					t.Fatalf("Sublist with %q: Match(%q) = %v, want %v", pattern, topic, got, wantVals)
				}
			}
			if !s.Remove(pattern, 1) || s.Match(topic)[0] != 2 {
				t.Fatalf("Remove(%q) did not take the value out", pattern)
			}
		}
	})
}
