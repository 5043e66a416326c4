package tcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport"
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// Defaults for the Options of the native framing; those of the
// connections' are transport's (transport.DefaultMaxConnections…).
const (
	DefaultMaxFrameBytes    = wire.DefaultMaxFrame
	DefaultHandshakeTimeout = 10 * time.Second
)

// Options configures a Server. Zero fields take the defaults.
type Options struct {
	// Options are the connections' settings, the same in every transport.
	// A Server pings only native connections: before its first bytes, a
	// connection has HandshakeTimeout.
	transport.Options
	// MaxFrameBytes bounds a frame's length prefix (the type byte and the
	// fields); a larger frame is refused before its body is read.
	MaxFrameBytes int
	// HandshakeTimeout bounds the wait for a client's first bytes, the TLS
	// handshake included.
	HandshakeTimeout time.Duration
}

func (o *Options) setDefaults() {
	netconn.SetDefaults(&o.Options)
	netconn.SetDefault(&o.MaxFrameBytes, DefaultMaxFrameBytes)
	o.MaxFrameBytes = min(o.MaxFrameBytes, wire.MaxFrameSize)
	netconn.SetDefault(&o.HandshakeTimeout, DefaultHandshakeTimeout)
}

// Session is the native protocol spoken over one connection.
type Session interface {
	// ReceiveFrame handles one frame. It runs in the connection's reader
	// goroutine, one call at a time; f and every slice in it are valid
	// only until it returns. Frames sent during a batch of frames read
	// together are written together once the batch is handled.
	ReceiveFrame(f *wire.Frame)
	// Closed is called once, after the last ReceiveFrame, with the reason
	// the connection ended.
	Closed(err error)
}

// Rejecter is an optional interface of a Session that wants to know of a
// frame that does not parse before the connection answers it with a fatal
// ERROR and closes: frames sent from Reject are written before that ERROR.
type Rejecter interface {
	Reject(err error)
}

// AcceptFunc returns the Session of a new connection. It is called once the
// connection's first bytes have shown it to be native, before its first
// frame is handled.
type AcceptFunc func(c *transport.Conn) Session

// ErrServerClosed is returned by Serve once Shutdown has begun. The errors
// a connection reports to its Session, and that its sends return, are
// transport's (transport.ErrClosed, ErrSlowConsumer, ErrIdle, ErrShutdown).
var ErrServerClosed = errors.New("whispeer: server closed")

// Server serves the native protocol on the listeners given to Serve. Its
// methods are safe for concurrent use.
type Server struct {
	accept AcceptFunc
	opts   Options
	log    *slog.Logger
	down   atomic.Bool   // Shutdown has begun
	done   chan struct{} // closed when Shutdown begins
	hub    *netconn.Hub  // the connections

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
}

// NewServer returns a Server serving each native connection with the
// Session that accept returns.
func NewServer(accept AcceptFunc, opts Options) *Server {
	opts.setDefaults()
	s := &Server{accept: accept, opts: opts, log: opts.Logger, done: make(chan struct{}),
		listeners: make(map[net.Listener]struct{})}
	s.hub = netconn.NewHub(netconn.HubConfig{Name: "tcp", Options: opts.Options, HalfClose: true,
		Ping: pingFrame, Goodbye: shutdownFrame, Internal: internalFrame})
	return s
}

// Serve accepts connections from ln and serves each in goroutines of its
// own, until Shutdown or an error from ln. It closes ln before returning,
// and returns ErrServerClosed once Shutdown has begun.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.down.Load() {
				return ErrServerClosed
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("whispeer: accept failed; retrying", "error", err, "in", backoff)
				if !s.pause(backoff) {
					return ErrServerClosed
				}
				continue
			}
			ln.Close()
			return fmt.Errorf("accept: %w", err)
		}
		backoff = 0
		s.serveConn(nc)
	}
}

// pause waits d, or until Shutdown begins, which it reports with false.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}

// track records a listener for Shutdown to close; it reports false once
// Shutdown has begun.
func (s *Server) track(ln net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down.Load() {
		return false
	}
	s.listeners[ln] = struct{}{}
	return true
}

func (s *Server) untrack(ln net.Listener) {
	s.mu.Lock()
	delete(s.listeners, ln)
	s.mu.Unlock()
}

// serveConn starts serving a new connection, or refuses it past
// MaxConnections or during shutdown.
func (s *Server) serveConn(nc net.Conn) {
	if !s.hub.Reserve() {
		s.hub.Counters.Rejected.Add(1)
		s.refuse(nc, wire.CodeLimit, "whispeer: too many connections")
		return
	}
	c := &conn{s: s}
	s.hub.Init(&c.Conn, nc)
	if !s.hub.Add(&c.Conn) {
		s.refuse(nc, wire.CodeUnavailable, transport.ErrShutdown.Error())
		return
	}
	nc.SetReadDeadline(time.Now().Add(s.opts.HandshakeTimeout))
	go s.hub.Serve(&c.Conn, (*framer)(c))
}

// refuse writes a fatal ERROR to a connection that will not be served and
// closes it, in a goroutine: with TLS, the write waits for the handshake.
func (s *Server) refuse(nc net.Conn, code wire.Code, text string) {
	frame, _ := wire.AppendError(nil, &wire.Error{Code: code, Fatal: true, Text: []byte(text)})
	s.hub.Go(func() {
		defer s.hub.Unreserve()
		nc.SetDeadline(time.Now().Add(s.opts.WriteTimeout))
		nc.Write(frame)
		nc.Close()
	})
}

// Shutdown closes the listeners, then closes every connection gracefully:
// what is queued for it is written, then a fatal ERROR "unavailable", and
// the client is given CloseTimeout to close. It waits for the connections
// to end; when ctx is done first, the connections left are dropped and
// Shutdown returns ctx's error once their goroutines have exited.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if !s.down.Swap(true) {
		close(s.done)
	}
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	err := s.hub.Shutdown(ctx)
	if err != nil {
		return fmt.Errorf("tcp shutdown: %w", err)
	}
	return nil
}

// Len returns the number of open connections.
func (s *Server) Len() int { return s.hub.Len() }

// shutdownFrame is the fatal ERROR every connection gets at shutdown.
var shutdownFrame = mustError(wire.CodeUnavailable, transport.ErrShutdown.Error())

// pingFrame is a PING, shared by every connection.
var pingFrame = wire.AppendPing(nil)

// internalFrame is the fatal ERROR of a connection whose session panicked.
var internalFrame = mustError(wire.CodeInternal, "whispeer: internal error")

func mustError(code wire.Code, text string) []byte {
	b, err := wire.AppendError(nil, &wire.Error{Code: code, Fatal: true, Text: []byte(text)})
	if err != nil {
		panic(err)
	}
	return b
}

// Stats returns the server's counters.
func (s *Server) Stats() transport.Stats { return s.hub.Stats() }
