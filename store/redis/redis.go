package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
)

// DefaultPrefix begins the name of every key and channel a Store uses.
const DefaultPrefix = "whispeer"

// trimBatch bounds the messages one run of the trim script removes.
const trimBatch = 1000

// readPage is how many messages a Read asks Redis for at once.
const readPage = 256

// Option configures a Store.
type Option func(*options)

type options struct {
	prefix     string
	replicas   int
	wait       time.Duration
	publish    bool
	noPatterns bool
	timeout    time.Duration
	dedup      time.Duration
}

// WithPrefix sets what the names of the store's keys and channels begin
// with (default [DefaultPrefix]), so that several brokers' stores can
// share a Redis. It may hold letters, digits and ":_-.".
func WithPrefix(p string) Option { return func(o *options) { o.prefix = p } }

// WithWait makes a QoS 1 or 2 append durable only once n replicas
// acknowledged it (Redis WAIT), waiting at most timeout; fewer replicas
// in time fail the append's done with an error.
func WithWait(n int, timeout time.Duration) Option {
	return func(o *options) { o.replicas, o.wait = n, timeout }
}

// WithTimeout bounds each call to Redis (default [DefaultTimeout]; 0 for
// none): a call that takes longer fails, so that an unreachable Redis
// holds no caller longer.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// DefaultTimeout is the default limit of one call to Redis.
const DefaultTimeout = 5 * time.Second

// WithPublish makes every append also publish the message on its topic's
// sharded channel (see [Store.Channel]), in the same script, for a
// [Backplane] to deliver on every node.
func WithPublish() Option { return func(o *options) { o.publish = true } }

// WithoutPatterns keeps [WithPublish] from publishing every message a
// second time, on the unsharded channel of its topic's first level, which
// pattern subscriptions of a [Backplane] need: on a Redis Cluster such a
// publish reaches every node of the cluster.
func WithoutPatterns() Option { return func(o *options) { o.noPatterns = true } }

// WithDedup sets how long the store remembers an [whispeer.ExactlyOnce]
// message's publisher and id (default [whispeer.DefaultDedupWindow]; 0
// remembers none): an append of the same pair within it appends nothing
// and fails with [whispeer.ErrDuplicate], whichever broker sharing the
// store makes it. Give it the window of the brokers' [whispeer.Dedup].
func WithDedup(window time.Duration) Option { return func(o *options) { o.dedup = window } }

// Store is a message log in Redis. Make one with Open or New.
type Store struct {
	c     rueidis.Client
	own   bool // Close closes c
	opt   options
	mu    sync.RWMutex
	close bool
	// opened is the saved time of the cursors saved without one.
	opened time.Time

	queue   chan *pending // appends waiting for the writer (writer.go)
	stop    chan struct{} // closed by Close: the writer stops
	written chan struct{} // closed once the writer has stopped
	failed  atomic.Uint64 // AppendAsync appends that Redis refused
}

// Open connects to the Redis at url (see [ParseURL]) and returns a store in
// it; Close closes the connection.
func Open(url string, opts ...Option) (*Store, error) {
	c, err := Dial(url)
	if err != nil {
		return nil, err
	}
	s, err := New(c, opts...)
	if err != nil {
		c.Close()
		return nil, err
	}
	s.own = true
	return s, nil
}

// New returns a store that uses c, which its Close leaves open.
func New(c rueidis.Client, opts ...Option) (*Store, error) {
	o := options{prefix: DefaultPrefix, timeout: DefaultTimeout, dedup: whispeer.DefaultDedupWindow}
	for _, opt := range opts {
		opt(&o)
	}
	if err := validPrefix(o.prefix); err != nil {
		return nil, err
	}
	if o.dedup < 0 {
		return nil, fmt.Errorf("%w: redis store: WithDedup(%v)", whispeer.ErrInvalidOption, o.dedup)
	}
	if o.replicas < 0 || (o.replicas > 0 && o.wait <= 0) {
		return nil, fmt.Errorf("%w: redis store: WithWait(%d, %v)", whispeer.ErrInvalidOption, o.replicas, o.wait)
	}
	s := &Store{c: c, opt: o, opened: time.Now(), queue: make(chan *pending, DefaultMaxQueue),
		stop: make(chan struct{}), written: make(chan struct{})}
	go s.write()
	return s, nil
}

func validPrefix(p string) error {
	if p == "" || len(p) > 64 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-.") != "" {
		return fmt.Errorf("%w: redis key prefix %q: want 1 to 64 letters, digits or \":_-.\"", whispeer.ErrInvalidOption, p)
	}
	return nil
}

// Client returns the Redis client the store uses.
func (s *Store) Client() rueidis.Client { return s.c }

// keys returns the keys of topic's stream and meta hash, whose hash tag
// puts them, and its channel, in one slot of a Redis Cluster.
func (s *Store) keys(topic string) []string {
	base := s.opt.prefix + ":{" + topic + "}:"
	return []string{base + "s", base + "m"}
}

// streamKey returns the key of topic's stream, the first of keys.
func (s *Store) streamKey(topic string) string { return s.opt.prefix + ":{" + topic + "}:s" }

// dedupKey returns the key that marks m, an ExactlyOnce message, as
// appended, in its topic's slot: the lengths keep one publisher's id from
// reading as another's.
func (s *Store) dedupKey(m *whispeer.Message) string {
	return s.opt.prefix + ":{" + m.Topic + "}:d:" + strconv.Itoa(len(m.PublisherID)) + ":" + m.PublisherID + ":" + m.ID
}

// ReadExactlyOnce finds no message: the store de-duplicates ExactlyOnce
// appends itself ([WithDedup]), for every broker that shares it, so a
// broker opening it has no window to rebuild and reads no topic for one.
// Under WithDedup(0) it returns errors.ErrUnsupported: the broker then
// reads the topics for its window.
func (s *Store) ReadExactlyOnce(context.Context, time.Time, func(publisherID, id string, at time.Time) error) error {
	if s.opt.dedup == 0 {
		return errors.ErrUnsupported
	}
	return nil
}

// Channel returns the sharded channel the messages of topic are published
// on, in the slot of its keys.
func (s *Store) Channel(topic string) string { return s.opt.prefix + ":{" + topic + "}:p" }

// patternChannel returns the unsharded channel the messages of topic are
// published on for pattern subscriptions: one per first level of topics.
func (s *Store) patternChannel(topic string) string {
	first, _, _ := strings.Cut(topic, "/")
	return s.opt.prefix + ":w:" + first
}

// bound returns ctx bounded by the store's timeout.
func (s *Store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.opt.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, s.opt.timeout)
}

// begin starts an operation on the store: it fails once the store is
// closed, and bounds ctx by the store's timeout. end releases both.
func (s *Store) begin(ctx context.Context) (_ context.Context, end func(), err error) {
	release, err := s.check()
	if err != nil {
		return ctx, nil, err
	}
	ctx, cancel := s.bound(ctx)
	return ctx, func() { cancel(); release() }, nil
}

// check fails once the store is closed; it returns a release to call when
// the operation is over.
func (s *Store) check() (func(), error) {
	s.mu.RLock()
	if s.close {
		s.mu.RUnlock()
		return nil, whispeer.ErrStoreClosed
	}
	return s.mu.RUnlock, nil
}

// Append adds m at the end of its topic's stream, and publishes it with
// [WithPublish], in one script: m.Seq is the offset Redis assigned. done
// is called once Redis has acknowledged the append (and, under
// [WithWait], its replicas).
func (s *Store) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	_, err := s.AppendEpoch(ctx, m, done)
	return err
}

// AppendEpoch is Append that also returns the epoch of the topic the
// message was appended under.
func (s *Store) AppendEpoch(ctx context.Context, m *whispeer.Message, done func(error)) (uint64, error) {
	release, err := s.check()
	if err != nil {
		return 0, err
	}
	ctx, cancel := s.bound(ctx)
	defer cancel()
	type result struct {
		off, ep uint64
		err     error
	}
	ch := make(chan result, 1)
	p := s.prepare(m)
	p.done = func(off, ep uint64, err error) { ch <- result{off, ep, err} }
	err = s.enqueue(ctx, p)
	release()
	if err != nil {
		return 0, fmt.Errorf("redis append: %w", err)
	}
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return 0, fmt.Errorf("redis append (it may yet be made): %w", ctx.Err())
	}
	if r.err != nil {
		return 0, fmt.Errorf("redis append: %w", r.err)
	}
	m.Seq = r.off
	if done != nil {
		s.durable(m, done)
	}
	return r.ep, nil
}

// durable calls done once the append is as durable as the options ask.
// It names m's stream key only when it waits for replicas, so that an
// append that does not wait costs no allocation for it.
func (s *Store) durable(m *whispeer.Message, done func(error)) {
	if s.opt.replicas == 0 || m.QoS == whispeer.AtMostOnce {
		done(nil)
		return
	}
	go func() {
		ms := s.opt.wait.Milliseconds()
		// WAIT goes to the node of the stream's slot, the one that took the
		// append.
		cmd := s.c.B().Wait().Numreplicas(int64(s.opt.replicas)).Timeout(ms).Build().SetSlot(s.streamKey(m.Topic))
		n, err := s.c.Do(context.Background(), cmd).AsInt64()
		switch {
		case err != nil:
			done(fmt.Errorf("redis wait: %w", err))
		case n < int64(s.opt.replicas):
			done(fmt.Errorf("redis wait: %d of %d replicas acknowledged in %v", n, s.opt.replicas, s.opt.wait))
		default:
			done(nil)
		}
	}()
}

// offsetEpoch parses {offset, epoch}, a reply of a script.
func offsetEpoch(vs []rueidis.RedisMessage) (uint64, uint64, error) {
	if len(vs) < 2 {
		return 0, 0, fmt.Errorf("%w: redis script replied %d values", whispeer.ErrCorrupt, len(vs))
	}
	off, err := vs[0].AsInt64()
	if err != nil || off < 1 {
		return 0, 0, fmt.Errorf("%w: redis offset %d: %v", whispeer.ErrCorrupt, off, err)
	}
	ep, err := parseEpoch(vs[1])
	return uint64(off), ep, err
}

// parseEpoch parses an epoch a script replied.
func parseEpoch(v rueidis.RedisMessage) (uint64, error) {
	es, err := v.ToString()
	if err != nil {
		return 0, fmt.Errorf("%w: redis epoch: %w", whispeer.ErrCorrupt, err)
	}
	ep, err := strconv.ParseUint(es, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: redis epoch %q", whispeer.ErrCorrupt, es)
	}
	return ep, nil
}

// Topic describes topic's stream, giving a topic never seen an epoch.
func (s *Store) Topic(ctx context.Context, topic string) (whispeer.TopicInfo, error) {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return whispeer.TopicInfo{}, err
	}
	defer end()
	args := []string{strconv.FormatUint(epoch.New(), 10)}
	vs, err := infoScript.Exec(ctx, s.c, s.keys(topic), args).ToArray()
	if err != nil && lostConnection(err) && ctx.Err() == nil {
		// The script sets only an epoch that is missing, so it may run
		// again, on the connection that replaces the one that broke (the
		// first call after Redis came back may meet the old one).
		vs, err = infoScript.Exec(ctx, s.c, s.keys(topic), args).ToArray()
	}
	if err != nil {
		return whispeer.TopicInfo{}, fmt.Errorf("redis topic: %w", err)
	}
	if len(vs) != 5 {
		return whispeer.TopicInfo{}, fmt.Errorf("%w: redis topic replied %d values", whispeer.ErrCorrupt, len(vs))
	}
	es, _ := vs[0].ToString()
	ep, err := strconv.ParseUint(es, 10, 64)
	if err != nil || ep == 0 {
		return whispeer.TopicInfo{}, fmt.Errorf("%w: redis epoch %q", whispeer.ErrCorrupt, es)
	}
	var n [4]int64
	for i := range n {
		if n[i], err = vs[i+1].AsInt64(); err != nil || n[i] < 0 {
			return whispeer.TopicInfo{}, fmt.Errorf("%w: redis topic: %v", whispeer.ErrCorrupt, err)
		}
	}
	return whispeer.TopicInfo{Topic: topic, Epoch: ep, Last: uint64(n[0]), First: uint64(n[1]),
		Messages: int(n[2]), Bytes: n[3]}, nil
}

// lostConnection reports whether err is a connection to Redis that broke
// under a call (reset, closed, cut short) rather than Redis's reply or a
// timeout: a call that may be repeated is worth one more try.
func lostConnection(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return !ne.Timeout()
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// Trim removes topic's oldest messages until it is within r, in runs of
// at most a thousand messages each.
func (s *Store) Trim(ctx context.Context, topic string, r whispeer.Retention) error {
	if r.IsZero() {
		return nil
	}
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	var minT int64
	if r.MaxAge > 0 {
		minT = time.Now().Add(-r.MaxAge).UnixMilli()
	}
	args := []string{strconv.FormatUint(epoch.New(), 10), strconv.Itoa(r.MaxMessages),
		strconv.FormatInt(r.MaxBytes, 10), strconv.FormatInt(minT, 10), strconv.Itoa(trimBatch)}
	for {
		n, err := trimScript.Exec(ctx, s.c, s.keys(topic), args).AsInt64()
		if err != nil {
			return fmt.Errorf("redis trim: %w", err)
		}
		if n < trimBatch {
			return nil
		}
	}
}

// Delete removes topic's messages and gives it a new epoch.
func (s *Store) Delete(ctx context.Context, topic string) error {
	ctx, end, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	args := []string{strconv.FormatUint(epoch.New(), 10)}
	if err := deleteScript.Exec(ctx, s.c, s.keys(topic), args).Error(); err != nil {
		return fmt.Errorf("redis delete: %w", err)
	}
	return nil
}

// Close closes the connection when Open made it. Later calls fail with
// [whispeer.ErrStoreClosed].
func (s *Store) Close() error {
	s.mu.Lock()
	was := s.close
	s.close = true
	s.mu.Unlock()
	if was {
		return nil
	}
	close(s.stop)
	<-s.written
	if s.own {
		s.c.Close()
	}
	return nil
}

var (
	_ whispeer.Store            = (*Store)(nil)
	_ whispeer.CursorStore      = (*Store)(nil)
	_ whispeer.ExactlyOnceStore = (*Store)(nil)
)
