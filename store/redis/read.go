package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/record"
)

// Read calls fn with topic's messages from offset from on, oldest first,
// at most max of them, asking Redis for a page at a time.
func (s *Store) Read(ctx context.Context, topic string, from uint64, max int, fn func(*whispeer.Message) error) error {
	release, err := s.check()
	if err != nil {
		return err
	}
	key := s.keys(topic)[0]
	start := strconv.FormatUint(max64(from, 1), 10) + "-0"
	release()
	for n := 0; max <= 0 || n < max; {
		count := readPage
		if max > 0 {
			count = min(count, max-n)
		}
		pctx, cancel := s.bound(ctx)
		entries, err := s.c.Do(pctx, s.c.B().Xrange().Key(key).Start(start).End("+").Count(int64(count)).Build()).AsXRange()
		cancel()
		if err != nil {
			return fmt.Errorf("redis read: %w", err)
		}
		for _, e := range entries {
			m, err := decodeEntry(topic, e)
			if err != nil {
				return err
			}
			if err := fn(m); err != nil {
				return err
			}
		}
		n += len(entries)
		if len(entries) < count {
			return nil
		}
		start = "(" + entries[len(entries)-1].ID
	}
	return nil
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// decodeEntry decodes a stream entry into its message.
func decodeEntry(topic string, e rueidis.XRangeEntry) (*whispeer.Message, error) {
	off, err := entryOffset(e.ID)
	if err != nil {
		return nil, err
	}
	return Decode(topic, off, e.FieldValues["r"])
}

// entryOffset returns the offset of the stream entry with id "<offset>-0".
func entryOffset(id string) (uint64, error) {
	ms, _, _ := strings.Cut(id, "-")
	off, err := strconv.ParseUint(ms, 10, 64)
	if err != nil || off == 0 {
		return 0, fmt.Errorf("%w: redis stream entry %.40q", whispeer.ErrCorrupt, id)
	}
	return off, nil
}

// Decode decodes a message record as the store keeps and publishes it,
// the message at offset off of topic, or of any topic when topic is ""; a
// record of another topic is refused.
func Decode(topic string, off uint64, rec string) (*whispeer.Message, error) {
	r, err := record.DecodeMessage([]byte(rec), topic)
	if err != nil {
		return nil, fmt.Errorf("%w: redis record at %d of %.80q: %w", whispeer.ErrCorrupt, off, topic, err)
	}
	if topic != "" && r.Topic != topic {
		return nil, fmt.Errorf("%w: redis record at %d of %.80q names another topic", whispeer.ErrCorrupt, off, topic)
	}
	r.Seq = off
	return r.Message, nil
}

// Topics calls fn with every topic the store holds state for, scanning
// every node of a Redis Cluster.
func (s *Store) Topics(ctx context.Context, fn func(topic string) bool) error {
	release, err := s.check()
	if err != nil {
		return err
	}
	release()
	head := s.opt.prefix + ":{"
	const tail = "}:m"
	seen := make(map[string]struct{})
	for _, c := range s.c.Nodes() {
		var cursor uint64
		for {
			cmd := c.B().Scan().Cursor(cursor).Match(head + "*" + tail).Count(1000).Type("hash").Build()
			pctx, cancel := s.bound(ctx)
			e, err := c.Do(pctx, cmd).AsScanEntry()
			cancel()
			if err != nil {
				return fmt.Errorf("redis topics: %w", err)
			}
			for _, k := range e.Elements {
				name, ok := strings.CutPrefix(k, head)
				if name, ok = strings.CutSuffix(name, tail); !ok || name == "" {
					continue
				}
				if _, dup := seen[name]; dup {
					continue
				}
				seen[name] = struct{}{}
				if !fn(name) {
					return nil
				}
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
	return nil
}
