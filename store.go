package whispeer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/match"
)

// Store is a message log: every message appended to a topic gets the
// topic's next offset, from 1 with no gap, and the topic an epoch that
// changes when its history is lost (see [TopicInfo]). A broker configured
// [WithStore] appends every message it accepts, serves replay and resume
// from the log, and takes its sequence numbers from it: a message's Seq is
// its offset. A store that also keeps durable subscribers' cursors
// implements [CursorStore], which [WithDurable] needs.
//
// The stores in store/memory, store/file and store/sqlite implement both;
// store/storetest checks an implementation against this contract. A
// Store's methods are safe for concurrent use.
type Store interface {
	// Append adds m at the end of its topic's log: it sets m.Seq to the
	// topic's next offset and records m's Topic, ID, Payload, Headers, QoS,
	// PublisherID, Seq and Time. Appends to one topic get offsets in the order their
	// calls are made. Once Append returns, Read sees m; done, when not nil,
	// is called exactly once, when m is durable under the store's sync
	// policy, or with the error that kept it from being. done may run before
	// Append returns and in any goroutine, and must not block. When Append
	// returns an error, m was not appended and done is not called. The
	// store may keep m: the caller must not modify it afterwards.
	Append(ctx context.Context, m *Message, done func(error)) error

	// Read calls fn with the messages of topic from offset from on, oldest
	// first, at most max of them (no limit when max <= 0). Messages already
	// removed are skipped, so the first one may have an offset above from.
	// Read stops at the first error fn returns and returns it. fn runs
	// with no lock of the store held, so it may call the store; it may keep
	// the messages but must not modify them.
	Read(ctx context.Context, topic string, from uint64, max int, fn func(*Message) error) error

	// Topic describes a topic's log. A topic never appended to has an
	// epoch, First 1 and Last 0.
	Topic(ctx context.Context, topic string) (TopicInfo, error)

	// Topics calls fn with the name of every topic the store holds state
	// for, in no particular order, until fn returns false.
	Topics(ctx context.Context, fn func(topic string) bool) error

	// Trim removes the oldest messages of topic until it is within r.
	// Offsets are not reused and the epoch stays.
	Trim(ctx context.Context, topic string, r Retention) error

	// Delete removes topic's messages and gives it a new epoch; its next
	// message has offset 1.
	Delete(ctx context.Context, topic string) error

	// Close makes what was appended durable and releases the store. Calls
	// after Close fail with [ErrStoreClosed]; closing twice returns nil.
	Close() error
}

// CursorStore is the optional capability of a [Store] that keeps how far
// durable subscribers have got: the broker finds it by type assertion
// when it is made, and [WithDurable] subscriptions need it (without it
// they fail with [ErrNoCursors]). Its methods are safe for concurrent use.
type CursorStore interface {
	// SaveCursor records how far a durable subscriber has got in a topic.
	// It need not be durable before it returns: a cursor lost in a crash
	// makes its subscriber receive some messages again.
	SaveCursor(ctx context.Context, c Cursor) error

	// LoadCursor returns the cursor saved for subscriber in topic, and
	// whether there is one.
	LoadCursor(ctx context.Context, subscriber, topic string) (Cursor, bool, error)

	// DeleteCursors removes subscriber's cursors in every topic, as when
	// its durable subscription has expired. Like SaveCursor, it need not
	// be durable before it returns: a deletion lost in a crash leaves
	// the cursors as they were.
	DeleteCursors(ctx context.Context, subscriber string) error

	// Cursors calls fn with every cursor the store keeps and the time it
	// was last saved, in no particular order, until fn returns false: how
	// a broker that restarted finds the durable subscribers that never
	// came back. A store that kept a cursor from before it recorded
	// times gives the time it was opened. fn runs with no lock of the
	// store held.
	Cursors(ctx context.Context, fn func(c Cursor, saved time.Time) bool) error
}

// TopicInfo describes a topic's log.
type TopicInfo struct {
	Topic string
	// Epoch identifies the topic's history: an offset means something only
	// with its epoch. It is never 0 and changes when the history is lost
	// (the store was wiped, the topic deleted).
	Epoch uint64
	// First is the offset of the oldest message kept, Last+1 when none is.
	First uint64
	// Last is the offset of the newest message appended, 0 for none.
	Last uint64
	// Messages and Bytes count the messages kept and their payload bytes.
	Messages int
	Bytes    int64
}

// Cursor is how far a durable subscriber has got in a topic: it has every
// message up to Offset of Epoch.
type Cursor struct {
	Subscriber string
	Topic      string
	Epoch      uint64
	Offset     uint64
}

// Retention bounds a topic's log; a zero field sets no bound.
type Retention struct {
	MaxMessages int           // messages kept
	MaxBytes    int64         // payload bytes kept
	MaxAge      time.Duration // how long a message is kept, by its Time
}

// IsZero reports whether r bounds nothing.
func (r Retention) IsZero() bool { return r == Retention{} }

// Errors of stores.
var (
	// ErrStoreClosed is returned by a store's methods after Close.
	ErrStoreClosed = &Error{CodeUnavailable, "whispeer: store closed"}
	// ErrCorrupt wraps what a store found damaged in its files.
	ErrCorrupt = &Error{CodeInternal, "whispeer: store corrupt"}
	// ErrNoCursors is returned when a durable subscription ([WithDurable])
	// is asked of a broker whose store keeps no cursors (is no
	// [CursorStore]).
	ErrNoCursors = &Error{CodeInvalid, "whispeer: the store keeps no cursors"}
)

// SyncPolicy says when a durable store forces what it appended to stable
// storage; a message is durable, and [Store.Append] calls done, only then.
type SyncPolicy time.Duration

const (
	// SyncAlways syncs after every write, one sync covering every message
	// written since the last (group commit).
	SyncAlways SyncPolicy = 0
	// SyncNever leaves syncing to the operating system: what was written
	// survives the process being killed, not the machine failing.
	SyncNever SyncPolicy = -1
	// DefaultSyncInterval is the interval of the "batch" policy.
	DefaultSyncInterval = 5 * time.Millisecond
	// SyncBatch is how many waiting appends make a batch worth syncing at
	// once under [SyncEvery].
	SyncBatch = 32
)

// SyncEvery syncs within d of a write, or as soon as [SyncBatch] appends
// wait, whichever comes first: a bigger group commit than [SyncAlways] for
// a delay of up to d when traffic is light, and no added delay when a full
// batch is waiting. A d <= 0 is SyncAlways.
func SyncEvery(d time.Duration) SyncPolicy { return SyncPolicy(max(d, 0)) }

// Interval returns the policy's interval: 0 for SyncAlways, < 0 for
// SyncNever.
func (p SyncPolicy) Interval() time.Duration { return time.Duration(p) }

// String returns "always", "never" or the interval, such as "5ms".
func (p SyncPolicy) String() string {
	switch {
	case p == SyncAlways:
		return "always"
	case p < 0:
		return "never"
	}
	return time.Duration(p).String()
}

// ParseSyncPolicy parses "always", "never", "batch" (every
// [DefaultSyncInterval]) or an interval such as "10ms".
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "always", "":
		return SyncAlways, nil
	case "never":
		return SyncNever, nil
	case "batch":
		return SyncEvery(DefaultSyncInterval), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: sync policy %s: want always, never, batch or a positive duration", ErrInvalidOption, strconv.Quote(s))
	}
	return SyncEvery(d), nil
}

// ReadLast calls fn with the newest n messages of topic, oldest first.
func ReadLast(ctx context.Context, s Store, topic string, n int, fn func(*Message) error) error {
	if n <= 0 {
		return nil
	}
	info, err := s.Topic(ctx, topic)
	if err != nil {
		return err
	}
	return s.Read(ctx, topic, lastFrom(info, n), n, fn)
}

// lastFrom returns the offset from which the newest n messages are read.
func lastFrom(info TopicInfo, n int) uint64 {
	live := info.Last + 1
	if uint64(n) >= live {
		return info.First
	}
	return max(info.First, live-uint64(n))
}

// Defaults for stores.
const (
	DefaultRetentionInterval = time.Second
	DefaultDurableBacklog    = 10000
)

// storeConfig is what the store options set.
type storeConfig struct {
	store     Store
	rules     []retentionRule
	lease     func(context.Context) bool
	interval  time.Duration
	atRest    *envelope.Keyring
	atRestOpt []EngineOption
	backlog   int
}

type retentionRule struct {
	pattern string
	r       Retention
}

func (c *storeConfig) validate() error {
	if c.store == nil && c.atRest != nil {
		return fmt.Errorf("%w: encryption at rest needs WithStore", ErrInvalidOption)
	}
	for _, r := range c.rules {
		if err := match.ValidatePattern(r.pattern, match.DefaultLimits); err != nil {
			return fmt.Errorf("%w: retention pattern %q: %w", ErrInvalidOption, truncate(r.pattern), err)
		}
		if r.r.MaxMessages < 0 || r.r.MaxBytes < 0 || r.r.MaxAge < 0 {
			return fmt.Errorf("%w: negative retention for %q", ErrInvalidOption, truncate(r.pattern))
		}
	}
	if c.interval <= 0 || c.backlog < 1 {
		return fmt.Errorf("%w: retention interval %v, durable backlog %d", ErrInvalidOption, c.interval, c.backlog)
	}
	return nil
}
