package match

import (
	"fmt"
	"testing"
)

// Medians of go test -run '^$' -bench . -benchmem -count 5 ./internal/match/
// on 2 cores (Intel Xeon, GOMAXPROCS=2), with 100,000 subscriptions:
//
//	BenchmarkMatch_Cached-2      8.9 ns/op     0 B/op   0 allocs/op
//	BenchmarkMatch_Uncached-2    121 ns/op    16 B/op   1 allocs/op
//	BenchmarkMatch_CacheMiss-2   338 ns/op    95 B/op   2 allocs/op
//	BenchmarkInsertRemove-2      324 ns/op   208 B/op   4 allocs/op
//	BenchmarkMatch_Parallel-2   10.3 ns/op     0 B/op   0 allocs/op

// benchSubs is the number of subscriptions in the benchmark Sublists.
const benchSubs = 100_000

// benchTopic is the topic the single-topic benchmarks publish to. It
// matches a literal and a wildcard subscription.
const benchTopic = "org42/dev42/temp"

// newBenchSublist returns a Sublist of benchSubs subscriptions across 100
// organizations: 70% literal, the rest "+" at the last or middle level, or
// "#" below a device, with one subscriber each, plus two broad wildcards.
func newBenchSublist(tb testing.TB, cacheSize int) *Sublist[int] {
	tb.Helper()
	s := New[int](cacheSize)
	for i := range benchSubs {
		org := i % 100
		var p string
		switch i % 10 {
		case 7:
			p = fmt.Sprintf("org%d/dev%d/+", org, i)
		case 8:
			p = fmt.Sprintf("org%d/+/ev%d", org, i)
		case 9:
			p = fmt.Sprintf("org%d/dev%d/#", org, i)
		default:
			p = fmt.Sprintf("org%d/dev%d/temp", org, i)
		}
		s.Insert(p, i)
	}
	s.Insert("+/dev42/temp", -1)
	s.Insert("org1/#", -2)
	if n := len(s.Match(benchTopic)); n != 2 {
		tb.Fatalf("Match(%q) has %d values, want 2", benchTopic, n)
	}
	return s
}

// BenchmarkMatch_Cached is the publish path's match when the topic's answer
// is cached: it must not allocate.
func BenchmarkMatch_Cached(b *testing.B) {
	s := newBenchSublist(b, DefaultCacheSize)
	s.Match(benchTopic)
	b.ReportAllocs()
	for b.Loop() {
		s.Match(benchTopic)
	}
}

// BenchmarkMatch_Uncached walks the trie on every call.
func BenchmarkMatch_Uncached(b *testing.B) {
	s := newBenchSublist(b, 0)
	b.ReportAllocs()
	for b.Loop() {
		s.Match(benchTopic)
	}
}

// BenchmarkMatch_CacheMiss cycles through more distinct topics than the
// cache holds, so most calls walk the trie and replace a cache entry.
func BenchmarkMatch_CacheMiss(b *testing.B) {
	s := newBenchSublist(b, 1024)
	topics := make([]string, 16*1024)
	for i := range topics {
		topics[i] = fmt.Sprintf("org%d/dev%d/temp", i%100, i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s.Match(topics[i%len(topics)])
		i++
	}
}

// BenchmarkInsertRemove subscribes and unsubscribes one pattern in a full
// Sublist, creating and pruning its nodes each time.
func BenchmarkInsertRemove(b *testing.B) {
	s := newBenchSublist(b, DefaultCacheSize)
	b.ReportAllocs()
	for b.Loop() {
		s.Insert("org42/newdev/+", 1)
		s.Remove("org42/newdev/+", 1)
	}
}

// BenchmarkMatch_Parallel matches 1,000 cached topics from every P.
func BenchmarkMatch_Parallel(b *testing.B) {
	s := newBenchSublist(b, DefaultCacheSize)
	topics := make([]string, 1000)
	for i := range topics {
		topics[i] = fmt.Sprintf("org%d/dev%d/temp", i%100, i)
		s.Match(topics[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			s.Match(topics[i%len(topics)])
			i++
		}
	})
}
