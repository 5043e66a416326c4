package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/whispeer-io/whispeer"
)

// cursorKey is the hash of a durable subscriber's cursors, one field per
// topic holding "<epoch>:<offset>:<saved>", saved the time it was saved
// in Unix nanoseconds (absent from a cursor saved before it was kept).
func (s *Store) cursorKey(subscriber string) string {
	return s.opt.prefix + ":c:{" + subscriber + "}"
}

// SaveCursor records how far a durable subscriber has got in a topic.
func (s *Store) SaveCursor(ctx context.Context, c whispeer.Cursor) error {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	v := strconv.FormatUint(c.Epoch, 10) + ":" + strconv.FormatUint(c.Offset, 10) + ":" +
		strconv.FormatInt(time.Now().UnixNano(), 10)
	cmd := s.c.B().Hset().Key(s.cursorKey(c.Subscriber)).FieldValue().FieldValue(c.Topic, v).Build()
	if err := s.c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redis save cursor: %w", err)
	}
	return nil
}

// LoadCursor returns the cursor saved for subscriber in topic.
func (s *Store) LoadCursor(ctx context.Context, subscriber, topic string) (whispeer.Cursor, bool, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return whispeer.Cursor{}, false, err
	}
	defer end()
	v, err := s.c.Do(ctx, s.c.B().Hget().Key(s.cursorKey(subscriber)).Field(topic).Build()).ToString()
	if isNil(err) {
		return whispeer.Cursor{}, false, nil
	}
	if err != nil {
		return whispeer.Cursor{}, false, fmt.Errorf("redis load cursor: %w", err)
	}
	c, _, err := s.parseCursor(subscriber, topic, v)
	if err != nil {
		return whispeer.Cursor{}, false, err
	}
	return c, true, nil
}

// parseCursor decodes v, the value of subscriber's cursor in topic, and
// returns it with the time it was saved.
func (s *Store) parseCursor(subscriber, topic, v string) (whispeer.Cursor, time.Time, error) {
	parts := strings.SplitN(v, ":", 3)
	var ep, off uint64
	var err1, err2, err3 error
	ep, err1 = strconv.ParseUint(parts[0], 10, 64)
	if len(parts) > 1 {
		off, err2 = strconv.ParseUint(parts[1], 10, 64)
	} else {
		err2 = strconv.ErrSyntax
	}
	saved := s.opened
	if len(parts) > 2 {
		var ns int64
		ns, err3 = strconv.ParseInt(parts[2], 10, 64)
		saved = time.Unix(0, ns)
	}
	if err1 != nil || err2 != nil || err3 != nil {
		return whispeer.Cursor{}, time.Time{}, fmt.Errorf("%w: redis cursor %.40q", whispeer.ErrCorrupt, v)
	}
	return whispeer.Cursor{Subscriber: subscriber, Topic: topic, Epoch: ep, Offset: off}, saved, nil
}

// Cursors calls fn with every durable subscriber's cursors and the time
// each was saved, scanning every node of a Redis Cluster.
func (s *Store) Cursors(ctx context.Context, fn func(whispeer.Cursor, time.Time) bool) error {
	release, err := s.check()
	if err != nil {
		return err
	}
	release()
	head := s.opt.prefix + ":c:{"
	for _, c := range s.c.Nodes() {
		var cursor uint64
		for {
			cmd := c.B().Scan().Cursor(cursor).Match(head + "*}").Count(1000).Type("hash").Build()
			e, err := c.Do(ctx, cmd).AsScanEntry()
			if err != nil {
				return fmt.Errorf("redis cursors: %w", err)
			}
			for _, k := range e.Elements {
				if more, err := s.cursorsOf(ctx, k, head, fn); err != nil || !more {
					return err
				}
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
	return nil
}

// cursorsOf calls fn with the cursors in the hash k, and reports whether
// to go on.
func (s *Store) cursorsOf(ctx context.Context, k, head string, fn func(whispeer.Cursor, time.Time) bool) (bool, error) {
	sub, ok := strings.CutPrefix(k, head)
	if sub, ok = strings.CutSuffix(sub, "}"); !ok {
		return true, nil
	}
	fields, err := s.c.Do(ctx, s.c.B().Hgetall().Key(k).Build()).AsStrMap()
	if err != nil {
		return false, fmt.Errorf("redis cursors: %w", err)
	}
	for topic, v := range fields {
		c, saved, err := s.parseCursor(sub, topic, v)
		if err != nil {
			return false, err
		}
		if !fn(c, saved) {
			return false, nil
		}
	}
	return true, nil
}

// DeleteCursors removes subscriber's cursors in every topic.
func (s *Store) DeleteCursors(ctx context.Context, subscriber string) error {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := s.c.Do(ctx, s.c.B().Del().Key(s.cursorKey(subscriber)).Build()).Error(); err != nil {
		return fmt.Errorf("redis delete cursors: %w", err)
	}
	return nil
}
