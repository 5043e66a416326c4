package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/msgid"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// Client is a connection to a whispeer server that survives the loss of
// its transport connection: it reconnects, authenticates again, renews
// its subscriptions and sends its unacknowledged publishes again. Create
// one with Dial; its methods are safe for concurrent use.
type Client struct {
	cfg    config
	ep     endpoint
	http   *http.Client     // for wss:// with WithTLSConfig; else nil
	engine *envelope.Engine // seals (with a keyring) and opens payloads
	seal   bool             // a keyring was given: seal every publish
	caps   wire.Caps        // announced in HELLO
	ids    *msgid.Gen
	valid  atomic.Pointer[string] // the topic last published to, which is valid
	window chan struct{}          // one token per QoS 1 publish awaiting its PUBACK
	ctx    context.Context
	cancel context.CancelFunc // ends reconnection
	wg     sync.WaitGroup     // every goroutine the client started
	done   chan struct{}      // closed when Close or Drain has finished
	stats  counters

	// Lock order: mu, then smu; a subscription's inbox lock is taken with
	// no other held. No lock is held during I/O or while user code
	// (handlers, callbacks) runs.
	mu       sync.Mutex
	cur      *conn               // nil while disconnected
	gen      uint64              // the number of the latest connection
	maxOut   int                 // the largest frame the server accepts
	pend     []byte              // whole frames queued for the writer
	writing  bool                // the writer holds a batch it took from pend
	sent     uint64              // publishes queued (QoS 0) or acknowledged (QoS 1), for Stats
	changed  chan struct{}       // closed and cleared by notifyLocked
	inflight map[string]*pending // QoS 1 publishes awaiting their PUBACK
	qseq     uint64              // the number of the last QoS 1 publish queued
	taken    uint64              // qseq when the writer last took a batch
	token    string              // presented in AUTH
	closing  bool                // no new work: Close or Drain began, or the client stopped
	shutting bool                // Close or Drain was called
	closed   bool                // the client has stopped
	// presence holds the Presence calls awaiting their answer, by the id
	// of their PRESENCE (presence.go); presenceID is the last id used.
	presence   map[uint32]chan presenceReply
	presenceID uint32

	smu  sync.RWMutex
	subs map[uint32]*Subscription
	sid  uint32 // the last subscription id used
}

type counters struct {
	delivered, failed, dropped, reconnects atomic.Uint64
}

// Stats counts a client's traffic.
type Stats struct {
	Published  uint64 // publishes queued (QoS 0) or acknowledged (QoS 1)
	Delivered  uint64 // handler calls that returned nil
	Failed     uint64 // deliveries that did not open or decode, or whose handler failed
	Dropped    uint64 // deliveries dropped because a subscription's queue was full
	Reconnects uint64 // connections made after the first
}

// Dial connects to the server at url and authenticates; ctx bounds this
// first connection only. The URL's scheme picks the transport:
// tcp://host:port and tls://host:port for the native protocol over TCP
// (port 4250 by default), ws:// and wss:// for it in WebSocket binary
// messages (path /ws by default). A user and password in the URL count as
// WithCredentials.
func Dial(ctx context.Context, rawURL string, opts ...Option) (*Client, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ep, err := parseEndpoint(rawURL)
	if err != nil {
		return nil, err
	}
	if u, _ := url.Parse(rawURL); u.User != nil && cfg.user == "" {
		cfg.user = u.User.Username()
		cfg.pass, _ = u.User.Password()
	}
	c := &Client{
		cfg: cfg, ep: ep, http: httpClient(ep, cfg.tls),
		ids:      msgid.New(),
		window:   make(chan struct{}, cfg.maxInflight),
		done:     make(chan struct{}),
		inflight: make(map[string]*pending),
		subs:     make(map[uint32]*Subscription),
		token:    cfg.token,
	}
	if c.cfg.clientID == "" {
		var id [msgid.Len]byte
		c.ids.Fill(&id)
		c.cfg.clientID = string(id[:])
	}
	if err := c.setupEngine(); err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	cn, err := c.connect(ctx)
	if err != nil {
		c.cancel()
		c.closeIdle()
		return nil, err
	}
	c.install(cn)
	return c, nil
}

// setupEngine builds the envelope engine and the capabilities to announce.
func (c *Client) setupEngine() error {
	opts := c.cfg.engineOpts
	c.caps = wire.CapQoS2 | wire.CapResume | wire.CapReasons | wire.CapAckOffset | wire.CapPresence
	if c.cfg.keyring != nil {
		c.seal = true
		c.caps |= wire.CapE2E
		opts = append(opts[:len(opts):len(opts)], envelope.WithKeyring(c.cfg.keyring))
		if c.cfg.acceptPlain {
			opts = append(opts, envelope.WithAcceptUnsealed())
		}
	}
	if !c.seal || c.cfg.acceptPlain {
		c.caps |= wire.CapCompression
	}
	e, err := envelope.NewEngine(opts...)
	if err != nil {
		return fmt.Errorf("%w: engine: %w", whispeer.ErrInvalidOption, err)
	}
	c.engine = e
	return nil
}

// install makes cn the current connection: it queues, ahead of anything
// buffered, a SUB for every live subscription and every QoS 1 publish
// that a lost connection may not have delivered, then starts cn's reader
// and writer. It returns false, closing cn, when the client has stopped.
func (c *Client) install(cn *conn) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		cn.link.abort()
		return false
	}
	c.gen++
	cn.gen = c.gen
	pre := c.appendResubscribe(nil, cn)
	pre = c.appendResend(pre)
	if len(pre) > 0 {
		c.pend = append(pre, c.pend...)
	}
	c.cur = cn
	c.maxOut = cn.maxFrame
	c.writing = false
	c.notifyLocked()
	c.wg.Add(2)
	go c.readLoop(cn)
	go c.writeLoop(cn)
	if c.cfg.tokenSource != nil && cn.expires > 0 {
		c.wg.Add(1)
		go c.refreshLoop(cn, time.Unix(0, cn.expires))
	}
	if len(c.pend) > 0 {
		c.wakeLocked()
	}
	c.mu.Unlock()
	if c.cfg.onConnect != nil {
		c.cfg.onConnect()
	}
	return true
}

// lost gives up cn after err: its frames are dropped but for publishes,
// and reconnection starts, or the client stops when it is off.
func (c *Client) lost(cn *conn, err error) {
	c.mu.Lock()
	if c.cur != cn {
		c.mu.Unlock()
		return
	}
	c.cur = nil
	close(cn.done)
	c.writing = false
	c.pend = keepPublishes(c.pend)
	c.notifyLocked()
	reconnect := c.cfg.reconnect
	if reconnect {
		c.wg.Add(1)
		go c.reconnectLoop(err)
	}
	c.mu.Unlock()
	cn.link.abort()
	if !reconnect {
		c.report(fmt.Errorf("connection lost: %w", err))
		if c.cfg.onDisconnect != nil {
			c.cfg.onDisconnect(err)
		}
		c.terminate(fmt.Errorf("%w: %w", ErrDisconnected, err))
	}
}

// terminate stops the client: the connection closes (politely, after a
// Drain), pending QoS 1 publishes fail with cause, subscriptions end and
// reconnection stops. It does not wait for the goroutines.
func (c *Client) terminate(cause error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.closing = true, true
	cn := c.cur
	c.cur = nil
	if cn != nil {
		close(cn.done)
	}
	c.pend = nil
	for _, p := range c.inflight {
		c.finishLocked(p, cause)
	}
	c.notifyLocked()
	c.mu.Unlock()
	c.cancel()
	for _, s := range c.liveSubs() {
		s.end(cause)
	}
	if cn != nil {
		cn.link.close()
	}
	c.closeIdle()
}

func (c *Client) closeIdle() {
	if c.http != nil {
		c.http.CloseIdleConnections()
	}
}

// changedLocked returns a channel that notifyLocked closes at the next
// change of the queue, the in-flight set or the connection. c.mu is held.
func (c *Client) changedLocked() <-chan struct{} {
	if c.changed == nil {
		c.changed = make(chan struct{})
	}
	return c.changed
}

// notifyLocked wakes whoever waits on changedLocked. c.mu is held.
func (c *Client) notifyLocked() {
	if c.changed != nil {
		close(c.changed)
		c.changed = nil
	}
}

// report hands err to the error handler, or logs it.
func (c *Client) report(err error) {
	if c.cfg.onError != nil {
		c.cfg.onError(err)
		return
	}
	c.cfg.logger.Warn("whispeer client", "server", c.ep.shown, "error", err)
}

// Connected reports whether the client has a live connection now.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	sent := c.sent
	c.mu.Unlock()
	return Stats{
		Published:  sent,
		Delivered:  c.stats.delivered.Load(),
		Failed:     c.stats.failed.Load(),
		Dropped:    c.stats.dropped.Load(),
		Reconnects: c.stats.reconnects.Load(),
	}
}

// Flush returns once the server has handled everything queued before the
// call: it sends a PING behind the queued frames and waits for the PONG.
// It fails with ErrDisconnected if the client is disconnected or the
// connection is lost first.
func (c *Client) Flush(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	cn := c.cur
	if cn == nil {
		c.mu.Unlock()
		return ErrDisconnected
	}
	ch := make(chan struct{})
	cn.pongs = append(cn.pongs, ch)
	c.queueLocked(cn, pingFrame)
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-cn.done:
		return ErrDisconnected
	case <-ctx.Done():
		return ctx.Err()
	}
}
