package match

import (
	"hash/maphash"
	"math/bits"
	"math/rand/v2"
	"sync/atomic"
)

// cacheWays is the number of entries in one set of the match cache: eight
// pointers fill one 64-byte cache line.
const cacheWays = 8

// cacheEntry is one cached answer. Entries are immutable once published,
// so a reader that loads one needs no lock.
type cacheEntry[T comparable] struct {
	hash   uint64
	gen    uint64 // the Sublist generation result was computed at
	topic  string // owned by the entry, never the caller's memory
	result []T    // shared, read-only; nil when nothing matched
}

// matchCache is a fixed-size, set-associative, lock-free cache of match
// results keyed by topic. A topic hashes to one set of ways slots; a new
// entry takes the topic's old slot, an empty slot, a stale slot, or a
// random victim, in that order. The cache never grows: its size is fixed
// by newMatchCache.
//
// Readers only load atomics. Writers publish entries with compare-and-swap,
// so two writers racing on one slot never lose count of how many slots are
// full; they may leave the same topic in two slots of its set, which costs
// a slot but not correctness, since every entry is checked against the
// current generation.
type matchCache[T comparable] struct {
	seed  maphash.Seed
	slots []atomic.Pointer[cacheEntry[T]]
	ways  uint64
	sets  uint64
	n     atomic.Int64 // slots in use

	// next is the set that the next sweep clears of stale entries. It is
	// guarded by the write side of the owning Sublist's mu.
	next uint64
}

// newMatchCache returns a cache holding at most size entries (size > 0),
// rounded down to a multiple of cacheWays when size exceeds it.
func newMatchCache[T comparable](size int) *matchCache[T] {
	ways := min(size, cacheWays)
	sets := size / ways
	return &matchCache[T]{
		seed:  maphash.MakeSeed(),
		slots: make([]atomic.Pointer[cacheEntry[T]], sets*ways),
		ways:  uint64(ways),
		sets:  uint64(sets),
	}
}

// hash returns the hash of topic that selects its set.
func (c *matchCache[T]) hash(topic string) uint64 {
	return maphash.String(c.seed, topic)
}

// set returns the slots topic's hash h may occupy.
func (c *matchCache[T]) set(h uint64) []atomic.Pointer[cacheEntry[T]] {
	i, _ := bits.Mul64(h, c.sets) // maps h onto [0, sets) without a division
	base := i * c.ways
	return c.slots[base : base+c.ways : base+c.ways]
}

// get returns the cached result for topic and whether it was computed at
// generation gen. It does not allocate.
func (c *matchCache[T]) get(h uint64, topic string, gen uint64) ([]T, bool) {
	set := c.set(h)
	for i := range set {
		if e := set[i].Load(); e != nil && e.hash == h && e.topic == topic {
			return e.result, e.gen == gen
		}
	}
	return nil, false
}

// put records result as topic's answer at generation gen, unless the cache
// already holds a newer one.
func (c *matchCache[T]) put(h uint64, topic string, gen uint64, result []T) {
	set := c.set(h)
	for i := range set {
		if e := set[i].Load(); e != nil && e.hash == h && e.topic == topic {
			if e.gen < gen {
				set[i].CompareAndSwap(e, c.entry(h, topic, gen, result))
			}
			return
		}
	}
	ne := c.entry(h, topic, gen, result)
	victim := -1
	for i := range set {
		e := set[i].Load()
		if e == nil {
			if set[i].CompareAndSwap(nil, ne) {
				c.n.Add(1)
				return
			}
			continue
		}
		if victim < 0 && e.gen < gen {
			victim = i
		}
	}
	if victim < 0 {
		victim = rand.IntN(len(set))
	}
	old := set[victim].Load()
	if set[victim].CompareAndSwap(old, ne) && old == nil {
		c.n.Add(1)
	}
}

// entry builds an entry that owns a copy of topic.
func (c *matchCache[T]) entry(h uint64, topic string, gen uint64, result []T) *cacheEntry[T] {
	return &cacheEntry[T]{hash: h, gen: gen, topic: topic, result: result}
}

// sweep empties the slots of one set whose entries predate gen, so that
// stale results do not keep removed values reachable for long. Successive
// calls visit the sets in turn. The caller holds the owning Sublist's mu
// for writing.
func (c *matchCache[T]) sweep(gen uint64) {
	base := c.next * c.ways
	c.next = (c.next + 1) % c.sets
	for i := base; i < base+c.ways; i++ {
		if e := c.slots[i].Load(); e != nil && e.gen < gen && c.slots[i].CompareAndSwap(e, nil) {
			c.n.Add(-1)
		}
	}
}

// len returns the number of slots in use, stale entries included.
func (c *matchCache[T]) len() int { return int(c.n.Load()) }
