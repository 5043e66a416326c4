package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/whispeer-io/whispeer"
)

// Bounds of what a Control takes from the control channel: a node may be
// older, or broken.
const (
	// MaxControlRequest bounds a request or a notice, in bytes.
	MaxControlRequest = 64 << 10
	// MaxControlReply bounds one node's reply, in bytes.
	MaxControlReply = 8 << 20
	// MaxControlKind bounds the name of a request's kind.
	MaxControlKind = 32
	// controlWorkers bounds the requests of other nodes answered at once;
	// one past it is dropped, and its asker names this node missing.
	controlWorkers = 8
	// noticeQueue bounds the notices received and not yet handled.
	noticeQueue = 1024
)

// ControlHandler answers what the other nodes of a cluster send on the
// control channel. Its methods are called concurrently.
type ControlHandler interface {
	// Answer answers a request of kind with body from the node from, and
	// returns the reply's body or an error whose text the asker gets.
	Answer(ctx context.Context, from, kind string, body []byte) ([]byte, error)
	// Notice handles a notice of kind with body, which wants no reply. It
	// must not block for long: notices are handled one at a time.
	Notice(from, kind string, body []byte)
}

// Reply is one node's answer to a request of [Control.Ask].
type Reply struct {
	Node string
	Body []byte
	Err  string // the node's error, when it could not answer
}

// Control is a node's end of its cluster's control channel: Redis Pub/Sub
// on "<prefix>:ctl", on which a node asks the others (Ask) or tells them
// (Notify), and "<prefix>:ctl:r:<node>", on which each node receives the
// replies to its own requests. A request is answered by every other node
// that receives it; the asker gathers the replies of the nodes it expects
// until its context ends, and names the others missing. One goroutine
// keeps the subscription, resubscribing after a lost connection.
type Control struct {
	st   *Store
	node string
	h    ControlHandler
	log  *slog.Logger

	workers chan struct{} // a slot per request being answered
	notices chan envelope
	stop    chan struct{}
	closing sync.Once
	wg      sync.WaitGroup
	dropped atomic.Uint64

	mu      sync.Mutex
	waiting map[string]*gather // by request id
}

// envelope is what the control channel carries, as JSON.
type envelope struct {
	ID   string          `json:"id,omitempty"` // a request's; empty for a notice
	From string          `json:"from"`
	Kind string          `json:"kind,omitempty"`
	Body json.RawMessage `json:"body,omitempty"`
	Err  string          `json:"error,omitempty"` // a reply's
}

// gather collects the replies to one request.
type gather struct {
	expect  map[string]bool // the nodes asked, true once replied
	replies chan Reply      // buffered for every node asked
}

// NewControl returns the control channel of st for the node named node;
// Start subscribes it.
func NewControl(st *Store, node string, h ControlHandler, log *slog.Logger) (*Control, error) {
	if node == "" || h == nil {
		return nil, fmt.Errorf("%w: redis control: a node name and a handler", whispeer.ErrInvalidOption)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Control{st: st, node: node, h: h, log: log, workers: make(chan struct{}, controlWorkers),
		notices: make(chan envelope, noticeQueue), stop: make(chan struct{}), waiting: make(map[string]*gather)}, nil
}

// channel returns the control channel; replyChannel the channel of the
// replies to node's requests.
func (c *Control) channel() string                 { return c.st.opt.prefix + ":ctl" }
func (c *Control) replyChannel(node string) string { return c.st.opt.prefix + ":ctl:r:" + node }

// Start subscribes to the control channel and to the node's replies, and
// returns once Redis confirmed both subscriptions.
func (c *Control) Start(ctx context.Context) error {
	ready := make(chan error, 1)
	kctx, cancel := context.WithCancel(context.Background())
	c.wg.Add(2)
	go func() { <-c.stop; cancel() }()
	go c.keep(kctx, ready)
	go c.handleNotices()
	select {
	case err := <-ready:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// keep holds the subscription until ctx is done; ready receives the
// outcome of the first attempt.
func (c *Control) keep(ctx context.Context, ready chan error) {
	defer c.wg.Done()
	sub := c.st.c.B().Subscribe().Channel(c.channel(), c.replyChannel(c.node)).Build()
	var once sync.Once
	confirm := func(err error) { once.Do(func() { ready <- err }) }
	var confirmed atomic.Int32
	hctx := rueidis.WithOnSubscriptionHook(ctx, func(s rueidis.PubSubSubscription) {
		if s.Kind == "subscribe" && confirmed.Add(1) == 2 {
			confirm(nil)
		}
	})
	unsub := c.st.c.B().Unsubscribe().Channel(c.channel(), c.replyChannel(c.node)).Build()
	hctx = rueidis.WithOnReceiveReturnHook(hctx, func(err error, cc rueidis.CommandClient) error {
		if errors.Is(err, context.Canceled) { // Close: unsubscribe, waiting no longer than a call may
			uctx, cancel := context.WithTimeout(context.Background(), max(c.st.opt.timeout, time.Second))
			defer cancel()
			return cc.Do(uctx, unsub).Error()
		}
		return err
	})
	backoff := 10 * time.Millisecond
	for ctx.Err() == nil {
		confirmed.Store(0)
		err := c.st.c.Receive(hctx, sub, c.receive)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			confirm(fmt.Errorf("redis control subscribe: %w", err))
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
	confirm(ctx.Err())
}

// receive sorts a message of the subscription: a reply to one of the
// node's requests, a notice, or a request, answered in a goroutine of its
// own while a worker's slot is free.
func (c *Control) receive(m rueidis.PubSubMessage) {
	limit := MaxControlRequest
	if m.Channel != c.channel() {
		limit = MaxControlReply
	}
	var e envelope
	if len(m.Message) > limit || json.Unmarshal([]byte(m.Message), &e) != nil || e.From == "" || len(e.Kind) > MaxControlKind {
		c.dropped.Add(1)
		return
	}
	switch {
	case m.Channel != c.channel():
		c.deliver(e)
	case e.From == c.node: // its own request or notice
	case e.ID == "":
		select {
		case c.notices <- e:
		default:
			c.dropped.Add(1)
		}
	default:
		select {
		case c.workers <- struct{}{}:
			c.wg.Add(1)
			go c.answer(e)
		default:
			c.dropped.Add(1)
		}
	}
}

// deliver hands a reply to the request waiting for it, once per node
// asked; any other is dropped.
func (c *Control) deliver(e envelope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.waiting[e.ID]
	if g == nil {
		return
	}
	if replied, asked := g.expect[e.From]; !asked || replied {
		return
	}
	g.expect[e.From] = true
	g.replies <- Reply{Node: e.From, Body: e.Body, Err: e.Err}
}

// answer runs the handler on a request and publishes its reply.
func (c *Control) answer(e envelope) {
	defer func() { <-c.workers; c.wg.Done() }()
	ctx, cancel := c.st.bound(context.Background())
	defer cancel()
	body, err := c.h.Answer(ctx, e.From, e.Kind, e.Body)
	r := envelope{ID: e.ID, From: c.node}
	switch {
	case err != nil:
		r.Err = err.Error()
	case len(body) > MaxControlReply-256 || !json.Valid(body):
		r.Err = "reply too long or not JSON"
	default:
		r.Body = body
	}
	b, _ := json.Marshal(r) // a RawMessage checked valid and strings
	cmd := c.st.c.B().Publish().Channel(c.replyChannel(e.From)).Message(string(b)).Build()
	if err := c.st.c.Do(ctx, cmd).Error(); err != nil {
		c.log.Warn("whispeer: a reply on the cluster's control channel failed", "to", truncate(e.From), "error", err)
	}
}

// handleNotices hands notices to the handler, one at a time, until Close.
func (c *Control) handleNotices() {
	defer c.wg.Done()
	for {
		select {
		case <-c.stop:
			return
		case e := <-c.notices:
			c.h.Notice(e.From, e.Kind, e.Body)
		}
	}
}

// Ask sends a request of kind with body, JSON, to the nodes named, and
// returns their replies as they came, and the nodes that did not reply
// before ctx ended, sorted as given. It fails only when the request could
// not be sent.
func (c *Control) Ask(ctx context.Context, nodes []string, kind string, body []byte) (replies []Reply, missing []string, err error) {
	if len(nodes) == 0 {
		return nil, nil, nil
	}
	id := newRequestID()
	b, err := json.Marshal(envelope{ID: id, From: c.node, Kind: kind, Body: body})
	if err != nil {
		return nil, nil, fmt.Errorf("redis control: %w", err)
	}
	if len(b) > MaxControlRequest {
		return nil, nil, errors.New("redis control: request too long")
	}
	g := &gather{expect: make(map[string]bool, len(nodes)), replies: make(chan Reply, len(nodes))}
	for _, n := range nodes {
		g.expect[n] = false
	}
	asked := len(g.expect)
	c.mu.Lock()
	c.waiting[id] = g
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	if err := c.publish(ctx, b); err != nil {
		return nil, nil, err
	}
	for len(replies) < asked {
		select {
		case r := <-g.replies:
			replies = append(replies, r)
		case <-ctx.Done():
			c.mu.Lock()
			for _, n := range nodes {
				if !g.expect[n] {
					missing = append(missing, n)
				}
			}
			c.mu.Unlock()
			return replies, missing, nil
		case <-c.stop:
			return replies, nodes, whispeer.ErrClosed
		}
	}
	return replies, nil, nil
}

// Notify sends a notice of kind with body, JSON, to every other node.
func (c *Control) Notify(ctx context.Context, kind string, body []byte) error {
	b, err := json.Marshal(envelope{From: c.node, Kind: kind, Body: body})
	if err != nil {
		return fmt.Errorf("redis control: %w", err)
	}
	if len(b) > MaxControlRequest {
		return errors.New("redis control: notice too long")
	}
	return c.publish(ctx, b)
}

// publish publishes b on the control channel.
func (c *Control) publish(ctx context.Context, b []byte) error {
	ctx, end, err := c.st.begin(ctx)
	if err != nil {
		return err
	}
	defer end()
	if err := c.st.c.Do(ctx, c.st.c.B().Publish().Channel(c.channel()).Message(string(b)).Build()).Error(); err != nil {
		return fmt.Errorf("redis control: %w", err)
	}
	return nil
}

// Dropped returns how many messages of the control channel were dropped:
// too long, damaged, or past the bounds of requests and notices.
func (c *Control) Dropped() uint64 { return c.dropped.Load() }

// Close ends the subscription and waits for the requests being answered.
func (c *Control) Close() error {
	c.closing.Do(func() { close(c.stop) })
	c.wg.Wait()
	return nil
}

// newRequestID returns a random id for a request.
func newRequestID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
