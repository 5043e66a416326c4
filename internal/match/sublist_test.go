package match

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

func TestSublist_Match(t *testing.T) {
	for _, size := range []int{0, 16} {
		for _, tt := range matchTests {
			name := fmt.Sprintf("cache=%d/%s~%s", size, tt.pattern, tt.topic)
			t.Run(name, func(t *testing.T) {
				s := New[int](size)
				s.Insert(tt.pattern, 1)
				for range 2 { // a miss, then a hit
					if got := len(s.Match(tt.topic)) == 1; got != tt.want {
						t.Errorf("Match(%q) with %q matched %v, want %v", tt.topic, tt.pattern, got, tt.want)
					}
				}
			})
		}
	}
}

func TestSublist_MatchMany(t *testing.T) {
	s := New[int](64)
	for _, p := range []pair{
		{"#", 1},
		{"chat/#", 2},
		{"chat/+", 3},
		{"chat/*", 3}, // same value, different pattern: matched twice
		{"chat/general", 4},
		{"chat/general", 5},
		{"chat/general/#", 6},
		{"sensor/+/temperature", 7},
	} {
		if !s.Insert(p.pattern, p.v) {
			t.Fatalf("Insert(%q, %d) = false", p.pattern, p.v)
		}
	}
	tests := []struct {
		topic string
		want  []int
	}{
		{"chat", []int{1, 2}},
		{"chat/general", []int{1, 2, 3, 3, 4, 5, 6}},
		{"chat/random", []int{1, 2, 3, 3}},
		{"chat/general/x", []int{1, 2, 6}},
		{"sensor/kitchen/temperature", []int{1, 7}},
		{"sensor/kitchen", []int{1}},
	}
	for _, tt := range tests {
		for range 2 {
			if got := sortedCopy(s.Match(tt.topic)); !slices.Equal(got, tt.want) {
				t.Errorf("Match(%q) = %v, want %v", tt.topic, got, tt.want)
			}
		}
	}
	if got := s.Count(); got != 8 {
		t.Errorf("Count() = %d, want 8", got)
	}
}

func TestSublist_MatchNone(t *testing.T) {
	s := New[int](8)
	s.Insert("a/b", 1)
	for _, topic := range []string{"a", "b", "a/b/c", "a/c"} {
		if got := s.Match(topic); got != nil {
			t.Errorf("Match(%q) = %v, want nil", topic, got)
		}
	}
}

func TestSublist_InsertDuplicate(t *testing.T) {
	s := New[string](8)
	steps := []struct {
		pattern, v string
		want       bool
	}{
		{"a/+", "x", true},
		{"a/+", "x", false},
		{"a/+", "y", true},
		{"a/*", "x", true}, // "+" and "*" are different patterns
		{"a/#", "x", true},
		{"a", "x", true},
		{"a/#", "x", false},
	}
	for _, st := range steps {
		if got := s.Insert(st.pattern, st.v); got != st.want {
			t.Errorf("Insert(%q, %q) = %v, want %v", st.pattern, st.v, got, st.want)
		}
	}
	if got := s.Count(); got != 5 {
		t.Errorf("Count() = %d, want 5", got)
	}
}

func TestSublist_Remove(t *testing.T) {
	var s Sublist[int]
	if s.Remove("a", 1) {
		t.Error("Remove on an empty Sublist = true")
	}
	s.Insert("a/b/c", 1)
	s.Insert("a/+/c", 1)
	s.Insert("a/#", 1)
	s.Insert("a/x", 2)
	for _, p := range []pair{{"a/b/c", 2}, {"a/b", 1}, {"a", 1}, {"a/*/c", 1}, {"#", 1}, {"a/b/c/d", 1}} {
		if s.Remove(p.pattern, p.v) {
			t.Errorf("Remove(%q, %d) of an absent pair = true", p.pattern, p.v)
		}
	}
	if !s.Remove("a/b/c", 1) || s.Remove("a/b/c", 1) {
		t.Fatal("Remove(a/b/c, 1): want true, then false")
	}
	a := s.root.lits["a"]
	if a == nil || a.lits["b"] != nil || a.lits["x"] == nil || a.plus == nil {
		t.Fatalf("after removing a/b/c: want a/b pruned and a/x, a/+ kept")
	}
	if got := s.Match("a/b/c"); !slices.Equal(got, []int{1, 1}) {
		t.Errorf("Match(a/b/c) = %v, want [1 1]", got)
	}
	s.Remove("a/+/c", 1)
	if a.plus != nil {
		t.Error("a/+ not pruned")
	}
	s.Remove("a/#", 1)
	s.Remove("a/x", 2)
	if !s.root.empty() {
		t.Errorf("root not empty after removing every pair: %+v", s.root)
	}
	if s.Count() != 0 || s.Match("a/x") != nil {
		t.Errorf("Count() = %d, Match(a/x) = %v after removing every pair", s.Count(), s.Match("a/x"))
	}
}

func TestSublist_ZeroValue(t *testing.T) {
	var s Sublist[int]
	if s.Match("a") != nil || s.Count() != 0 || s.CacheLen() != 0 {
		t.Fatal("zero Sublist is not empty")
	}
	s.Insert("+", 1)
	if got := s.Match("a"); !slices.Equal(got, []int{1}) {
		t.Errorf("Match(a) = %v, want [1]", got)
	}
	if s.CacheLen() != 0 {
		t.Errorf("zero Sublist cached %d entries", s.CacheLen())
	}
}

func TestSublist_ManyValues(t *testing.T) {
	const n = 200 // well past indexAbove, so the position index is used
	s := New[int](8)
	for i := range n {
		s.Insert("room/+", i)
		if s.Insert("room/+", i) {
			t.Fatalf("Insert(room/+, %d) twice = true", i)
		}
	}
	var want []int
	for i := range n {
		if i%3 != 0 {
			if !s.Remove("room/+", i) {
				t.Fatalf("Remove(room/+, %d) = false", i)
			}
		} else {
			want = append(want, i)
		}
	}
	if got := sortedCopy(s.Match("room/1")); !slices.Equal(got, want) {
		t.Fatalf("Match(room/1) = %v, want %v", got, want)
	}
	for _, v := range want {
		if !s.Remove("room/+", v) {
			t.Fatalf("Remove(room/+, %d) = false", v)
		}
	}
	if s.Match("room/1") != nil || !s.root.empty() {
		t.Error("values or nodes left after removing them all")
	}
}

func TestSublist_MatchReadOnly(t *testing.T) {
	s := New[int](8)
	s.Insert("a", 1)
	s.Insert("#", 2)
	r := s.Match("a")
	if cap(r) != len(r) {
		t.Fatalf("cap = %d, len = %d: appending would write into the shared slice", cap(r), len(r))
	}
	_ = append(r, 3)
	if got := sortedCopy(s.Match("a")); !slices.Equal(got, []int{1, 2}) {
		t.Errorf("Match(a) = %v, want [1 2]", got)
	}
}

func TestSublist_CacheInvalidation(t *testing.T) {
	s := New[int](64)
	check := func(topic string, want ...int) {
		t.Helper()
		for range 2 {
			if got := sortedCopy(s.Match(topic)); !slices.Equal(got, want) {
				t.Errorf("Match(%q) = %v, want %v", topic, got, want)
			}
		}
	}
	check("a/b") // caches an empty answer
	if s.CacheLen() != 1 {
		t.Errorf("CacheLen() = %d after one Match, want 1", s.CacheLen())
	}
	s.Insert("a/+", 1)
	check("a/b", 1)
	s.Insert("a/#", 2)
	check("a/b", 1, 2)
	check("a", 2)
	s.Insert("a/b", 3)
	check("a/b", 1, 2, 3)
	s.Remove("a/+", 1)
	check("a/b", 2, 3)
	s.Insert("a/b", 3) // a duplicate changes nothing
	check("a/b", 2, 3)
	s.Remove("a/#", 2)
	s.Remove("a/b", 3)
	check("a/b")
	check("a")
}

func TestSublist_CacheBound(t *testing.T) {
	for _, size := range []int{1, 2, 7, 8, 9, 100, 1000} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := New[int](size)
			s.Insert("t/+", 1)
			s.Insert("t/5", 2)
			for i := range 20 * size {
				topic := fmt.Sprintf("t/%d", i)
				want := 1
				if i == 5 {
					want = 2
				}
				if got := len(s.Match(topic)); got != want {
					t.Fatalf("Match(%q) has %d values, want %d", topic, got, want)
				}
				if n := s.CacheLen(); n > size {
					t.Fatalf("CacheLen() = %d > cacheSize %d", n, size)
				}
			}
			if s.CacheLen() == 0 {
				t.Error("nothing cached")
			}
		})
	}
}

func TestSublist_SweepDropsStaleEntries(t *testing.T) {
	s := New[int](8) // one set, swept by every change
	s.Insert("a", 1)
	s.Match("a")
	s.Match("b")
	if s.CacheLen() != 2 {
		t.Fatalf("CacheLen() = %d, want 2", s.CacheLen())
	}
	s.Remove("a", 1)
	if s.CacheLen() != 0 {
		t.Errorf("CacheLen() = %d after a change, want 0: stale entries pin removed values", s.CacheLen())
	}
}

func TestSublist_MatchDoesNotRetainTopic(t *testing.T) {
	s := New[int](8)
	s.Insert("a/b", 1)
	buf := []byte("a/b")
	s.Match(unsafe.String(&buf[0], len(buf))) // a view of a reusable buffer
	copy(buf, "x/y")
	if got := s.Match("a/b"); !slices.Equal(got, []int{1}) {
		t.Errorf("Match(a/b) = %v after the buffer changed, want [1]", got)
	}
	if got := s.Match("x/y"); got != nil {
		t.Errorf("Match(x/y) = %v, want nil", got)
	}
}

func TestSublist_MatchNoAllocsCached(t *testing.T) {
	s := New[int](64)
	s.Insert("sensor/+/temperature", 1)
	s.Insert("sensor/#", 2)
	s.Insert("other", 3)
	for _, topic := range []string{"sensor/kitchen/temperature", "nobody/listens"} {
		s.Match(topic)
		allocs := testing.AllocsPerRun(1000, func() { s.Match(topic) })
		if allocs != 0 {
			t.Errorf("cached Match(%q): %v allocs, want 0", topic, allocs)
		}
	}
}

// TestSublist_Property compares Match with a brute-force matcher over
// random patterns and topics, through inserts, removes and cache eviction.
func TestSublist_Property(t *testing.T) {
	for _, size := range []int{0, 3, 16, 1024} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			s := New[int](size)
			live := map[pair]bool{}
			for round := range 40 {
				for range 25 {
					p := pair{randPattern(rng), rng.IntN(8)}
					if got := s.Insert(p.pattern, p.v); got == live[p] {
						t.Fatalf("Insert(%q, %d) = %v with present = %v", p.pattern, p.v, got, live[p])
					}
					live[p] = true
				}
				for p := range live {
					if rng.IntN(3) == 0 {
						if !s.Remove(p.pattern, p.v) {
							t.Fatalf("Remove(%q, %d) of a present pair = false", p.pattern, p.v)
						}
						delete(live, p)
					}
				}
				if s.Count() != len(live) {
					t.Fatalf("Count() = %d, want %d", s.Count(), len(live))
				}
				for range 50 {
					topic := randTopic(rng)
					if got, want := sortedCopy(s.Match(topic)), bruteMatch(live, topic); !slices.Equal(got, want) {
						t.Fatalf("round %d: Match(%q) = %v, want %v", round, topic, got, want)
					}
				}
			}
		})
	}
}

// TestSublist_Concurrent inserts, removes and matches from many goroutines
// and then checks every answer, cached ones included, against brute force.
func TestSublist_Concurrent(t *testing.T) {
	const writers, readers, ops = 4, 4, 2000
	s := New[int](64) // small, so eviction races with everything else
	rng := rand.New(rand.NewPCG(7, 7))

	// Stable pairs are never removed: every Match must include them.
	stable := map[pair]bool{}
	for i := range 30 {
		p := pair{randPattern(rng), -1 - i}
		stable[p] = true
		s.Insert(p.pattern, p.v)
	}

	finals := make([]map[pair]bool, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			mine := map[pair]bool{}
			for i := range ops {
				p := pair{randPattern(rng), w*ops + i%50} // values of their own
				if mine[p] {
					s.Remove(p.pattern, p.v)
					delete(mine, p)
				} else {
					s.Insert(p.pattern, p.v)
					mine[p] = true
				}
			}
			finals[w] = mine
		})
	}
	errs := make(chan string, readers)
	for r := range readers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 2))
			for range ops {
				topic := randTopic(rng)
				got := s.Match(topic)
				for _, v := range bruteMatch(stable, topic) {
					if !slices.Contains(got, v) {
						errs <- fmt.Sprintf("Match(%q) = %v lacks stable value %d", topic, got, v)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}

	want := maps.Clone(stable)
	for _, m := range finals {
		for p := range m {
			want[p] = true
		}
	}
	if s.Count() != len(want) {
		t.Errorf("Count() = %d, want %d", s.Count(), len(want))
	}
	for _, topic := range allTopics() {
		for range 2 {
			if got, w := sortedCopy(s.Match(topic)), bruteMatch(want, topic); !slices.Equal(got, w) {
				t.Fatalf("after the storm: Match(%q) = %v, want %v", topic, got, w)
			}
		}
	}
}

// TestSublist_NoStaleCacheAfterWrite races each write against Matches that
// compute and cache answers for the topics it changes: once the write has
// returned, no answer from before it may be served as fresh. The reader
// cycles through more topics than the cache holds, so it is always
// computing when the write lands.
func TestSublist_NoStaleCacheAfterWrite(t *testing.T) {
	s := New[int](8)
	topics := make([]string, 16)
	for i := range topics {
		topics[i] = fmt.Sprintf("a/%d", i)
	}
	for round := range 1000 {
		var stop atomic.Bool
		var wg sync.WaitGroup
		started := make(chan struct{})
		wg.Go(func() {
			for i := 0; i == 0 || !stop.Load(); i++ {
				s.Match(topics[i%len(topics)])
				if i == len(topics) {
					close(started)
				}
			}
		})
		<-started
		want := []int{round}
		if round%2 == 0 {
			s.Insert("a/+", round)
		} else {
			s.Remove("a/+", round-1)
			want = nil
		}
		stop.Store(true)
		wg.Wait()
		for _, topic := range topics {
			if got := s.Match(topic); !slices.Equal(got, want) {
				t.Fatalf("round %d: Match(%q) = %v after the write, want %v", round, topic, got, want)
			}
		}
	}
}

// pair is one subscription: a pattern and its value.
type pair struct {
	pattern string
	v       int
}

// bruteMatch returns, sorted, the values of the pairs matching topic.
func bruteMatch(pairs map[pair]bool, topic string) []int {
	var out []int
	for p := range pairs {
		if Matches(p.pattern, topic) {
			out = append(out, p.v)
		}
	}
	slices.Sort(out)
	return out
}

// sortedCopy returns a sorted copy of a shared result; nil stays nil.
func sortedCopy(r []int) []int {
	if r == nil {
		return nil
	}
	r = slices.Clone(r)
	slices.Sort(r)
	return r
}

// randPattern returns a valid pattern of up to four levels over a small
// alphabet, so that random patterns and topics often meet.
func randPattern(rng *rand.Rand) string {
	n := 1 + rng.IntN(4)
	lvls := make([]string, n)
	for i := range lvls {
		lvls[i] = []string{"a", "b", "c", "+", "*"}[rng.IntN(5)]
	}
	if rng.IntN(4) == 0 {
		lvls[n-1] = "#"
	}
	return strings.Join(lvls, "/")
}

// randTopic returns a topic of up to five levels over {a, b, c}.
func randTopic(rng *rand.Rand) string {
	lvls := make([]string, 1+rng.IntN(5))
	for i := range lvls {
		lvls[i] = []string{"a", "b", "c"}[rng.IntN(3)]
	}
	return strings.Join(lvls, "/")
}

// allTopics returns every topic randTopic can return.
func allTopics() []string {
	var all []string
	level := []string{""}
	for range 5 {
		var next []string
		for _, prefix := range level {
			for _, l := range []string{"a", "b", "c"} {
				next = append(next, strings.TrimPrefix(prefix+"/"+l, "/"))
			}
		}
		all = append(all, next...)
		level = next
	}
	return all
}
