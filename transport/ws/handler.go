package ws

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	gws "github.com/gobwas/ws"
	"github.com/whispeer-io/whispeer/transport"
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// DefaultMaxMessageBytes is the default of Options.MaxMessageBytes; the
// defaults of the connections' options are transport's
// (transport.DefaultMaxConnections…).
const DefaultMaxMessageBytes = 1 << 20

// Options configures a Handler. Zero fields take the defaults.
type Options struct {
	// Options are the connections' settings, the same in every transport.
	// MaxConnections counts upgrades under way too, and a request over it
	// is refused with 503 Service Unavailable.
	transport.Options
	// MaxMessageBytes bounds a message, fragments included. A frame that
	// declares more is refused before its payload is read, and the
	// connection is closed with 1009.
	MaxMessageBytes int
	// CheckOrigin reports whether an upgrade request may proceed, judging
	// its Origin header; a refused one gets 403 Forbidden. The default is
	// AllowOrigins(nil): no Origin, or the request's own host only.
	CheckOrigin func(r *http.Request) bool
}

func (o *Options) setDefaults() {
	netconn.SetDefaults(&o.Options)
	netconn.SetDefault(&o.MaxMessageBytes, DefaultMaxMessageBytes)
	if o.CheckOrigin == nil {
		o.CheckOrigin = AllowOrigins(nil)
	}
}

// Session is the protocol spoken over one connection.
type Session interface {
	// Receive handles one complete data message. It runs in the
	// connection's reader goroutine, one call at a time, and data is valid
	// only until it returns: keep a copy of what must outlive the call.
	// Frames sent during a batch of messages read together are written
	// together once the batch is handled.
	Receive(t MessageType, data []byte)
	// Closed is called once, after the last Receive, with the reason the
	// connection ended.
	Closed(err error)
}

// Rejecter is an optional interface of a Session that wants to answer a
// message the connection refuses (one over MaxMessageBytes, a broken frame,
// text that is not UTF-8) before the connection is closed because of it:
// frames sent from Reject are written before the close frame.
type Rejecter interface {
	Reject(err error)
}

// AcceptFunc returns the Session of a new connection. It is called once the
// upgrade has succeeded, before anything is read.
type AcceptFunc func(c *transport.Conn) Session

// Handler is an http.Handler that upgrades requests to WebSocket
// connections and serves each with a Session. Its methods are safe for
// concurrent use.
type Handler struct {
	accept   AcceptFunc
	opts     Options
	upgrader gws.HTTPUpgrader
	down     atomic.Bool  // Shutdown has begun
	hub      *netconn.Hub // the connections
}

// NewHandler returns a Handler serving each connection with the Session
// that accept returns.
func NewHandler(accept AcceptFunc, opts Options) *Handler {
	opts.setDefaults()
	h := &Handler{accept: accept, opts: opts}
	h.hub = netconn.NewHub(netconn.HubConfig{Name: "ws", Options: opts.Options,
		Frame: appendBinaryHeader, MaxMessage: MaxDataMessage, Ping: pingFrame,
		Goodbye:  CloseFrame(CloseGoingAway, "server shutting down"),
		Internal: CloseFrame(CloseInternalError, "internal error")})
	return h
}

// MaxDataMessage bounds the binary messages that SendDataIn gathers
// frames into: the read limit that common WebSocket clients apply by
// default. A single larger frame travels alone.
const MaxDataMessage = 32 << 10

// appendBinaryHeader appends the header of a binary message of n bytes.
func appendBinaryHeader(dst []byte, n int) []byte { return AppendHeader(dst, Binary, n) }

// ServeHTTP upgrades the request and serves the connection until it ends.
// It returns as soon as the connection is set up; the connection lives on
// in goroutines of its own.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.down.Load() {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if !h.opts.CheckOrigin(r) {
		h.hub.Counters.Refused.Add(1)
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	if !h.hub.Reserve() {
		h.hub.Unreserve()
		h.hub.Counters.Rejected.Add(1)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	nc, rw, _, err := h.upgrader.Upgrade(r, w)
	if err != nil {
		h.hub.Unreserve()
		if nc != nil {
			nc.Close()
		}
		return
	}
	c := &conn{h: h}
	h.hub.Init(&c.Conn, nc)
	if n := rw.Reader.Buffered(); n > 0 {
		// Frames the client sent right behind its handshake.
		p, _ := rw.Reader.Peek(n)
		netconn.Preload(&c.Conn, p)
	}
	c.session = h.accept(&c.Conn)
	netconn.Live(&c.Conn)
	if !h.hub.Add(&c.Conn) {
		// Shutdown began during the upgrade: say so before closing.
		netconn.Release(&c.Conn)
		nc.SetWriteDeadline(time.Now().Add(h.opts.WriteTimeout))
		nc.Write(CloseFrame(CloseGoingAway, "server shutting down"))
		nc.Close()
		c.session.Closed(transport.ErrShutdown)
		h.hub.Unreserve()
		return
	}
	go h.hub.Serve(&c.Conn, (*framer)(c))
}

// Shutdown refuses new connections, closes every open one gracefully with
// 1001 after writing what is queued for it, and waits for them to end.
// When ctx is done first, the connections left are dropped and Shutdown
// returns ctx's error once their goroutines have exited.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.down.Store(true)
	if err := h.hub.Shutdown(ctx); err != nil {
		return fmt.Errorf("websocket shutdown: %w", err)
	}
	return nil
}

// Len returns the number of open connections.
func (h *Handler) Len() int { return h.hub.Len() }

// pingFrame is an empty ping, shared by every connection.
var pingFrame = []byte{0x80 | opPing, 0}

// Stats returns the handler's counters.
func (h *Handler) Stats() transport.Stats { return h.hub.Stats() }

var _ http.Handler = (*Handler)(nil)
