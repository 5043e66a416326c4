package memory

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
)

// Store is an in-memory message log. Create one with New.
type Store struct {
	id      uint64 // derives the topics' epochs
	mu      sync.RWMutex
	topics  map[string]*topic
	cursors map[cursorKey]whispeer.Cursor
	closed  bool
}

type topic struct {
	epoch uint64
	last  uint64              // offset of the newest message appended
	msgs  []*whispeer.Message // kept, oldest first; the last has offset last
	bytes int64
}

type cursorKey struct{ subscriber, topic string }

// New returns an empty store.
func New() *Store {
	return &Store{
		id:      epoch.New(),
		topics:  make(map[string]*topic),
		cursors: make(map[cursorKey]whispeer.Cursor),
	}
}

func (t *topic) first() uint64 { return t.last + 1 - uint64(len(t.msgs)) }

// Append adds m to its topic and calls done at once: memory is as durable
// as this store gets.
func (s *Store) Append(_ context.Context, m *whispeer.Message, done func(error)) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return whispeer.ErrStoreClosed
	}
	t := s.topics[m.Topic]
	if t == nil {
		t = &topic{epoch: epoch.Derive(s.id, m.Topic)}
		s.topics[m.Topic] = t
	}
	t.last++
	m.Seq = t.last
	t.msgs = append(t.msgs, m)
	t.bytes += int64(len(m.Payload))
	s.mu.Unlock()
	if done != nil {
		done(nil)
	}
	return nil
}

// Read calls fn with topic's messages from offset from on.
func (s *Store) Read(ctx context.Context, topic string, from uint64, limit int, fn func(*whispeer.Message) error) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return whispeer.ErrStoreClosed
	}
	var msgs []*whispeer.Message
	if t := s.topics[topic]; t != nil && from <= t.last {
		i := int(max(from, t.first()) - t.first())
		n := len(t.msgs) - i
		if limit > 0 && limit < n {
			n = limit
		}
		msgs = append(msgs, t.msgs[i:i+n]...)
	}
	s.mu.RUnlock()
	for i, m := range msgs {
		if i%256 == 255 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

// Topic describes topic's log.
func (s *Store) Topic(_ context.Context, topic string) (whispeer.TopicInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return whispeer.TopicInfo{}, whispeer.ErrStoreClosed
	}
	t := s.topics[topic]
	if t == nil {
		return whispeer.TopicInfo{Topic: topic, Epoch: epoch.Derive(s.id, topic), First: 1}, nil
	}
	return whispeer.TopicInfo{Topic: topic, Epoch: t.epoch, First: t.first(), Last: t.last,
		Messages: len(t.msgs), Bytes: t.bytes}, nil
}

// Topics calls fn with every topic's name.
func (s *Store) Topics(_ context.Context, fn func(string) bool) error {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return whispeer.ErrStoreClosed
	}
	names := slices.Collect(maps.Keys(s.topics))
	s.mu.RUnlock()
	for _, name := range names {
		if !fn(name) {
			break
		}
	}
	return nil
}

// Trim removes topic's oldest messages until it is within r.
func (s *Store) Trim(_ context.Context, topic string, r whispeer.Retention) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return whispeer.ErrStoreClosed
	}
	t := s.topics[topic]
	if t == nil {
		return nil
	}
	k := 0
	if r.MaxMessages > 0 && len(t.msgs) > r.MaxMessages {
		k = len(t.msgs) - r.MaxMessages
	}
	bytes := t.bytes
	for _, m := range t.msgs[:k] {
		bytes -= int64(len(m.Payload))
	}
	for r.MaxBytes > 0 && bytes > r.MaxBytes && k < len(t.msgs) {
		bytes -= int64(len(t.msgs[k].Payload))
		k++
	}
	if r.MaxAge > 0 {
		cutoff := time.Now().Add(-r.MaxAge)
		for k < len(t.msgs) && t.msgs[k].Time.Before(cutoff) {
			bytes -= int64(len(t.msgs[k].Payload))
			k++
		}
	}
	clear(t.msgs[:k])
	t.msgs, t.bytes = t.msgs[k:], bytes
	return nil
}

// Delete removes topic's messages and gives it a new epoch.
func (s *Store) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return whispeer.ErrStoreClosed
	}
	s.topics[name] = &topic{epoch: epoch.New()}
	return nil
}

// SaveCursor records a durable subscriber's position.
func (s *Store) SaveCursor(_ context.Context, c whispeer.Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return whispeer.ErrStoreClosed
	}
	s.cursors[cursorKey{c.Subscriber, c.Topic}] = c
	return nil
}

// LoadCursor returns a durable subscriber's saved position.
func (s *Store) LoadCursor(_ context.Context, subscriber, topic string) (whispeer.Cursor, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return whispeer.Cursor{}, false, whispeer.ErrStoreClosed
	}
	c, ok := s.cursors[cursorKey{subscriber, topic}]
	return c, ok, nil
}

// Close releases the store's memory.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.topics, s.cursors = nil, nil
	return nil
}

var (
	_ whispeer.Store       = (*Store)(nil)
	_ whispeer.CursorStore = (*Store)(nil)
)
