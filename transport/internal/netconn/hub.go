package netconn

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// HubConfig is what the connections of one listener share.
type HubConfig struct {
	// Name is the transport's, "tcp" or "ws": Conn.Transport, and the
	// prefix of connection ids in logs.
	Name string
	// Options are the listener's; NewHub fills in their defaults.
	Options
	// Frame and MaxMessage gather the frames sent with SendDataIn into
	// messages (Config.Frame).
	Frame      func(dst []byte, n int) []byte
	MaxMessage int
	// HalfClose closes a closing connection's write side once its last
	// frame is written, so that the client reads an end of stream (TCP).
	HalfClose bool
	// Ping is the keepalive frame; Goodbye the last frame of every
	// connection at shutdown; Internal the last frame of a connection
	// whose session panicked.
	Ping, Goodbye, Internal []byte
}

// Counters are a Hub's statistics, which its transport adds to.
type Counters struct {
	Accepted      atomic.Uint64 // connections accepted
	Rejected      atomic.Uint64 // connections refused for MaxConnections
	Refused       atomic.Uint64 // connections refused by the transport's handshake
	SlowConsumers atomic.Uint64 // connections dropped as slow consumers
	IdleClosed    atomic.Uint64 // connections dropped for silence
	Violations    atomic.Uint64 // connections closed for breaking the protocol
	In            atomic.Uint64 // frames or messages received
	FramesOut     atomic.Uint64 // frames written
	Writes        atomic.Uint64 // vectored writes that carried them
}

// Hub is the connections of one listener: it numbers them, counts them
// against MaxConnections, runs their readers, keepalive and shutdown, and
// keeps their counters. Its methods are safe for concurrent use.
type Hub struct {
	cfg      HubConfig
	queue    Config // the connections' writer settings
	nextID   atomic.Uint64
	count    atomic.Int64   // connections open or being set up
	wg       sync.WaitGroup // readers, writers, the pinger and Go's
	conns    *Set[*Conn]
	Counters Counters
}

// NewHub returns a Hub with no connections.
func NewHub(cfg HubConfig) *Hub {
	SetDefaults(&cfg.Options)
	h := &Hub{cfg: cfg}
	h.queue = Config{MaxPendingBytes: cfg.MaxPendingBytes, WriteTimeout: cfg.WriteTimeout,
		MaxStall: max(cfg.MaxStall, 0), Frame: cfg.Frame, MaxMessage: cfg.MaxMessage, Writers: &h.wg}
	h.conns = NewSet(cfg.PingInterval, &h.wg, pingConn, expireConn, trimConn)
	return h
}

// Reserve counts a connection being set up, and reports whether it is
// within MaxConnections. A connection counted but not served (Serve
// uncounts it) must be uncounted with Unreserve, whatever Reserve said.
func (h *Hub) Reserve() bool {
	return h.count.Add(1) <= int64(h.cfg.MaxConnections)
}

// Unreserve uncounts a connection that Reserve counted and that will not
// be served.
func (h *Hub) Unreserve() { h.count.Add(-1) }

// Init makes c a connection of h on nc, with the next number.
func (h *Hub) Init(c *Conn, nc net.Conn) {
	c.hub, c.nc, c.id = h, nc, h.nextID.Add(1)
	c.q.Init(nc, &h.queue, (*connEvents)(c))
	c.rb.Init(nc)
}

// Add registers c for keepalive and shutdown and counts it as accepted. It
// reports false once Shutdown has begun; c is then not served.
func (h *Hub) Add(c *Conn) bool {
	if !h.conns.Add(c, &c.act) {
		return false
	}
	h.Counters.Accepted.Add(1)
	return true
}

// Go runs fn in a goroutine that Shutdown waits for, such as the refusal of
// a connection over MaxConnections.
func (h *Hub) Go(fn func()) { h.wg.Go(fn) }

// Shutdown refuses further connections and closes every open one
// gracefully, with Goodbye as its last frame, and waits for them to end.
// When ctx is done first, the connections left are dropped and Shutdown
// returns ctx's error once their goroutines have exited.
func (h *Hub) Shutdown(ctx context.Context) error {
	return h.conns.Shutdown(ctx, func(c *Conn) { c.Close(h.cfg.Goodbye, ErrShutdown) },
		func(c *Conn) { c.q.Kill(ErrShutdown) })
}

// Len returns the number of open connections.
func (h *Hub) Len() int { return h.conns.Len() }

// Stats counts the connections of a listener and their traffic.
type Stats struct {
	Open          int    // connections open now
	Accepted      uint64 // connections accepted
	Rejected      uint64 // connections refused for MaxConnections
	Refused       uint64 // connections refused by the transport's handshake
	SlowConsumers uint64 // connections dropped as slow consumers
	IdleClosed    uint64 // connections dropped for silence
	Violations    uint64 // connections closed for breaking the protocol
	FramesIn      uint64 // frames (TCP) or data messages (WebSocket) received
	FramesOut     uint64 // frames written
	Writes        uint64 // vectored writes that carried them
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	c := &h.Counters
	return Stats{
		Open:          h.Len(),
		Accepted:      c.Accepted.Load(),
		Rejected:      c.Rejected.Load(),
		Refused:       c.Refused.Load(),
		SlowConsumers: c.SlowConsumers.Load(),
		IdleClosed:    c.IdleClosed.Load(),
		Violations:    c.Violations.Load(),
		FramesIn:      c.In.Load(),
		FramesOut:     c.FramesOut.Load(),
		Writes:        c.Writes.Load(),
	}
}

// remove forgets c; its reader calls it on the way out.
func (h *Hub) remove(c *Conn) {
	h.conns.Remove(c)
	h.count.Add(-1)
}

// noteDrop counts and logs a connection dropped because of err.
func (h *Hub) noteDrop(c *Conn, err error) {
	switch {
	case errors.Is(err, ErrSlowConsumer):
		h.Counters.SlowConsumers.Add(1)
		c.logger().Warn("whispeer: slow consumer disconnected", "reason", err)
	case errors.Is(err, ErrIdle):
		h.Counters.IdleClosed.Add(1)
		c.logger().Debug("whispeer: idle connection closed")
	}
}

// pingConn pings a live connection silent for one interval.
func pingConn(c *Conn) {
	if c.live.Load() {
		c.Send(c.hub.cfg.Ping)
	}
}

// trimConn drops a connection's spare buffers.
func trimConn(c *Conn) { c.q.Trim() }

// expireConn drops a connection silent for two intervals.
func expireConn(c *Conn) { c.q.Kill(ErrIdle) }
