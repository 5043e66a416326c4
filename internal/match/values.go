package match

// indexAbove is the size past which a valueSet keeps a position index, so
// that adding to and removing from a topic with many subscribers stays
// O(1). Below it a linear scan of the slice is faster than a map.
const indexAbove = 16

// valueSet is the set of values subscribed to one pattern. Values live in
// a slice so that a match appends them in one copy; removal swaps the last
// value into the hole. The zero valueSet is empty.
type valueSet[T comparable] struct {
	vals []T
	idx  map[T]int // position of each value in vals; nil until len > indexAbove
}

// find returns the position of v, or -1.
func (s *valueSet[T]) find(v T) int {
	if s.idx != nil {
		if i, ok := s.idx[v]; ok {
			return i
		}
		return -1
	}
	for i, x := range s.vals {
		if x == v {
			return i
		}
	}
	return -1
}

// add adds v and reports whether it was absent.
func (s *valueSet[T]) add(v T) bool {
	if s.find(v) >= 0 {
		return false
	}
	s.vals = append(s.vals, v)
	switch {
	case s.idx != nil:
		s.idx[v] = len(s.vals) - 1
	case len(s.vals) > indexAbove:
		s.idx = make(map[T]int, len(s.vals))
		for i, x := range s.vals {
			s.idx[x] = i
		}
	}
	return true
}

// remove removes v and reports whether it was present.
func (s *valueSet[T]) remove(v T) bool {
	i := s.find(v)
	if i < 0 {
		return false
	}
	last := len(s.vals) - 1
	moved := s.vals[last]
	s.vals[i] = moved
	var zero T
	s.vals[last] = zero // let the removed value be collected
	s.vals = s.vals[:last]
	if s.idx != nil {
		delete(s.idx, v)
		if i != last {
			s.idx[moved] = i
		}
		if len(s.vals) <= indexAbove/2 {
			s.idx = nil
		}
	}
	if len(s.vals) == 0 {
		s.vals = nil
	}
	return true
}

// len returns the number of values.
func (s *valueSet[T]) len() int { return len(s.vals) }
