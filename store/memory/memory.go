package memory

import "github.com/whispeer-io/whispeer"

// Option configures a store made by New.
type Option func(*options)

type options struct{ limit int }

// WithLimit bounds the store to the last n messages of every topic; the
// default, n <= 0, keeps every message until retention trims it.
func WithLimit(n int) Option { return func(o *options) { o.limit = n } }

// New returns an empty in-memory store.
func New(opts ...Option) *whispeer.MemoryStore {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return whispeer.NewMemoryStore(o.limit)
}
