package whispeer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/subopt"
)

// Defaults for the broker's limits. Each can be changed with an [Option].
const (
	DefaultMaxTopicBytes    = 1024
	DefaultMaxTopicLevels   = 32
	DefaultMaxPayload       = 8 << 20
	DefaultMaxTopics        = 1 << 20
	DefaultMaxSubscriptions = 1 << 20
	DefaultMatchCacheSize   = 64 << 10
	DefaultDrainTimeout     = 10 * time.Second
	maxHistory              = 1 << 16
	maxMatchCacheSize       = 1 << 24
)

// Option configures a [Broker]; pass options to [New], which validates them.
// Every Option is declared in this file, in groups: logging and handlers,
// limits, history and stores, envelopes, plugins. The [SubscribeOption]s
// and [PublishOption]s follow them; [EngineOption]s, which adjust
// envelopes, are beside the engines.
type Option func(*config)

type config struct {
	logger           *slog.Logger
	maxTopicBytes    int
	maxTopicLevels   int
	maxPayload       int
	maxTopics        int
	maxSubscriptions int
	matchCacheSize   int
	drainTimeout     time.Duration
	history          int
	onDrop           func(Drop)
	onError          func(*Subscription, *Message, error)
	subDefaults      []SubscribeOption
	plugins          []Plugin
	engine           engineSettings
	overrides        []engineOverride
	store            storeConfig
	backplane        Backplane
	dedup            Dedup
}

func defaultConfig() config {
	return config{
		maxTopicBytes:    DefaultMaxTopicBytes,
		maxTopicLevels:   DefaultMaxTopicLevels,
		maxPayload:       DefaultMaxPayload,
		maxTopics:        DefaultMaxTopics,
		maxSubscriptions: DefaultMaxSubscriptions,
		matchCacheSize:   DefaultMatchCacheSize,
		drainTimeout:     DefaultDrainTimeout,
		store:            storeConfig{interval: DefaultRetentionInterval, backlog: DefaultDurableBacklog},
		dedup:            Dedup{Window: DefaultDedupWindow, MaxPerPublisher: DefaultDedupMax, MaxTotal: DefaultDedupMaxTotal},
	}
}

func (c *config) validate() error {
	switch {
	case c.maxTopicBytes < 1:
		return fmt.Errorf("%w: topic byte limit %d < 1", ErrInvalidOption, c.maxTopicBytes)
	case c.maxTopicLevels < 1:
		return fmt.Errorf("%w: topic level limit %d < 1", ErrInvalidOption, c.maxTopicLevels)
	case c.maxPayload < 0:
		return fmt.Errorf("%w: payload limit %d < 0", ErrInvalidOption, c.maxPayload)
	case c.maxTopics < 1:
		return fmt.Errorf("%w: topic limit %d < 1", ErrInvalidOption, c.maxTopics)
	case c.maxSubscriptions < 1:
		return fmt.Errorf("%w: subscription limit %d < 1", ErrInvalidOption, c.maxSubscriptions)
	case c.history < 0 || c.history > maxHistory:
		return fmt.Errorf("%w: history %d not in [0, %d]", ErrInvalidOption, c.history, maxHistory)
	case c.matchCacheSize < 0 || c.matchCacheSize > maxMatchCacheSize:
		return fmt.Errorf("%w: match cache size %d not in [0, %d]", ErrInvalidOption, c.matchCacheSize, maxMatchCacheSize)
	case c.drainTimeout < 0:
		return fmt.Errorf("%w: drain timeout %v < 0", ErrInvalidOption, c.drainTimeout)
	}
	if err := c.store.validate(); err != nil {
		return err
	}
	if c.backplane != nil && c.store.store == nil {
		return fmt.Errorf("%w: WithBackplane needs WithStore", ErrInvalidOption)
	}
	if err := c.dedup.validate(); err != nil {
		return err
	}
	_, err := newSubConfig(c.subDefaults, nil)
	return err
}

// Logging and handlers.

// WithLogger sets the logger for handler errors and shutdown. The default is
// [slog.Default].
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithDropHandler registers f to be called for every message a subscription
// drops. It runs in the goroutine that dropped the message, often a
// publisher's: keep it fast and don't block.
func WithDropHandler(f func(Drop)) Option { return func(c *config) { c.onDrop = f } }

// WithErrorHandler registers f to be called when a handler returns an error
// or panics. The default logs the error at warning level.
func WithErrorHandler(f func(*Subscription, *Message, error)) Option {
	return func(c *config) { c.onError = f }
}

// WithSubscriberDefaults sets options applied to every subscription before
// the subscription's own options.
func WithSubscriberDefaults(opts ...SubscribeOption) Option {
	return func(c *config) { c.subDefaults = append(c.subDefaults, opts...) }
}

// Limits.

// WithTopicLimits bounds topic names and patterns: at most maxBytes bytes
// and maxLevels levels. The defaults are 1024 bytes and 32 levels.
func WithTopicLimits(maxBytes, maxLevels int) Option {
	return func(c *config) { c.maxTopicBytes, c.maxTopicLevels = maxBytes, maxLevels }
}

// WithMaxPayload bounds the payload of a publish, in bytes (default 8 MiB).
func WithMaxPayload(n int) Option { return func(c *config) { c.maxPayload = n } }

// WithMaxTopics bounds the number of distinct topics published to or
// subscribed to by name (default 1Mi); a publish or subscribe that would
// create one more fails with [ErrTooManyTopics].
func WithMaxTopics(n int) Option { return func(c *config) { c.maxTopics = n } }

// WithMaxSubscriptions bounds the number of live subscriptions (default 1Mi).
func WithMaxSubscriptions(n int) Option { return func(c *config) { c.maxSubscriptions = n } }

// WithMatchCacheSize sets how many topics' match results are cached (default
// 64Ki); 0 disables the cache.
func WithMatchCacheSize(n int) Option { return func(c *config) { c.matchCacheSize = n } }

// WithDrainTimeout bounds how long [Broker.Close] waits for async
// subscribers to drain their queues (default 10s). Past it, pending messages
// are dropped and handler contexts are canceled.
func WithDrainTimeout(d time.Duration) Option { return func(c *config) { c.drainTimeout = d } }

// History and stores.

// WithHistory makes a broker without a store ([WithStore]) keep the last n
// messages of every topic in memory (default 0: none), from which
// [WithReplay], [WithResume] and [WithDurable] subscriptions are served, as
// they are from a store: the in-memory history is the broker's store when
// it is given none, its positions lasting as long as the broker.
func WithHistory(n int) Option { return func(c *config) { c.history = n } }

// WithStore makes the broker keep every message in s: sequence numbers
// become offsets that continue across restarts, [WithReplay], [WithResume]
// and [WithDurable] are served from s, and an [AtLeastOnce] or
// [ExactlyOnce] Publish returns only once s has made the message durable.
// The broker closes s when it closes. With [WithEncryption] the store holds
// envelopes only.
func WithStore(s Store) Option { return func(c *config) { c.store.store = s } }

// WithRetention bounds the logs of the topics matching pattern, in the
// store or in memory; the first matching rule, in the order given, applies. The broker trims every
// retention interval ([WithRetentionInterval]) and on [Broker.Trim].
func WithRetention(pattern string, r Retention) Option {
	return func(c *config) { c.store.rules = append(c.store.rules, retentionRule{pattern, r}) }
}

// WithRetentionInterval sets how often the broker applies retention
// (default 1s).
func WithRetentionInterval(d time.Duration) Option { return func(c *config) { c.store.interval = d } }

// WithRetentionLease makes the retention loop trim only while lease
// reports true, asked every retention interval: brokers sharing one store,
// such as the nodes of a cluster, each give one that holds a lease in the
// store, so that one of them trims at a time. [Broker.Trim] trims
// whatever lease says.
func WithRetentionLease(lease func(context.Context) bool) Option {
	return func(c *config) { c.store.lease = lease }
}

// WithStoreEncryption seals, with a key from kr, the payloads the store
// keeps for topics whose payloads are otherwise not sealed (plaintext
// topics, and end-to-end envelopes, sealed once more): encryption at rest.
// The message id is authenticated with the payload. Only [UseAEAD] applies
// among opts.
func WithStoreEncryption(kr *envelope.Keyring, opts ...EngineOption) Option {
	return func(c *config) { c.store.atRest, c.store.atRestOpt = kr, opts }
}

// WithDurableBacklog bounds how many missed messages per topic a
// [WithDurable] subscription receives when it comes back (default 10000):
// past that it receives the newest ones and [Subscription.Recovered]
// reports false.
func WithDurableBacklog(n int) Option { return func(c *config) { c.store.backlog = n } }

// WithDedup sets the de-duplication window of [ExactlyOnce] publishes; a
// zero field keeps its default.
func WithDedup(d Dedup) Option {
	return func(c *config) {
		if d.Window != 0 {
			c.dedup.Window = d.Window
		}
		if d.MaxPerPublisher != 0 {
			c.dedup.MaxPerPublisher = d.MaxPerPublisher
		}
		if d.MaxTotal != 0 {
			c.dedup.MaxTotal = d.MaxTotal
		}
	}
}

// Envelopes: compression and encryption. [EngineOption]s adjust them.

// WithEncryption seals every payload with a key from kr: the topic's own key
// if kr has one for it, otherwise one derived from kr's current master key
// and the topic name. Publish seals, subscribers receive the opened payload,
// and everything in between (the hooks of plugins, history, stores,
// transports) holds only the envelope.
func WithEncryption(kr *envelope.Keyring, opts ...EngineOption) Option {
	return func(c *config) {
		c.engine.keyring = kr
		for _, o := range opts {
			o(&c.engine)
		}
	}
}

// WithCompression compresses payloads above the compression threshold with
// comp, when that makes them shorter.
func WithCompression(comp envelope.Compression) Option {
	return func(c *config) { c.engine.compression = comp }
}

// ForTopics overrides, for the topics matching pattern, the settings of
// [WithEncryption] and [WithCompression]: for example Plaintext() for public
// topics or Compress(envelope.CompressNone) for secret ones. The first
// matching ForTopics, in the order given, applies.
func ForTopics(pattern string, opts ...EngineOption) Option {
	return func(c *config) {
		c.overrides = append(c.overrides, engineOverride{pattern: pattern, opts: opts})
	}
}

// Plugins.

// WithPlugin registers p. Plugins are called in registration order.
func WithPlugin(p Plugin) Option { return func(c *config) { c.plugins = append(c.plugins, p) } }

// Subscribe options.

// Overflow is what an async subscription does with a message when its queue
// is full.
type Overflow uint8

// The overflow policies.
const (
	// DropOldest discards the oldest queued message to make room (default).
	DropOldest Overflow = iota
	// DropNewest discards the message being delivered.
	DropNewest
	// Block makes the publisher wait for room, up to the block timeout, then
	// drops the message being delivered.
	Block
)

func (o Overflow) String() string {
	switch o {
	case DropOldest:
		return "drop-oldest"
	case DropNewest:
		return "drop-newest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("overflow(%d)", uint8(o))
}

// Defaults for subscriptions.
const (
	DefaultQueueSize       = 1024
	DefaultBlockTimeout    = 100 * time.Millisecond
	DefaultMaxRedeliveries = 5
	DefaultRedeliveryDelay = 10 * time.Millisecond
	maxRedeliveryDelay     = time.Second
	maxQueueSize           = 1 << 24
)

// SubscribeOption configures one subscription.
type SubscribeOption func(*subopt.Options)

// setting returns the option that applies set to the root package's own
// settings.
func setting(set func(*subConfig)) SubscribeOption {
	return func(o *subopt.Options) { set(o.Own.(*subConfig)) }
}

type subConfig struct {
	inline          bool
	queueSize       int
	overflow        Overflow
	blockTimeout    time.Duration
	maxRedeliveries int
	redeliveryDelay time.Duration
	subscriber      string
	replay          int
	raw             bool // subopt.Raw
	borrow          bool // subopt.Borrow
	resume          bool // WithResume
	resumeEpoch     uint64
	resumeOffset    uint64
	durable         string // WithDurable's client id
	manualAck       bool
	pacing          *Pacing // WithPacing
}

func newSubConfig(defaults, opts []SubscribeOption) (subConfig, error) {
	sc := subConfig{
		queueSize:       DefaultQueueSize,
		blockTimeout:    DefaultBlockTimeout,
		maxRedeliveries: DefaultMaxRedeliveries,
		redeliveryDelay: DefaultRedeliveryDelay,
	}
	all := subopt.Options{Own: &sc}
	for _, o := range defaults {
		o(&all)
	}
	for _, o := range opts {
		o(&all)
	}
	sc.borrow, sc.raw = all.Borrow, all.Raw
	switch {
	case sc.queueSize < 1 || sc.queueSize > maxQueueSize:
		return sc, fmt.Errorf("%w: queue size %d not in [1, %d]", ErrInvalidOption, sc.queueSize, maxQueueSize)
	case sc.overflow > Block:
		return sc, fmt.Errorf("%w: unknown overflow policy %d", ErrInvalidOption, sc.overflow)
	case sc.blockTimeout <= 0:
		return sc, fmt.Errorf("%w: block timeout %v <= 0", ErrInvalidOption, sc.blockTimeout)
	case sc.maxRedeliveries < 0:
		return sc, fmt.Errorf("%w: max redeliveries %d < 0", ErrInvalidOption, sc.maxRedeliveries)
	case sc.replay < 0:
		return sc, fmt.Errorf("%w: replay %d < 0", ErrInvalidOption, sc.replay)
	case sc.pacing != nil && (!sc.inline || sc.pacing.Room == nil):
		return sc, fmt.Errorf("%w: WithPacing needs WithInline and a Room function", ErrInvalidOption)
	case sc.borrow && !sc.inline:
		return sc, fmt.Errorf("%w: borrowing needs WithInline: an async handler runs after the publish", ErrInvalidOption)
	case sc.redeliveryDelay <= 0:
		return sc, fmt.Errorf("%w: redelivery delay %v <= 0", ErrInvalidOption, sc.redeliveryDelay)
	}
	return sc, nil
}

// WithInline makes the handler run in the publisher's goroutine, with the
// publisher's context, before Publish returns. Inline handlers suit tests and
// pipelines; a slow one slows its publishers. The context is for the call
// only (see [PublishHook]): a handler must not keep it past its return.
func WithInline() SubscribeOption { return setting(func(c *subConfig) { c.inline = true }) }

// WithQueueSize sets an async subscription's queue capacity, in messages
// (default 1024).
func WithQueueSize(n int) SubscribeOption { return setting(func(c *subConfig) { c.queueSize = n }) }

// WithOverflow sets what an async subscription does when its queue is full
// (default [DropOldest]).
func WithOverflow(o Overflow) SubscribeOption { return setting(func(c *subConfig) { c.overflow = o }) }

// WithBlockTimeout bounds how long a publisher waits for room under the
// [Block] policy (default 100ms).
func WithBlockTimeout(d time.Duration) SubscribeOption {
	return setting(func(c *subConfig) { c.blockTimeout = d })
}

// WithMaxRedeliveries bounds how many times an async subscription redelivers
// an [AtLeastOnce] message whose handler returned an error (default 5). The
// delay doubles from the redelivery delay up to one second.
func WithMaxRedeliveries(n int) SubscribeOption {
	return setting(func(c *subConfig) { c.maxRedeliveries = n })
}

// WithRedeliveryDelay sets the first delay before a redelivery (default 10ms).
func WithRedeliveryDelay(d time.Duration) SubscribeOption {
	return setting(func(c *subConfig) { c.redeliveryDelay = d })
}

// WithSubscriber names the subscriber a subscription belongs to, such as a
// connection id. A subscriber subscribing again to a pattern it already has
// gets [ErrDuplicateSubscription] and is not delivered the message twice.
func WithSubscriber(id string) SubscribeOption {
	return setting(func(c *subConfig) { c.subscriber = id })
}

// WithReplay makes a new subscription receive the last n messages of each
// matching topic, as far as the broker's history reaches (see
// [WithHistory], or the store: [WithStore]), before any live message, with
// no gap and no duplicate between the two. An inline subscription's handler
// gets the replayed messages before Subscribe returns, and the live messages
// published meanwhile after them. It runs under no lock of the broker's, so
// it may publish to those topics or call the broker. Without a store, a
// subscription that catches up so slowly that the in-memory history drops
// messages before it reads them misses those, in order all the same, and
// [Subscription.Recovered] reports false.
func WithReplay(n int) SubscribeOption { return setting(func(c *subConfig) { c.replay = n }) }

// WithResume makes a subscription to a topic (not a pattern) start after
// offset of epoch, the position of the last message its subscriber
// received: it receives the messages after it, then live ones, with no gap
// and no duplicate. When the epoch differs, offset is past the topic's
// last, or retention removed messages after offset, only what is kept is
// delivered and [Subscription.Recovered] reports false. Epoch 0 with
// offset 0 asks for every kept message. Without [WithStore] it resumes from
// the in-memory history ([WithHistory]), whose epochs ([Broker.TopicInfo])
// last as long as the broker.
func WithResume(epoch, offset uint64) SubscribeOption {
	return setting(func(c *subConfig) { c.resume, c.resumeEpoch, c.resumeOffset = true, epoch, offset })
}

// WithDurable makes a subscription durable under a client id: the broker
// saves a cursor per topic as messages are delivered (a handler returning
// nil, or [Subscription.Ack] under [WithManualAck]), and a later
// subscription with the same id and pattern first receives what was
// published in between, up to the durable backlog ([WithDurableBacklog]).
// The id also acts as [WithSubscriber] unless one is given. It needs a
// store that keeps cursors ([CursorStore]); without [WithStore] the
// in-memory history keeps them as long as the broker, and a subscriber
// that comes back receives what it missed as far back as that history
// reaches ([WithHistory]).
func WithDurable(clientID string) SubscribeOption {
	return setting(func(c *subConfig) { c.durable = clientID })
}

// WithManualAck makes a [WithDurable] subscription save its cursor only on
// [Subscription.Ack], as a server does when its client acknowledges.
func WithManualAck() SubscribeOption { return setting(func(c *subConfig) { c.manualAck = true }) }

// WithPacing makes an inline subscription that has history to catch up on
// ([WithResume], [WithReplay], [WithDurable], from the store or the
// in-memory history) catch up in a goroutine of the broker's, once
// Subscribe has returned, rather than in Subscribe: it reads the store a
// page at a time and hands the handler a message only when p.Room has room
// for it, so that nothing is queued beyond what the subscriber can take and
// nothing is dropped. Live messages wait until the catch-up is over (see
// docs/persistence.md for their bound), and follow the stored ones in order.
func WithPacing(p Pacing) SubscribeOption {
	return setting(func(c *subConfig) {
		if p.Context == nil {
			p.Context = context.Background()
		}
		c.pacing = &p
	})
}

// Publish options.

// PublishOption configures one publish. Options are plain values: passing
// them allocates nothing.
type PublishOption struct {
	set     publishSetting
	id      string
	qos     QoS
	headers map[string]string
	at      time.Time
	from    Publisher
	receipt *Receipt
}

// publishSetting names what a PublishOption sets.
type publishSetting uint8

const (
	setNothing publishSetting = iota
	setID
	setQoS
	setHeaders
	setSealed
	setTime
	setPublisher
	setReceipt
)

// sender is what a publish's options set besides the message they
// describe: who publishes it and where its receipt goes.
type sender struct {
	from    Publisher
	receipt *Receipt
}

// apply records o in the message r that a publish describes, or in s.
func (o PublishOption) apply(r *Message, s *sender) error {
	switch o.set {
	case setID:
		r.ID = o.id
	case setQoS:
		r.QoS = o.qos
	case setHeaders:
		h, err := HeadersOf(o.headers)
		if err != nil {
			return err
		}
		r.Headers = h
	case setSealed:
		r.Sealed = true
	case setTime:
		r.Time = o.at
	case setPublisher:
		s.from = o.from
	case setReceipt:
		s.receipt = o.receipt
	}
	return nil
}

// WithID sets the message id; without it the broker generates one.
func WithID(id string) PublishOption { return PublishOption{set: setID, id: id} }

// WithQoS sets the delivery guarantee (default [AtMostOnce]).
func WithQoS(q QoS) PublishOption { return PublishOption{set: setQoS, qos: q} }

// WithSealedPayload marks the payload as an envelope sealed by the
// publisher itself (end-to-end encryption): the broker routes it untouched,
// without sealing or compressing it again, and subscribers receive it as it
// is.
func WithSealedPayload() PublishOption { return PublishOption{set: setSealed} }

// WithHeaders attaches headers to the message, encoded with the keys in
// sorted order ([HeadersOf]); a message's [Headers] are set as they are
// with [Broker.PublishMessage].
func WithHeaders(h map[string]string) PublishOption {
	return PublishOption{set: setHeaders, headers: h}
}

// Receipt is where a message landed in its topic's history: its offset
// and the topic's epoch, which [WithReceipt] asks a publish to fill in.
type Receipt struct {
	Offset uint64 // the message's Seq: its offset in the topic's log
	Epoch  uint64 // the topic's epoch when the message was appended
}

// WithReceipt makes the publish fill in r once the message is appended to
// its topic's history, before Publish returns. r stays zero for an
// [ExactlyOnce] publish that repeats an id the broker remembers, which is
// answered without being routed again.
func WithReceipt(r *Receipt) PublishOption { return PublishOption{set: setReceipt, receipt: r} }

// WithTime sets the message's Time, when the broker accepted it, to t
// rather than to the broker's clock: what a transport that reads many
// messages at once passes, the time of the read, so that the clock is read
// once per read and not once per message. A zero t means the clock.
func WithTime(t time.Time) PublishOption { return PublishOption{set: setTime, at: t} }

// Publisher is who publishes a message, for a publisher that is more than
// a caller of Publish, such as a server's client connection. It is handed
// to the synchronous handlers and the hooks of its publish
// ([Message.Publisher]), which may look for more in it by type assertion,
// as a server finds its own connections; the broker keeps it no longer
// than the publish.
type Publisher interface {
	// PublisherID names the publisher uniquely within the broker, such as
	// a server's "tcp:7".
	PublisherID() string
}

// WithPublisher says who publishes the message: see [Publisher]. The
// broker then copies the payload, and the bytes of the id given [WithID]
// and of the headers, rather than keep them, so that the publisher may reuse its buffer once
// Publish returns (a transport reading messages into a buffer of its own,
// or a caller naming itself with [PublisherName] for that alone), and so
// that the message it lends to the publish's handlers is the only one to
// carry p. A small payload is copied into the message's own allocation,
// which costs less than copying it beforehand, and a publish that nothing
// keeps past its handlers copies nothing at all.
func WithPublisher(p Publisher) PublishOption {
	return PublishOption{set: setPublisher, from: p}
}
