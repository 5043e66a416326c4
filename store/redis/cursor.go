package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/whispeer-io/whispeer"
)

// cursorKey is the hash of a durable subscriber's cursors, one field per
// topic holding "<epoch>:<offset>".
func (s *Store) cursorKey(subscriber string) string {
	return s.opt.prefix + ":c:{" + subscriber + "}"
}

// SaveCursor records how far a durable subscriber has got in a topic.
func (s *Store) SaveCursor(ctx context.Context, c whispeer.Cursor) error {
	release, err := s.check()
	if err != nil {
		return err
	}
	defer release()
	v := strconv.FormatUint(c.Epoch, 10) + ":" + strconv.FormatUint(c.Offset, 10)
	cmd := s.c.B().Hset().Key(s.cursorKey(c.Subscriber)).FieldValue().FieldValue(c.Topic, v).Build()
	if err := s.c.Do(ctx, cmd).Error(); err != nil {
		return fmt.Errorf("redis save cursor: %w", err)
	}
	return nil
}

// LoadCursor returns the cursor saved for subscriber in topic.
func (s *Store) LoadCursor(ctx context.Context, subscriber, topic string) (whispeer.Cursor, bool, error) {
	release, err := s.check()
	if err != nil {
		return whispeer.Cursor{}, false, err
	}
	defer release()
	v, err := s.c.Do(ctx, s.c.B().Hget().Key(s.cursorKey(subscriber)).Field(topic).Build()).ToString()
	if isNil(err) {
		return whispeer.Cursor{}, false, nil
	}
	if err != nil {
		return whispeer.Cursor{}, false, fmt.Errorf("redis load cursor: %w", err)
	}
	es, os, _ := strings.Cut(v, ":")
	ep, err1 := strconv.ParseUint(es, 10, 64)
	off, err2 := strconv.ParseUint(os, 10, 64)
	if err1 != nil || err2 != nil {
		return whispeer.Cursor{}, false, fmt.Errorf("%w: redis cursor %.40q", whispeer.ErrCorrupt, v)
	}
	return whispeer.Cursor{Subscriber: subscriber, Topic: topic, Epoch: ep, Offset: off}, true, nil
}

// DeleteCursors removes subscriber's cursors in every topic.
func (s *Store) DeleteCursors(ctx context.Context, subscriber string) error {
	release, err := s.check()
	if err != nil {
		return err
	}
	defer release()
	if err := s.c.Do(ctx, s.c.B().Del().Key(s.cursorKey(subscriber)).Build()).Error(); err != nil {
		return fmt.Errorf("redis delete cursors: %w", err)
	}
	return nil
}
