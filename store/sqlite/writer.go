package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
	"github.com/whispeer-io/whispeer/store/internal/record"
)

type opKind uint8

const (
	opAppend opKind = iota
	opTrim
	opDelete
)

// op is one write waiting for the writer.
type op struct {
	kind   opKind
	t      *topic // the topic appended to or trimmed; the one deleted
	m      *whispeer.Message
	done   func(error)
	create bool // the topic's row must be inserted first
	r      whispeer.Retention
	fresh  *topic // what a deleted topic becomes
	res    chan error

	cut, removed int64 // a trim's outcome: the newest offset removed, how many
	freed        int64 // and their payload bytes
}

// commit writes everything queued in one transaction and completes it.
func (s *Store) commit() {
	s.mu.Lock()
	ops := s.queue
	s.queue = nil
	cursors := make([]whispeer.Cursor, 0, len(s.cursors))
	for _, c := range s.cursors {
		cursors = append(cursors, c)
	}
	err := s.err
	s.mu.Unlock()
	if len(ops) == 0 && len(cursors) == 0 {
		return
	}
	if err == nil {
		if err = s.write(ops, cursors); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	s.mu.Lock()
	if err != nil {
		s.err = err
	} else {
		s.committed(ops, cursors)
	}
	s.mu.Unlock()
	for i := range ops {
		o := &ops[i]
		if o.kind == opAppend {
			<-s.slots
			if o.done != nil {
				o.done(err)
			}
		} else {
			o.res <- err
		}
	}
}

// committed updates the in-memory state after a commit; s.mu is held.
func (s *Store) committed(ops []op, cursors []whispeer.Cursor) {
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opAppend:
			t := o.t
			t.committed = o.m.Seq
			n := 0
			for n < len(t.pending) && t.pending[n].Seq <= o.m.Seq {
				n++
			}
			clear(t.pending[:n])
			t.pending = t.pending[n:]
		case opTrim:
			if o.removed > 0 {
				o.t.first = max(o.t.first, uint64(o.cut)+1)
				o.t.messages -= int(o.removed)
				o.t.bytes -= o.freed
			}
		}
	}
	for _, c := range cursors {
		k := cursorKey{c.Subscriber, c.Topic}
		if s.cursors[k] == c {
			delete(s.cursors, k)
		}
	}
}

const (
	sqlInsert = `INSERT INTO messages (topic, off, time, qos, id, headers, payload) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlTopic  = `INSERT INTO topics (id, name, epoch, first, last) VALUES (?, ?, ?, 1, 0)`
	sqlLast   = `UPDATE topics SET last = ? WHERE id = ?`
	sqlCursor = `INSERT INTO cursors (subscriber, topic, epoch, off) VALUES (?, ?, ?, ?)
		ON CONFLICT (subscriber, topic) DO UPDATE SET epoch = excluded.epoch, off = excluded.off`
)

// write runs ops and saves cursors in one transaction.
func (s *Store) write(ops []op, cursors []whispeer.Cursor) error {
	ctx := context.Background()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, sqlInsert)
	if err != nil {
		return err
	}
	defer ins.Close()
	lasts := make(map[*topic]uint64)
	var hdr []byte
	for i := range ops {
		o := &ops[i]
		switch o.kind {
		case opAppend:
			if o.create {
				if _, err := tx.Exec(sqlTopic, o.t.id, o.t.name, int64(o.t.epoch)); err != nil {
					return err
				}
			}
			m := o.m
			hdr = hdr[:0]
			if len(m.Headers) > 0 {
				hdr = record.AppendHeaders(hdr, m.Headers)
			}
			if _, err := ins.Exec(o.t.id, int64(m.Seq), m.Time.UnixNano(), int(m.QoS), m.ID, hdr, payload(m.Payload)); err != nil {
				return err
			}
			lasts[o.t] = m.Seq
		case opTrim:
			err = trimTx(tx, o)
		case opDelete:
			err = deleteTx(tx, o)
		}
		if err != nil {
			return err
		}
	}
	for t, last := range lasts {
		if _, err := tx.Exec(sqlLast, int64(last), t.id); err != nil {
			return err
		}
	}
	for _, c := range cursors {
		if _, err := tx.Exec(sqlCursor, c.Subscriber, c.Topic, int64(c.Epoch), int64(c.Offset)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// payload keeps an empty payload from being stored as NULL.
func payload(p []byte) []byte {
	if p == nil {
		return []byte{}
	}
	return p
}

// trimTx removes the oldest messages of o.t past o.r.
func trimTx(tx *sql.Tx, o *op) error {
	id, r := o.t.id, o.r
	var cut int64
	if r.MaxMessages > 0 {
		if err := maxCut(tx, &cut, `SELECT off FROM messages WHERE topic = ? ORDER BY off DESC LIMIT 1 OFFSET ?`, id, r.MaxMessages); err != nil {
			return err
		}
	}
	if r.MaxBytes > 0 {
		if err := maxCut(tx, &cut, `SELECT max(off) FROM (SELECT off, sum(length(payload)) OVER (ORDER BY off DESC) AS total
			FROM messages WHERE topic = ?) WHERE total > ?`, id, r.MaxBytes); err != nil {
			return err
		}
	}
	if r.MaxAge > 0 {
		cutoff := time.Now().Add(-r.MaxAge).UnixNano()
		if err := maxCut(tx, &cut, `SELECT max(off) FROM messages WHERE topic = ? AND time < ?`, id, cutoff); err != nil {
			return err
		}
	}
	if cut == 0 {
		return nil
	}
	err := tx.QueryRow(`SELECT count(*), coalesce(sum(length(payload)), 0) FROM messages WHERE topic = ? AND off <= ?`,
		id, cut).Scan(&o.removed, &o.freed)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM messages WHERE topic = ? AND off <= ?`, id, cut); err != nil {
		return err
	}
	o.cut = cut
	_, err = tx.Exec(`UPDATE topics SET first = max(first, ?) WHERE id = ?`, cut+1, id)
	return err
}

// maxCut raises *cut to what query returns, if anything.
func maxCut(tx *sql.Tx, cut *int64, query string, args ...any) error {
	var v sql.NullInt64
	err := tx.QueryRow(query, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if v.Valid && v.Int64 > *cut {
		*cut = v.Int64
	}
	return nil
}

// deleteTx replaces a topic's rows with an empty topic of a new epoch.
func deleteTx(tx *sql.Tx, o *op) error {
	if o.t != nil {
		if _, err := tx.Exec(`DELETE FROM messages WHERE topic = ?`, o.t.id); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM topics WHERE id = ?`, o.t.id); err != nil {
			return err
		}
	}
	_, err := tx.Exec(sqlTopic, o.fresh.id, o.fresh.name, int64(o.fresh.epoch))
	return err
}

// Trim removes topic's oldest messages until it is within r; it returns
// once that is committed.
func (s *Store) Trim(_ context.Context, name string, r whispeer.Retention) error {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	t := s.topics[name]
	if t == nil || r.IsZero() {
		s.mu.Unlock()
		return nil
	}
	return s.queueAndWait(op{kind: opTrim, t: t, r: r, res: make(chan error, 1)})
}

// Delete removes topic's messages and gives it a new epoch; it returns
// once that is committed.
func (s *Store) Delete(_ context.Context, name string) error {
	s.mu.Lock()
	if err := s.usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	fresh := &topic{id: s.nextID, name: name, epoch: epoch.New(), first: 1, stored: true}
	s.nextID++
	old := s.topics[name]
	s.topics[name] = fresh
	return s.queueAndWait(op{kind: opDelete, t: old, fresh: fresh, res: make(chan error, 1)})
}

// queueAndWait queues o, unlocks s.mu and waits for o's commit.
func (s *Store) queueAndWait(o op) error {
	s.queue = append(s.queue, o)
	s.mu.Unlock()
	s.signal()
	return <-o.res
}
