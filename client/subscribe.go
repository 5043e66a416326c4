package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// SubscribeOption configures one subscription.
type SubscribeOption func(*subConfig)

type subConfig struct {
	queue   int
	wait    time.Duration
	qos     QoS
	raw     bool
	borrow  bool
	durable bool
	resume  wire.Resume
	// onPresence gets the presence events (WithPresenceEvents).
	onPresence func(PresenceEvent)
}

// WithBorrow lends each delivery to the handler rather than giving it:
// the *Message, and the bytes of its Topic, ID, Payload and Headers (the
// strings Get and All return too), are valid only until the handler
// returns, after which the client reuses them for a later delivery. A subscription then receives, and opens end-to-end
// envelopes, without allocating. A handler that keeps anything keeps a
// copy: Message.Clone makes one. So do errors: a DeliveryError about a
// borrowed message holds copies of its topic and id.
func WithBorrow() SubscribeOption { return func(s *subConfig) { s.borrow = true } }

// WithLast makes the subscription start with the newest n messages of
// each matching topic that the server's history holds, then continue
// live. The server must grant the resume capability.
func WithLast(n uint32) SubscribeOption {
	return func(s *subConfig) { s.resume = wire.Resume{Mode: wire.ResumeLast, Last: n} }
}

// WithResume makes a subscription to a concrete topic continue after
// offset (a Message.Seq) of the topic's epoch (Subscription.Position): the
// messages published since are delivered first, without a gap or a
// duplicate. If the server's history no longer reaches back, or the epoch
// changed, the error handler gets ErrGap. The server must grant the resume
// capability.
func WithResume(epoch, offset uint64) SubscribeOption {
	return func(s *subConfig) {
		s.resume = wire.Resume{Mode: wire.ResumeOffset, Epoch: epoch, Offset: offset}
	}
}

// WithDurable makes an ExactlyOnce subscription (WithMaxQoS(ExactlyOnce),
// which it needs) durable: the server keeps it while the client is away,
// under the client's id (WithClientID), its user and the pattern, and
// advances its cursor as the client answers deliveries with PUBREC. A
// later subscription to the same pattern by a client with the same id
// and user, after a reconnect or a restart of the client's process,
// continues after that cursor: what was published while it was away is
// delivered first, up to the server's durable backlog per topic, and the
// error handler gets ErrGap if some was lost. Unsubscribe ends it and the
// server deletes its cursors; one whose client stays away longer than the
// server's qos.durable_expiry is deleted too. After a crash of the
// server, the cursor may lag behind the last PUBREC, and a message be
// delivered again: its Seq is at or below the last one handled. The
// server must grant the qos2 and resume capabilities.
func WithDurable() SubscribeOption { return func(s *subConfig) { s.durable = true } }

// WithQueueSize sets the subscription's queue capacity, in messages
// (default 1024). A delivery that finds the queue full waits for room
// (WithSlowConsumerWait), then is dropped and reported as ErrSlowConsumer;
// at QoS 1 it is not acknowledged, so the server delivers it again. Make
// the queue at least as large as the server's window of unacknowledged
// deliveries.
func WithQueueSize(n int) SubscribeOption { return func(s *subConfig) { s.queue = n } }

// WithSlowConsumerWait sets how long the connection's reader waits for
// room when a delivery finds the subscription's queue full (default 2s,
// DefaultSlowConsumerWait). While it waits the client reads nothing more
// from the connection, so the server slows the publishers (its flow
// control) and a fast stream loses nothing to a handler that keeps up on
// average. The connection's other subscriptions wait too, for at most d
// at a time. When d runs out the deliveries that do not fit are dropped
// and reported as ErrSlowConsumer, and so is every one that finds the
// queue full until the handler takes from it again. 0 drops at once.
func WithSlowConsumerWait(d time.Duration) SubscribeOption {
	return func(s *subConfig) { s.wait = d }
}

// WithMaxQoS sets the highest QoS at which the subscription wants
// deliveries (default AtLeastOnce); each delivery has the lower of this
// and the publish's. At ExactlyOnce the handler is called once per
// message id and offset, however often the server sends it, until the
// server releases it (PUBREL); a handler's error leaves it to be sent
// again, as at AtLeastOnce.
func WithMaxQoS(q QoS) SubscribeOption { return func(s *subConfig) { s.qos = q } }

// WithRawPayload delivers payloads as they arrive, envelopes unopened
// (Message.Envelope set), for programs that store or forward them.
func WithRawPayload() SubscribeOption { return func(s *subConfig) { s.raw = true } }

// Subscription is one pattern subscribed with one handler. Its handler
// runs in a goroutine of the subscription's own, fed by a bounded queue;
// a handler that falls behind holds up the connection for at most
// WithSlowConsumerWait at a time. Its methods are safe for concurrent use.
type Subscription struct {
	c        *Client
	sid      uint32
	pattern  string
	concrete bool
	handler  Handler
	cfg      subConfig
	in       *inbox
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{} // closed when the goroutine has exited
	drain    chan struct{} // closed by Close: finish the queue and exit
	drainOn  sync.Once
	draining atomic.Bool
	acked    chan error  // the answer to the first SUB
	answered atomic.Bool // the first SUBACK has arrived

	// Where the subscription stands in its topic, for resuming: written by
	// the connection's reader, read when a connection is installed.
	epoch      atomic.Uint64
	seq        atomic.Uint64
	positioned atomic.Bool   // epoch and seq are known
	mode       atomic.Uint32 // the resume mode of the latest SUB
	// A durable subscription to a topic: the newest offset its handler
	// took (and answered with PUBREC), and, from a SUB on, the one taken
	// before it, at or below which a delivery is not handed over again.
	handed, floor atomic.Uint64

	endOnce sync.Once
	err     atomic.Pointer[error]

	plain []byte // where a borrowing subscription opens envelopes; its goroutine's

	once received // QoS 2 deliveries handed over and not yet released

	// events queues the presence events for the subscription's goroutine;
	// nil without WithPresenceEvents.
	events chan PresenceEvent
}

// Subscribe subscribes h to pattern ("+" and "*" match one level, a final
// "#" any number) and returns once the server has confirmed it, or fails
// after the client's timeout (ErrTimeout). The subscription is renewed
// after every reconnection; a subscription to a concrete topic resumes
// after the last message it received, when the server keeps history.
// A QoS 1 delivery is acknowledged after h returns nil.
func (c *Client) Subscribe(pattern string, h Handler, opts ...SubscribeOption) (*Subscription, error) {
	s, err := c.newSubscription(pattern, h, opts)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if cn := c.cur; cn != nil && s.cfg.resume.Mode != wire.ResumeNone && !cn.caps.Has(wire.CapResume) {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: the server does not offer resume", ErrUnsupported)
	}
	if cn := c.cur; cn != nil && s.cfg.durable && !cn.caps.Has(wire.CapQoS2) {
		c.mu.Unlock()
		return nil, fmt.Errorf("%w: the server does not offer QoS 2", ErrUnsupported)
	}
	c.sid++
	if c.sid == 0 {
		c.sid = 1
	}
	s.sid = c.sid
	c.smu.Lock()
	c.subs[s.sid] = s
	c.smu.Unlock()
	if c.cur != nil {
		c.queueLocked(c.cur, s.appendSub(nil, c.cur.caps))
	}
	c.wg.Add(1)
	go s.run()
	c.mu.Unlock()

	t := time.NewTimer(c.cfg.timeout)
	defer t.Stop()
	select {
	case err = <-s.acked:
	case <-t.C:
		err = fmt.Errorf("%w: no SUBACK for %q", ErrTimeout, pattern)
	case <-s.ctx.Done():
		err = ErrClosed
	}
	if err != nil {
		s.unsubscribe(!errors.As(err, new(*ServerError)))
		s.end(err)
		return nil, err
	}
	return s, nil
}

func (c *Client) newSubscription(pattern string, h Handler, opts []SubscribeOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", whispeer.ErrInvalidOption)
	}
	if err := match.ValidatePattern(pattern, topicLimits); err != nil {
		return nil, fmt.Errorf("%w %q: %w", whispeer.ErrInvalidPattern, pattern, err)
	}
	cfg := subConfig{queue: DefaultQueueSize, wait: DefaultSlowConsumerWait, qos: AtLeastOnce}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.queue < 1 || cfg.wait < 0 || !cfg.qos.Valid() {
		return nil, fmt.Errorf("%w: queue size %d, slow consumer wait %v, qos %d",
			whispeer.ErrInvalidOption, cfg.queue, cfg.wait, cfg.qos)
	}
	if cfg.durable {
		if cfg.qos != ExactlyOnce || cfg.resume.Mode != wire.ResumeNone {
			return nil, fmt.Errorf("%w: WithDurable needs WithMaxQoS(ExactlyOnce), and neither WithLast nor WithResume", whispeer.ErrInvalidOption)
		}
		cfg.resume = wire.Resume{Mode: wire.ResumeDurable}
	}
	s := &Subscription{
		c: c, pattern: pattern, concrete: !match.IsPattern(pattern), handler: h, cfg: cfg,
		in:    newInbox(cfg.queue, cfg.borrow),
		done:  make(chan struct{}),
		drain: make(chan struct{}),
		acked: make(chan error, 1),
	}
	if cfg.onPresence != nil {
		s.events = make(chan PresenceEvent, presenceEvents)
	}
	if cfg.resume.Mode == wire.ResumeOffset {
		if !s.concrete {
			return nil, fmt.Errorf("%w: resuming from an offset needs a concrete topic, not %q", whispeer.ErrInvalidOption, pattern)
		}
		s.epoch.Store(cfg.resume.Epoch)
		s.seq.Store(cfg.resume.Offset)
		s.positioned.Store(true)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// appendSub appends the SUB that (re)starts the subscription on a
// connection with capabilities caps: resuming after the last message seen
// when the subscription is to a concrete topic with known position, and
// after the server's cursor when it is durable.
func (s *Subscription) appendSub(b []byte, caps wire.Caps) []byte {
	sub := wire.Subscribe{SID: s.sid, QoS: wire.QoS(s.cfg.qos), Topic: bytesOf(s.pattern),
		Presence: s.events != nil && caps.Has(wire.CapPresence)}
	if caps.Has(wire.CapResume) {
		sub.Resume = s.cfg.resume
		if s.concrete && s.positioned.Load() && s.epoch.Load() != 0 && !s.cfg.durable {
			sub.Resume = wire.Resume{Mode: wire.ResumeOffset, Epoch: s.epoch.Load(), Offset: s.seq.Load()}
		}
	}
	s.mode.Store(uint32(sub.Resume.Mode))
	s.floor.Store(s.handed.Load())
	s.once.reset()
	b, _ = wire.AppendSubscribe(b, &sub) // the pattern was validated
	return b
}

// lookup returns the live subscription with id sid, or nil.
func (c *Client) lookup(sid uint32) *Subscription {
	c.smu.RLock()
	s := c.subs[sid]
	c.smu.RUnlock()
	return s
}

// liveSubs returns the registered subscriptions.
func (c *Client) liveSubs() []*Subscription {
	c.smu.RLock()
	defer c.smu.RUnlock()
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	return subs
}

// remove unregisters s; it reports false when s was not registered.
func (c *Client) remove(s *Subscription) bool {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.subs[s.sid] != s {
		return false
	}
	delete(c.subs, s.sid)
	return true
}
