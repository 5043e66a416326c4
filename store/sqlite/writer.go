package sqlite

import (
	"context"
	"database/sql/driver"
	"fmt"
	"strings"
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
	opDeleteCursors
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
	sub    string // the subscriber whose cursors are deleted
	res    chan error

	cut, removed int64 // a trim's outcome: the newest offset removed, how many
	freed        int64 // and their payload bytes
}

// commit writes everything queued in one transaction and completes it.
func (s *Store) commit() {
	w := &s.wr
	s.mu.Lock()
	// The queue takes the spare buffer, which is then the queue's alone:
	// ops goes back to the spare, if at all, once completed (recycle).
	ops := s.queue
	s.queue, w.spare = w.spare, nil
	w.cursors = w.cursors[:0]
	for _, c := range s.cursors {
		w.cursors = append(w.cursors, c)
	}
	err := s.topics.Err()
	s.mu.Unlock()
	if len(ops) == 0 && len(w.cursors) == 0 {
		w.recycle(ops)
		return
	}
	if err == nil {
		if err = w.write(ops, w.cursors); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	s.mu.Lock()
	if err != nil {
		s.topics.Fail(err)
	} else {
		s.committed(ops, w.cursors)
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
	w.recycle(ops)
}

// committed updates the in-memory state after a commit; s.mu is held.
func (s *Store) committed(ops []op, cursors []savedCursor) {
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
		k := cursorKey{c.c.Subscriber, c.c.Topic}
		if s.cursors[k] == c {
			delete(s.cursors, k)
		}
	}
}

// rowsPerInsert is how many messages the largest INSERT writes.
const rowsPerInsert = 32

// insertCols is how many values an INSERT takes per message.
const insertCols = 10

// The writer's prepared statements, by index into writer.stmts: first
// the INSERTs of 32, 16, 8, 4, 2 and 1 messages.
const (
	stmtTopic = iota + 6
	stmtLast
	stmtCursor
	nStmts
)

const (
	sqlTopic  = `INSERT INTO topics (id, name, epoch, first, last) VALUES (?, ?, ?, 1, 0)`
	sqlLast   = `UPDATE topics SET last = ? WHERE id = ?`
	sqlCursor = `INSERT INTO cursors (subscriber, topic, epoch, off, saved) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (subscriber, topic) DO UPDATE SET epoch = excluded.epoch, off = excluded.off, saved = excluded.saved`
)

// sqlInsert returns the INSERT of n messages.
func sqlInsert(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO messages (topic, off, time, qos, sealed, id, headers, payload, crc, publisher) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return b.String()
}

// stmtSQL returns the SQL of the writer's prepared statement i.
func stmtSQL(i int) string {
	switch i {
	case stmtTopic:
		return sqlTopic
	case stmtLast:
		return sqlLast
	case stmtCursor:
		return sqlCursor
	}
	return sqlInsert(rowsPerInsert >> i)
}

// writer is what the writer goroutine keeps from one commit to the next:
// its connection, with the statements prepared once on it, and the
// buffers that each commit reuses. Only the writer goroutine uses it.
type writer struct {
	rawConn
	args    []any         // the values of the messages not yet inserted
	hdr     []byte        // their encoded headers
	touched []*topic      // the topics appended to in the transaction
	cursors []savedCursor // the cursors saved in the transaction
	spare   []op          // the queue's next buffer
}

// recycle keeps ops, emptied, as the queue's next buffer unless it has
// grown past what a commit usually holds; then the queue's next buffer
// is a new one. Either way no buffer is both the queue and the spare.
func (w *writer) recycle(ops []op) {
	clear(ops)
	if cap(ops) <= 4*whispeer.SyncBatch*rowsPerInsert {
		w.spare = ops[:0]
	}
}

// write runs ops and saves cursors in one transaction.
func (w *writer) write(ops []op, cursors []savedCursor) error {
	return w.do(func() error {
		ctx := context.Background()
		if err := w.begin(ctx); err != nil {
			return err
		}
		defer w.end()
		if err := w.writeOps(ctx, ops); err != nil {
			return err
		}
		for _, t := range w.touched {
			if err := w.exec(ctx, stmtLast, int64(t.written), t.id); err != nil {
				return err
			}
		}
		for _, sc := range cursors {
			c := sc.c
			if err := w.exec(ctx, stmtCursor, c.Subscriber, c.Topic, int64(c.Epoch), int64(c.Offset), sc.saved); err != nil {
				return err
			}
		}
		return w.commit()
	})
}

// writeOps runs ops in the open transaction.
func (w *writer) writeOps(ctx context.Context, ops []op) error {
	for i := range ops {
		o := &ops[i]
		var err error
		switch o.kind {
		case opAppend:
			if o.create {
				err = w.exec(ctx, stmtTopic, o.t.id, o.t.name, int64(o.t.epoch))
			}
			if err == nil {
				err = w.insert(ctx, o.t, o.m)
			}
		case opTrim:
			if err = w.flush(ctx); err == nil {
				err = w.trim(ctx, o)
			}
		case opDelete:
			if err = w.flush(ctx); err == nil {
				err = w.delete(ctx, o)
			}
		case opDeleteCursors:
			err = w.execSQL(ctx, `DELETE FROM cursors WHERE subscriber = ?`, o.sub)
		}
		if err != nil {
			return err
		}
	}
	return w.flush(ctx)
}

// insert adds m, appended to t, to the messages to insert, inserting
// them once they fill the largest INSERT.
func (w *writer) insert(ctx context.Context, t *topic, m *whispeer.Message) error {
	if t.written == 0 {
		w.touched = append(w.touched, t)
	}
	t.written = m.Seq
	var hdr []byte // NULL without headers
	if m.Headers.Len() > 0 {
		n := len(w.hdr)
		w.hdr = record.AppendHeaders(w.hdr, m.Headers)
		hdr = w.hdr[n:len(w.hdr):len(w.hdr)]
	}
	off, ns, qos := int64(m.Seq), m.Time.UnixNano(), int64(m.QoS)
	crc := int64(sum(t.id, off, ns, qos, m.Sealed, m.ID, hdr, m.Payload, m.PublisherID))
	var pub any // NULL for none
	if m.PublisherID != "" {
		pub = m.PublisherID
	}
	w.args = append(w.args, t.id, off, ns, qos, m.Sealed, m.ID, hdr, payload(m.Payload), crc, pub)
	if len(w.args) < rowsPerInsert*insertCols {
		return nil
	}
	return w.flush(ctx)
}

// flush inserts the messages waiting in w.args, in as few INSERTs as the
// prepared sizes allow.
func (w *writer) flush(ctx context.Context) error {
	args := w.args
	for i := 0; len(args) > 0; i++ {
		n := (rowsPerInsert >> i) * insertCols
		if len(args) < n {
			continue
		}
		if err := w.exec(ctx, i, args[:n]...); err != nil {
			return err
		}
		args = args[n:]
	}
	clear(w.args)
	w.args, w.hdr = w.args[:0], w.hdr[:0]
	return nil
}

// end rolls back the transaction unless it committed and readies w for the next.
func (w *writer) end() {
	w.rollback()
	for _, t := range w.touched {
		t.written = 0
	}
	clear(w.touched)
	w.touched = w.touched[:0]
	clear(w.args)
	w.args, w.hdr = w.args[:0], w.hdr[:0]
}

// payload keeps an empty payload from being stored as NULL.
func payload(p []byte) []byte {
	if p == nil {
		return []byte{}
	}
	return p
}

// trim removes the oldest messages of o.t past o.r.
func (w *writer) trim(ctx context.Context, o *op) error {
	id, r := o.t.id, o.r
	var cut int64
	if r.MaxMessages > 0 {
		if err := w.maxCut(ctx, &cut, `SELECT off FROM messages WHERE topic = ? ORDER BY off DESC LIMIT 1 OFFSET ?`, id, int64(r.MaxMessages)); err != nil {
			return err
		}
	}
	if r.MaxBytes > 0 {
		if err := w.maxCut(ctx, &cut, `SELECT max(off) FROM (SELECT off, sum(length(payload)) OVER (ORDER BY off DESC) AS total
			FROM messages WHERE topic = ?) WHERE total > ?`, id, r.MaxBytes); err != nil {
			return err
		}
	}
	if r.MaxAge > 0 {
		cutoff := time.Now().Add(-r.MaxAge).UnixNano()
		if err := w.maxCut(ctx, &cut, `SELECT max(off) FROM messages WHERE topic = ? AND time < ?`, id, cutoff); err != nil {
			return err
		}
	}
	if cut == 0 {
		return nil
	}
	var row [2]driver.Value
	if _, err := w.queryRow(ctx, `SELECT count(*), coalesce(sum(length(payload)), 0) FROM messages WHERE topic = ? AND off <= ?`,
		row[:], id, cut); err != nil {
		return err
	}
	removed, ok1 := row[0].(int64)
	freed, ok2 := row[1].(int64)
	if !ok1 || !ok2 {
		return fmt.Errorf("trim: count and size are %T and %T, want integers", row[0], row[1])
	}
	if err := w.execSQL(ctx, `DELETE FROM messages WHERE topic = ? AND off <= ?`, id, cut); err != nil {
		return err
	}
	o.cut, o.removed, o.freed = cut, removed, freed
	return w.execSQL(ctx, `UPDATE topics SET first = max(first, ?) WHERE id = ?`, cut+1, id)
}

// maxCut raises *cut to what query returns, if anything.
func (w *writer) maxCut(ctx context.Context, cut *int64, query string, args ...any) error {
	var row [1]driver.Value
	if _, err := w.queryRow(ctx, query, row[:], args...); err != nil {
		return err
	}
	if v, ok := row[0].(int64); ok && v > *cut { // nil (NULL) if no row had one
		*cut = v
	}
	return nil
}

// delete replaces a topic's rows with an empty topic of a new epoch.
func (w *writer) delete(ctx context.Context, o *op) error {
	if o.t != nil {
		if err := w.execSQL(ctx, `DELETE FROM messages WHERE topic = ?`, o.t.id); err != nil {
			return err
		}
		if err := w.execSQL(ctx, `DELETE FROM topics WHERE id = ?`, o.t.id); err != nil {
			return err
		}
	}
	return w.exec(ctx, stmtTopic, o.fresh.id, o.fresh.name, int64(o.fresh.epoch))
}

// Trim removes topic's oldest messages until it is within r; it returns
// once that is committed.
func (s *Store) Trim(_ context.Context, name string, r whispeer.Retention) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	t := s.topics.Get(name)
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
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	fresh := s.newTopic(name, epoch.New())
	fresh.stored = true
	old := s.topics.Get(name)
	s.topics.Put(name, fresh)
	return s.queueAndWait(op{kind: opDelete, t: old, fresh: fresh, res: make(chan error, 1)})
}

// DeleteCursors removes a durable subscriber's saved positions; it
// returns once that is committed.
func (s *Store) DeleteCursors(_ context.Context, subscriber string) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	for k := range s.cursors {
		if k.subscriber == subscriber {
			delete(s.cursors, k)
		}
	}
	return s.queueAndWait(op{kind: opDeleteCursors, sub: subscriber, res: make(chan error, 1)})
}

// queueAndWait queues o, unlocks s.mu and waits for o's commit.
func (s *Store) queueAndWait(o op) error {
	s.queue = append(s.queue, o)
	s.mu.Unlock()
	s.loop.Signal()
	return <-o.res
}
