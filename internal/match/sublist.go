package match

import (
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultCacheSize is a reasonable cacheSize for [New]: enough distinct
// topics for a busy broker, about a few hundred kilobytes of memory.
const DefaultCacheSize = 4096

// Sublist is a set of (pattern, value) pairs that finds the values whose
// pattern matches a topic. Patterns are kept in a trie with one node per
// level; recent answers are kept in a bounded match cache that every
// Insert and Remove invalidates by bumping a generation counter.
//
// A Sublist is safe for concurrent use; see the package documentation for
// the contract. The zero value is an empty Sublist with no cache. A
// Sublist must not be copied after first use.
type Sublist[T comparable] struct {
	cache *matchCache[T] // nil when disabled; set only by New
	// gen counts changes to the trie. It is written only with mu held for
	// writing and read by a computing Match with mu held for reading, so a
	// result and the generation cached with it always describe one state;
	// a cache hit compares an entry's generation with gen without the lock.
	gen   atomic.Uint64
	count atomic.Int64 // (pattern, value) pairs

	// mu guards root. It is the only lock in a Sublist: the cache is
	// lock-free, so there is no lock order to keep, and no method holds mu
	// while calling out.
	mu   sync.RWMutex
	root *node[T]

	scratch sync.Pool // *[]T buffers for computing results
}

// node is one level of the trie. Its children are the next level: literal
// levels by name, "+" and "*" each in a field of their own (they match the
// same topics but are different patterns, inserted and removed apart).
type node[T comparable] struct {
	lits map[string]*node[T]
	plus *node[T]
	star *node[T]
	vals valueSet[T] // patterns that end at this node
	hash valueSet[T] // patterns that end with a "#" level below this node
}

// New returns an empty Sublist that caches the results of up to cacheSize
// distinct topics (rounded down to a multiple of 8 when larger than 8). A
// cacheSize <= 0 disables the cache. The cache's slots, 8 bytes each, are
// allocated here; its entries as topics are matched.
func New[T comparable](cacheSize int) *Sublist[T] {
	s := new(Sublist[T])
	if cacheSize > 0 {
		s.cache = newMatchCache[T](cacheSize)
	}
	return s
}

// Insert adds v under pattern, which is assumed valid (see
// [ValidatePattern]). It reports false, changing nothing, if the pair is
// already present.
func (s *Sublist[T]) Insert(pattern string, v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		s.root = new(node[T])
	}
	n := s.root
	for {
		lvl, rest, more := cutLevel(pattern)
		if lvl == "#" && !more {
			return s.changed(n.hash.add(v), 1)
		}
		n = n.child(lvl)
		if !more {
			return s.changed(n.vals.add(v), 1)
		}
		pattern = rest
	}
}

// Remove removes v from pattern and prunes the trie nodes left empty. It
// reports false if the pair is absent.
func (s *Sublist[T]) Remove(pattern string, v T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root == nil {
		return false
	}
	return s.changed(s.root.remove(pattern, v), -1)
}

// changed records a change to the trie, if ok, and returns ok. The caller
// holds mu for writing.
func (s *Sublist[T]) changed(ok bool, delta int64) bool {
	if !ok {
		return false
	}
	s.count.Add(delta)
	gen := s.gen.Add(1)
	if s.cache != nil {
		s.cache.sweep(gen)
	}
	return true
}

// Match returns the values whose patterns match topic, which is assumed
// valid (see [ValidateTopic]). A value appears once for each of its
// patterns that matches, in no particular order; nil means none. The
// slice is shared: callers must not modify it, and appending to it copies.
// A Match answered from the cache takes no lock and does not allocate.
// The cache keeps topic as given: a caller that passes the same string for
// a topic each time, kept anyway, is answered without comparing bytes.
func (s *Sublist[T]) Match(topic string) []T {
	c := s.cache
	if c == nil {
		r, _ := s.compute(topic)
		return r
	}
	h := c.hash(topic)
	if r, ok := c.get(h, topic, s.gen.Load()); ok {
		return r
	}
	r, gen := s.compute(topic)
	c.put(h, topic, gen, r)
	return r
}

// compute walks the trie for topic and returns the result, allocated to
// its exact length, with the generation it reflects.
func (s *Sublist[T]) compute(topic string) ([]T, uint64) {
	buf, _ := s.scratch.Get().(*[]T)
	if buf == nil {
		buf = new([]T)
	}
	s.mu.RLock()
	gen := s.gen.Load()
	out := (*buf)[:0]
	if s.root != nil {
		out = s.root.collect(topic, out)
	}
	s.mu.RUnlock()

	var r []T
	if len(out) > 0 {
		r = make([]T, len(out))
		copy(r, out)
	}
	clear(out) // the pool must not keep values reachable
	if cap(out) <= 1<<16 {
		*buf = out[:0]
		s.scratch.Put(buf)
	}
	return r, gen
}

// Count returns the number of (pattern, value) pairs.
func (s *Sublist[T]) Count() int { return int(s.count.Load()) }

// CacheLen returns the number of entries in the match cache, stale ones
// included; it never exceeds the cacheSize given to [New].
func (s *Sublist[T]) CacheLen() int {
	if s.cache == nil {
		return 0
	}
	return s.cache.len()
}

// child returns n's child for the pattern level lvl, creating it.
func (n *node[T]) child(lvl string) *node[T] {
	switch lvl {
	case "+":
		if n.plus == nil {
			n.plus = new(node[T])
		}
		return n.plus
	case "*":
		if n.star == nil {
			n.star = new(node[T])
		}
		return n.star
	}
	c := n.lits[lvl]
	if c == nil {
		if n.lits == nil {
			n.lits = make(map[string]*node[T])
		}
		c = new(node[T])
		n.lits[strings.Clone(lvl)] = c // don't pin the caller's pattern
	}
	return c
}

// lookup returns n's child for the pattern level lvl, or nil.
func (n *node[T]) lookup(lvl string) *node[T] {
	switch lvl {
	case "+":
		return n.plus
	case "*":
		return n.star
	}
	return n.lits[lvl]
}

// drop removes n's child for the pattern level lvl.
func (n *node[T]) drop(lvl string) {
	switch lvl {
	case "+":
		n.plus = nil
	case "*":
		n.star = nil
	default:
		delete(n.lits, lvl)
		if len(n.lits) == 0 {
			n.lits = nil
		}
	}
}

// empty reports whether n holds no values and no children.
func (n *node[T]) empty() bool {
	return n.vals.len() == 0 && n.hash.len() == 0 && len(n.lits) == 0 && n.plus == nil && n.star == nil
}

// remove removes v from pattern below n, dropping children left empty.
func (n *node[T]) remove(pattern string, v T) bool {
	lvl, rest, more := cutLevel(pattern)
	if lvl == "#" && !more {
		return n.hash.remove(v)
	}
	c := n.lookup(lvl)
	if c == nil {
		return false
	}
	var ok bool
	if more {
		ok = c.remove(rest, v)
	} else {
		ok = c.vals.remove(v)
	}
	if ok && c.empty() {
		n.drop(lvl)
	}
	return ok
}

// collect appends to out the values of the patterns below n that match
// topic, where n stands for the levels before topic.
func (n *node[T]) collect(topic string, out []T) []T {
	out = append(out, n.hash.vals...) // "#" matches one level or more here
	lvl, rest, more := cutLevel(topic)
	if c := n.lits[lvl]; c != nil {
		out = c.collectAt(rest, more, out)
	}
	if n.plus != nil {
		out = n.plus.collectAt(rest, more, out)
	}
	if n.star != nil {
		out = n.star.collectAt(rest, more, out)
	}
	return out
}

// collectAt continues collect at child n, which matched a topic level;
// rest and more are what follows that level.
func (n *node[T]) collectAt(rest string, more bool, out []T) []T {
	if more {
		return n.collect(rest, out)
	}
	out = append(out, n.hash.vals...) // "chat/#" matches "chat"
	return append(out, n.vals.vals...)
}
