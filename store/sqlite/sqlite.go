package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
	"github.com/whispeer-io/whispeer/store/internal/groupcommit"
	"github.com/whispeer-io/whispeer/store/internal/topics"
)

// DefaultMaxQueue bounds the appends waiting for the writer; past it
// Append waits.
const DefaultMaxQueue = 1 << 16

// Option configures a Store.
type Option func(*options)

type options struct {
	sync     whispeer.SyncPolicy
	maxQueue int
	logger   *slog.Logger
}

// WithFsync sets when appends are forced to stable storage (default
// [whispeer.SyncAlways]).
func WithFsync(p whispeer.SyncPolicy) Option { return func(o *options) { o.sync = p } }

// WithLogger sets where the store reports the damaged messages its reads
// refuse (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithMaxQueue bounds the appends waiting for the writer (default 64Ki).
func WithMaxQueue(n int) Option { return func(o *options) { o.maxQueue = n } }

// Store is a message log in a SQLite database. Open one with Open.
type Store struct {
	opt   options
	path  string
	w, r  *sql.DB // the writer's one connection; the readers' pool
	wr    writer  // the writer goroutine's statements and buffers
	slots chan struct{}

	mu      sync.Mutex
	nextID  int64                     // the row id of the next topic
	topics  *topics.Index[*topic]     // and whether the store is open and sound
	cursors map[cursorKey]savedCursor // saved, not yet committed
	queue   []op
	opened  time.Time // the saved time of cursors saved without one

	// loop commits what has queued each time it is signalled (under
	// SyncEvery, once the interval has passed or a full batch waits),
	// until Close.
	loop *groupcommit.Loop

	corrupt atomic.Uint64 // damaged messages reads refused
}

type topic struct {
	id          int64
	name        string
	epoch       uint64
	first, last uint64
	committed   uint64              // the newest offset committed
	pending     []*whispeer.Message // offsets committed+1..last
	messages    int
	bytes       int64
	stored      bool   // its row exists or is queued
	written     uint64 // the newest offset the commit being written inserts; writer only
}

// Info describes the topic's log.
func (t *topic) Info(name string) whispeer.TopicInfo {
	return whispeer.TopicInfo{Topic: name, Epoch: t.epoch, First: t.first, Last: t.last,
		Messages: t.messages, Bytes: t.bytes}
}

// newTopic returns the state of a topic not yet stored, with its row id;
// s.mu is held.
func (s *Store) newTopic(name string, epoch uint64) *topic {
	t := &topic{id: s.nextID, name: name, epoch: epoch, first: 1}
	s.nextID++
	return t
}

type cursorKey struct{ subscriber, topic string }

// Open opens (creating if need be) the database at path.
func Open(path string, opts ...Option) (*Store, error) {
	o := options{maxQueue: DefaultMaxQueue}
	for _, f := range opts {
		f(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if o.maxQueue < 1 {
		return nil, fmt.Errorf("%w: max queue %d < 1", whispeer.ErrInvalidOption, o.maxQueue)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
	}
	s := &Store{
		opt: o, path: path, slots: make(chan struct{}, o.maxQueue),
		cursors: make(map[cursorKey]savedCursor), opened: time.Now(),
	}
	s.topics = topics.New(s.newTopic)
	if err := s.open(path); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.loop = groupcommit.Start(s.opt.sync, s.pending, s.commit)
	return s, nil
}

func dsn(path string, sync string, queryOnly bool) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous("+sync+")")
	if queryOnly {
		v.Add("_pragma", "query_only(1)")
	}
	v.Add("_txlock", "immediate")
	return "file:" + path + "?" + v.Encode()
}

func (s *Store) open(path string) error {
	sync := "FULL"
	if s.opt.sync == whispeer.SyncNever {
		sync = "NORMAL"
	}
	var err error
	if s.w, err = sql.Open("sqlite", dsn(path, sync, false)); err != nil {
		return err
	}
	s.w.SetMaxOpenConns(1)
	if err := migrate(s.w); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if s.r, err = sql.Open("sqlite", dsn(path, sync, true)); err != nil {
		return err
	}
	s.r.SetMaxOpenConns(4)
	if err := s.load(); err != nil {
		return err
	}
	return s.wr.open(s.w)
}

// schema is the first version of the database; migrations bring it to
// the current one.
const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS topics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
	epoch INTEGER NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages (topic INTEGER NOT NULL, off INTEGER NOT NULL,
	time INTEGER NOT NULL, qos INTEGER NOT NULL, id TEXT NOT NULL, headers BLOB,
	payload BLOB NOT NULL, PRIMARY KEY (topic, off)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursors (subscriber TEXT NOT NULL, topic TEXT NOT NULL,
	epoch INTEGER NOT NULL, off INTEGER NOT NULL, PRIMARY KEY (subscriber, topic)) WITHOUT ROWID;
`

// load reads the store's id and its topics.
func (s *Store) load() error {
	var id int64
	err := s.w.QueryRow(`SELECT value FROM meta WHERE key = 'id'`).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		id = int64(epoch.New())
		_, err = s.w.Exec(`INSERT INTO meta (key, value) VALUES ('id', ?)`, id)
	}
	if err != nil {
		return fmt.Errorf("store id: %w", err)
	}
	s.topics.ID = uint64(id)
	rows, err := s.w.Query(`SELECT t.id, t.name, t.epoch, t.first, t.last,
		(SELECT count(*) FROM messages m WHERE m.topic = t.id),
		(SELECT coalesce(sum(length(payload)), 0) FROM messages m WHERE m.topic = t.id) FROM topics t`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		t := &topic{stored: true}
		var ep int64
		if err := rows.Scan(&t.id, &t.name, &ep, &t.first, &t.last, &t.messages, &t.bytes); err != nil {
			return err
		}
		t.epoch, t.committed = uint64(ep), t.last
		s.topics.Put(t.name, t)
		s.nextID = max(s.nextID, t.id)
	}
	s.nextID++
	return rows.Err()
}

// Append queues m for the writer; done runs once its transaction commits.
func (s *Store) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		<-s.slots
		return err
	}
	t := s.topics.Ensure(m.Topic)
	t.last++
	m.Seq = t.last
	t.pending = append(t.pending, m)
	t.messages++
	t.bytes += int64(len(m.Payload))
	s.queue = append(s.queue, op{kind: opAppend, t: t, m: m, done: done, create: !t.stored})
	t.stored = true
	s.mu.Unlock()
	s.loop.Signal()
	return nil
}

// Topic describes topic's log.
func (s *Store) Topic(_ context.Context, name string) (whispeer.TopicInfo, error) {
	return s.topics.Info(&s.mu, name)
}

// Topics calls fn with every topic's name.
func (s *Store) Topics(_ context.Context, fn func(string) bool) error {
	return s.topics.Names(&s.mu, fn)
}

// SaveCursor queues a durable subscriber's position for the next commit.
func (s *Store) SaveCursor(_ context.Context, c whispeer.Cursor) error {
	s.mu.Lock()
	if err := s.topics.Usable(); err != nil {
		s.mu.Unlock()
		return err
	}
	s.cursors[cursorKey{c.Subscriber, c.Topic}] = savedCursor{c, time.Now().UnixNano()}
	s.mu.Unlock()
	s.loop.Signal()
	return nil
}

// LoadCursor returns a durable subscriber's saved position.
func (s *Store) LoadCursor(ctx context.Context, subscriber, topic string) (whispeer.Cursor, bool, error) {
	s.mu.Lock()
	if s.topics.Closed() {
		s.mu.Unlock()
		return whispeer.Cursor{}, false, whispeer.ErrStoreClosed
	}
	sc, ok := s.cursors[cursorKey{subscriber, topic}]
	s.mu.Unlock()
	if ok {
		return sc.c, true, nil
	}
	c := whispeer.Cursor{Subscriber: subscriber, Topic: topic}
	var ep, off int64
	err := s.r.QueryRowContext(ctx, `SELECT epoch, off FROM cursors WHERE subscriber = ? AND topic = ?`,
		subscriber, topic).Scan(&ep, &off)
	if errors.Is(err, sql.ErrNoRows) {
		return whispeer.Cursor{}, false, nil
	}
	if err != nil {
		return whispeer.Cursor{}, false, fmt.Errorf("load cursor: %w", err)
	}
	c.Epoch, c.Offset = uint64(ep), uint64(off)
	return c, true, nil
}

// Cursors calls fn with every durable subscriber's saved position and
// when it was saved: those committed, unless saved again since, then
// those not yet committed.
func (s *Store) Cursors(ctx context.Context, fn func(whispeer.Cursor, time.Time) bool) error {
	s.mu.Lock()
	if s.topics.Closed() {
		s.mu.Unlock()
		return whispeer.ErrStoreClosed
	}
	pending := maps.Clone(s.cursors)
	s.mu.Unlock()
	rows, err := s.r.QueryContext(ctx, `SELECT subscriber, topic, epoch, off, saved FROM cursors`)
	if err != nil {
		return fmt.Errorf("list cursors: %w", err)
	}
	defer rows.Close()
	more := true
	for more && rows.Next() {
		var sc savedCursor
		var ep, off int64
		if err := rows.Scan(&sc.c.Subscriber, &sc.c.Topic, &ep, &off, &sc.saved); err != nil {
			return fmt.Errorf("list cursors: %w", err)
		}
		sc.c.Epoch, sc.c.Offset = uint64(ep), uint64(off)
		if _, ok := pending[cursorKey{sc.c.Subscriber, sc.c.Topic}]; !ok {
			more = fn(sc.c, s.savedAt(sc.saved))
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list cursors: %w", err)
	}
	for _, sc := range pending {
		if !more {
			break
		}
		more = fn(sc.c, s.savedAt(sc.saved))
	}
	return nil
}

// savedAt returns the time of a cursor saved at t Unix nanoseconds, 0
// for one saved before the store recorded the time.
func (s *Store) savedAt(t int64) time.Time {
	if t == 0 {
		return s.opened
	}
	return time.Unix(0, t)
}

// savedCursor is a cursor and when it was saved, in Unix nanoseconds.
type savedCursor struct {
	c     whispeer.Cursor
	saved int64
}

// Close commits what is queued and closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.topics.Close() {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.loop.Stop()
	return errors.Join(s.topics.Err(), s.closeDBs())
}

func (s *Store) closeDBs() error {
	errs := []error{s.wr.close()}
	for _, db := range []*sql.DB{s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// pending returns how many operations wait for a commit.
func (s *Store) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.queue)
}

var (
	_ whispeer.Store            = (*Store)(nil)
	_ whispeer.CursorStore      = (*Store)(nil)
	_ whispeer.ExactlyOnceStore = (*Store)(nil)
)
