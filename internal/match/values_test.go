package match

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestValueSet_Random checks a valueSet against a map through random adds
// and removes that cross indexAbove in both directions.
func TestValueSet_Random(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	var s valueSet[int]
	ref := map[int]bool{}
	for i := range 20_000 {
		v := rng.IntN(3 * indexAbove)
		if rng.IntN(2) == 0 {
			if got := s.add(v); got == ref[v] {
				t.Fatalf("op %d: add(%d) = %v with present = %v", i, v, got, ref[v])
			}
			ref[v] = true
		} else {
			if got := s.remove(v); got != ref[v] {
				t.Fatalf("op %d: remove(%d) = %v with present = %v", i, v, got, ref[v])
			}
			delete(ref, v)
		}
		if s.len() != len(ref) {
			t.Fatalf("op %d: len = %d, want %d", i, s.len(), len(ref))
		}
		for j, x := range s.vals {
			if !ref[x] || (s.idx != nil && s.idx[x] != j) {
				t.Fatalf("op %d: vals %v, index %v, want the set %v", i, s.vals, s.idx, ref)
			}
		}
		if s.idx != nil && len(s.idx) != len(s.vals) {
			t.Fatalf("op %d: index has %d entries for %d values", i, len(s.idx), len(s.vals))
		}
	}
	got := slices.Sorted(slices.Values(s.vals))
	if want := slices.Sorted(maps.Keys(ref)); !slices.Equal(got, want) {
		t.Fatalf("values %v, want %v", got, want)
	}
}
