// Package topics is the in-memory index the file and SQLite stores share:
// each topic's state under its name, the store's id that derives the
// epochs of topics that have not lost their history, and whether the
// store can still be used (open, and no write has failed).
//
// An Index is not safe for concurrent use: its store's lock guards it.
// [Index.Info] and [Index.Names] take that lock themselves.
package topics

import (
	"iter"
	"maps"
	"slices"
	"sync"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
)

// Topic is a store's state of one topic's log.
type Topic interface {
	// Info describes the log of the topic, which is named name.
	Info(name string) whispeer.TopicInfo
}

// Index maps topic names to a store's state of each, a T.
type Index[T Topic] struct {
	// ID is the store's id: it derives the epochs of topics that have not
	// lost their history ([epoch.Derive]). Set it before the index is
	// shared.
	ID uint64

	byName map[string]T
	fresh  func(name string, epoch uint64) T
	closed bool
	err    error
}

// New returns an empty index whose topics, the first time they are named
// ([Index.Ensure]), are made by fresh from their name and epoch.
func New[T Topic](fresh func(name string, epoch uint64) T) *Index[T] {
	return &Index[T]{byName: make(map[string]T), fresh: fresh}
}

// Get returns name's state, or the zero T when the index has none.
func (x *Index[T]) Get(name string) T { return x.byName[name] }

// Put sets name's state to t.
func (x *Index[T]) Put(name string, t T) { x.byName[name] = t }

// Ensure returns name's state, making it (with the epoch derived from the
// store's id) when the index has none.
func (x *Index[T]) Ensure(name string) T {
	t, ok := x.byName[name]
	if !ok {
		t = x.fresh(name, epoch.Derive(x.ID, name))
		x.byName[name] = t
	}
	return t
}

// All returns every topic's name and state, in no particular order.
func (x *Index[T]) All() iter.Seq2[string, T] { return maps.All(x.byName) }

// Len returns how many topics the index holds.
func (x *Index[T]) Len() int { return len(x.byName) }

// Info describes name's log under mu, the store's lock: a topic the index
// does not hold has its derived epoch, First 1 and Last 0. It fails with
// [whispeer.ErrStoreClosed] once the store is closed.
func (x *Index[T]) Info(mu sync.Locker, name string) (whispeer.TopicInfo, error) {
	mu.Lock()
	defer mu.Unlock()
	if x.closed {
		return whispeer.TopicInfo{}, whispeer.ErrStoreClosed
	}
	t, ok := x.byName[name]
	if !ok {
		return whispeer.TopicInfo{Topic: name, Epoch: epoch.Derive(x.ID, name), First: 1}, nil
	}
	return t.Info(name), nil
}

// Names calls fn with the name of every topic, in no particular order,
// until fn returns false: the names are copied under mu, the store's
// lock, and fn runs without it. It fails with [whispeer.ErrStoreClosed]
// once the store is closed.
func (x *Index[T]) Names(mu sync.Locker, fn func(string) bool) error {
	mu.Lock()
	if x.closed {
		mu.Unlock()
		return whispeer.ErrStoreClosed
	}
	names := slices.Collect(maps.Keys(x.byName))
	mu.Unlock()
	for _, name := range names {
		if !fn(name) {
			break
		}
	}
	return nil
}

// Usable returns why the store takes no more writes: it is closed
// ([whispeer.ErrStoreClosed]) or a write failed (that failure); nil when
// it takes them.
func (x *Index[T]) Usable() error {
	if x.closed {
		return whispeer.ErrStoreClosed
	}
	return x.err
}

// Closed reports whether the store is closed.
func (x *Index[T]) Closed() bool { return x.closed }

// Close marks the store closed and reports whether it already was.
func (x *Index[T]) Close() (already bool) {
	already, x.closed = x.closed, true
	return already
}

// Fail records err, a write's failure, which every later write then
// returns; the first failure stays. It returns the failure recorded.
func (x *Index[T]) Fail(err error) error {
	if x.err == nil {
		x.err = err
	}
	return x.err
}

// Err returns the failure recorded ([Index.Fail]), nil for none.
func (x *Index[T]) Err() error { return x.err }
