package metrics

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/whispeer-io/whispeer"
)

// The store operations that Store observes, as the op label's values.
const (
	StoreAppend     = "append"      // an Append call
	StoreDurable    = "durable"     // from an Append call until its message is durable
	StoreRead       = "read"        // a Read call, the callbacks included
	StoreTopic      = "topic"       // a Topic call
	StoreTrim       = "trim"        // a Trim call
	StoreDelete     = "delete"      // a Delete call
	StoreSaveCursor = "save_cursor" // a SaveCursor call
	StoreLoadCursor = "load_cursor" // a LoadCursor call
)

// Store is a whispeer.Store whose operations are timed into
// whispeer_store_latency_seconds{op} and whose failures are counted in
// whispeer_store_errors_total{op}. Appends, the hot operation, are timed
// one in the plugin's latency sample (Options.LatencySample), the first
// append included; every failure is counted. It is a whispeer.CursorStore
// whose SaveCursor and LoadCursor fail with whispeer.ErrNoCursors when the
// store it wraps keeps no cursors. Make one with Plugin.InstrumentStore.
type Store struct {
	whispeer.Store
	append, durable, read, topic, trim, del, save, load prometheus.Observer
	errors                                              *prometheus.CounterVec
	sample                                              uint64
	appends                                             atomic.Uint64
}

// InstrumentStore returns s with its operations measured by p: pass the
// result to whispeer.WithStore.
func (p *Plugin) InstrumentStore(s whispeer.Store) *Store {
	return &Store{
		Store: s, errors: p.storeErrors,
		append: p.StoreLatency(StoreAppend), durable: p.StoreLatency(StoreDurable),
		read: p.StoreLatency(StoreRead), topic: p.StoreLatency(StoreTopic),
		trim: p.StoreLatency(StoreTrim), del: p.StoreLatency(StoreDelete),
		save: p.StoreLatency(StoreSaveCursor), load: p.StoreLatency(StoreLoadCursor),
		sample: p.sample,
	}
}

// observe records an operation that started at start and ended with err.
func (s *Store) observe(o prometheus.Observer, op string, start time.Time, err error) {
	o.Observe(time.Since(start).Seconds())
	if failed(err) {
		s.errors.WithLabelValues(op).Inc()
	}
}

// failed reports whether err is a failure: not nil, nor the
// [whispeer.ErrDuplicate] of a store that recognised a retry, which is
// not an error of the store's.
func failed(err error) bool { return err != nil && !errors.Is(err, whispeer.ErrDuplicate) }

// Append appends m, timing the call and, through done, the wait until m
// is durable.
func (s *Store) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	if (s.appends.Add(1)-1)%s.sample != 0 { // the first, then one in sample
		d := done
		if done != nil {
			d = func(err error) {
				if err != nil {
					s.errors.WithLabelValues(StoreDurable).Inc()
				}
				done(err)
			}
		}
		err := s.Store.Append(ctx, m, d)
		if failed(err) {
			s.errors.WithLabelValues(StoreAppend).Inc()
		}
		return err
	}
	start := time.Now()
	d := done
	if done != nil {
		d = func(err error) {
			s.observe(s.durable, StoreDurable, start, err)
			done(err)
		}
	}
	err := s.Store.Append(ctx, m, d)
	s.observe(s.append, StoreAppend, start, err)
	return err
}

// Read reads, timed.
func (s *Store) Read(ctx context.Context, topic string, from uint64, max int, fn func(*whispeer.Message) error) error {
	start := time.Now()
	err := s.Store.Read(ctx, topic, from, max, fn)
	s.observe(s.read, StoreRead, start, err)
	return err
}

// Topic describes a topic, timed.
func (s *Store) Topic(ctx context.Context, topic string) (whispeer.TopicInfo, error) {
	start := time.Now()
	info, err := s.Store.Topic(ctx, topic)
	s.observe(s.topic, StoreTopic, start, err)
	return info, err
}

// Trim trims, timed.
func (s *Store) Trim(ctx context.Context, topic string, r whispeer.Retention) error {
	start := time.Now()
	err := s.Store.Trim(ctx, topic, r)
	s.observe(s.trim, StoreTrim, start, err)
	return err
}

// Delete deletes, timed.
func (s *Store) Delete(ctx context.Context, topic string) error {
	start := time.Now()
	err := s.Store.Delete(ctx, topic)
	s.observe(s.del, StoreDelete, start, err)
	return err
}

// SaveCursor saves a cursor, timed.
func (s *Store) SaveCursor(ctx context.Context, c whispeer.Cursor) error {
	cs, ok := s.Store.(whispeer.CursorStore)
	if !ok {
		return whispeer.ErrNoCursors
	}
	start := time.Now()
	err := cs.SaveCursor(ctx, c)
	s.observe(s.save, StoreSaveCursor, start, err)
	return err
}

// DeleteCursors deletes a subscriber's cursors, timed as a save.
func (s *Store) DeleteCursors(ctx context.Context, subscriber string) error {
	cs, ok := s.Store.(whispeer.CursorStore)
	if !ok {
		return whispeer.ErrNoCursors
	}
	start := time.Now()
	err := cs.DeleteCursors(ctx, subscriber)
	s.observe(s.save, StoreSaveCursor, start, err)
	return err
}

// LoadCursor loads a cursor, timed.
func (s *Store) LoadCursor(ctx context.Context, subscriber, topic string) (whispeer.Cursor, bool, error) {
	cs, ok := s.Store.(whispeer.CursorStore)
	if !ok {
		return whispeer.Cursor{}, false, whispeer.ErrNoCursors
	}
	start := time.Now()
	c, ok, err := cs.LoadCursor(ctx, subscriber, topic)
	s.observe(s.load, StoreLoadCursor, start, err)
	return c, ok, err
}

// Cursors lists the cursors, timed as a load.
func (s *Store) Cursors(ctx context.Context, fn func(whispeer.Cursor, time.Time) bool) error {
	cs, ok := s.Store.(whispeer.CursorStore)
	if !ok {
		return whispeer.ErrNoCursors
	}
	start := time.Now()
	err := cs.Cursors(ctx, fn)
	s.observe(s.load, StoreLoadCursor, start, err)
	return err
}

// ReadExactlyOnce forwards to the wrapped store, or returns
// errors.ErrUnsupported when it cannot find its exactly-once messages at
// once, so that the broker searches its topics instead.
func (s *Store) ReadExactlyOnce(ctx context.Context, since time.Time, fn func(publisherID, id string, at time.Time) error) error {
	es, ok := s.Store.(whispeer.ExactlyOnceStore)
	if !ok {
		return errors.ErrUnsupported
	}
	return es.ReadExactlyOnce(ctx, since, fn)
}

var (
	_ whispeer.Store            = (*Store)(nil)
	_ whispeer.CursorStore      = (*Store)(nil)
	_ whispeer.ExactlyOnceStore = (*Store)(nil)
)

// AppendAsync appends m through the store's AppendAsync, when it has one
// (as the Redis store of a cluster does), and otherwise through Append.
func (s *Store) AppendAsync(ctx context.Context, m *whispeer.Message, done func(error)) error {
	a, ok := s.Store.(interface {
		AppendAsync(context.Context, *whispeer.Message, func(error)) error
	})
	var err error
	if ok {
		err = a.AppendAsync(ctx, m, done)
	} else {
		err = s.Append(ctx, m, done)
	}
	if err != nil {
		s.errors.WithLabelValues(StoreAppend).Inc()
	}
	return err
}
