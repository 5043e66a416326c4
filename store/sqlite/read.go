package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/record"
)

// chunk is how many rows a read query returns at most.
const chunk = 1024

// Read calls fn with topic's messages from offset from on: the committed
// ones from the database, then those still waiting for the writer.
func (s *Store) Read(ctx context.Context, name string, from uint64, max int, fn func(*whispeer.Message) error) error {
	var id int64
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return whispeer.ErrStoreClosed
		}
		t := s.topics[name]
		if t == nil || from > t.last || (id != 0 && t.id != id) {
			s.mu.Unlock()
			return nil
		}
		id = t.id
		from = max64(from, t.first)
		committed := t.committed
		var pending []*whispeer.Message
		if from > committed {
			for _, m := range t.pending {
				if m.Seq >= from && (max <= 0 || len(pending) < max) {
					pending = append(pending, m)
				}
			}
		}
		s.mu.Unlock()
		if from > committed {
			for _, m := range pending {
				if err := fn(m); err != nil {
					return err
				}
			}
			return nil
		}
		n := chunk
		if max > 0 {
			n = min(n, max)
		}
		msgs, err := s.query(ctx, name, id, from, committed, n)
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if err := fn(m); err != nil {
				return err
			}
		}
		if len(msgs) == 0 {
			from = committed + 1
			continue
		}
		from = msgs[len(msgs)-1].Seq + 1
		if max > 0 {
			if max -= len(msgs); max == 0 {
				return nil
			}
		}
	}
}

func max64(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// query reads up to n committed messages of topic id with offsets from
// from to to.
func (s *Store) query(ctx context.Context, name string, id int64, from, to uint64, n int) ([]*whispeer.Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT off, time, qos, id, headers, payload FROM messages
		WHERE topic = ? AND off >= ? AND off <= ? ORDER BY off LIMIT ?`, id, int64(from), int64(to), n)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer rows.Close()
	msgs := make([]*whispeer.Message, 0, min(n, 256))
	for rows.Next() {
		var off, ns int64
		var qos int
		var hdr []byte
		m := &whispeer.Message{Topic: name}
		if err := rows.Scan(&off, &ns, &qos, &m.ID, &hdr, &m.Payload); err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		m.Seq, m.Time, m.QoS = uint64(off), time.Unix(0, ns), whispeer.QoS(qos)
		if len(hdr) > 0 {
			if m.Headers, err = record.DecodeHeaders(hdr); err != nil {
				return nil, fmt.Errorf("%w: headers of %q offset %d", whispeer.ErrCorrupt, name, off)
			}
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	return msgs, nil
}
