package netconn

import (
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"
)

// Conn is one client connection of a Hub, whatever its framing: its
// outbound Queue, its read buffer and the Batch its reader hands its frames
// in, its keepalive state and its number. A transport embeds it in its own
// connection, beside its framing state. Its exported methods are safe for
// concurrent use.
type Conn struct {
	hub   *Hub
	nc    net.Conn
	id    uint64
	act   Activity
	live  atomic.Bool // keepalive pings the connection
	q     Queue
	rb    ReadBuffer // the reader goroutine's
	batch Batch      // the reader goroutine's: the writes of the frames in hand
	at    time.Time  // when the frames in hand were read (ReadTime)
	// misses counts the reader's batches in a row that found nothing more
	// to take in, and cold the batches it leaves untried (serve.go).
	misses, cold uint8
}

// ID returns the connection's number, unique within its listener.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr returns the client's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Transport returns the name of the connection's transport, "tcp" or "ws".
func (c *Conn) Transport() string { return c.hub.cfg.Name }

// Send queues frame, one or more complete frames of the connection's
// framing, to be written after the frames queued before it. The connection
// keeps frame until it is written: the caller must not modify it, and may
// hand the same bytes to any number of connections. Send never blocks on
// the network. It returns ErrClosed once the connection is closing, and
// ErrSlowConsumer when the frame would take the queued bytes past
// MaxPendingBytes, in which case the connection is dropped; a frame is
// always accepted into an empty queue, however large.
func (c *Conn) Send(frame []byte) error { return c.q.Send(frame) }

// SendHead queues a frame made of head, its first bytes, and body, the
// rest, written as two buffers of one vectored write: a message whose body
// is encoded once for many connections is queued behind a head of each
// one's own, and its body is never copied. head, at most a few hundred
// bytes, is copied and may be reused once SendHead returns; body is kept
// like Send's frame. Errors are Send's.
func (c *Conn) SendHead(head, body []byte) error { return c.q.SendHead(head, body) }

// Batch returns the batch of the connection's reader: the connections its
// session's publishes send to while the reader handles the frames of one
// read, whose writers start once it has handled them all, so that a burst
// of publishes is written to each connection it reaches at once. It is for
// the deliveries of those publishes, made in the reader's goroutine, and
// for nothing else.
func (c *Conn) Batch() *Batch { return &c.batch }

// SendHeadIn is SendHead in a delivery made by a publish during batch b
// (nil for none): the write starts once b's reader has handled its frames.
// With copyBody a frame of at most CopyLimit bytes is copied, body
// included, so that the caller may reuse body once SendHeadIn returns;
// otherwise body is kept.
func (c *Conn) SendHeadIn(b *Batch, head, body []byte, copyBody bool) error {
	return c.q.SendHeadIn(b, head, body, copyBody)
}

// SendDataIn is SendHeadIn for a frame of a protocol carried in the
// connection's data messages, such as the native protocol's MSG: on a
// WebSocket connection, frames sent this way one after another travel in
// one binary message, which the next frame sent another way, or the writer
// starting a write, closes; a client must therefore accept several of the
// protocol's frames in one message. On TCP it is SendHeadIn.
func (c *Conn) SendDataIn(b *Batch, head, body []byte, copyBody bool) error {
	return c.q.SendDataIn(b, head, body, copyBody)
}

// ReadTime returns when the connection's reader read the frame that its
// session is handling: frames read together share it, so that stamping
// them costs one clock reading per read. Only the session may call it,
// from the reader's goroutine, while it handles a frame.
func (c *Conn) ReadTime() time.Time { return c.at }

// Room returns nil when the connection's queue holds no more than its
// low-water mark (a quarter of MaxPendingBytes), or has closed; otherwise a
// channel closed once it does either. A sender that can produce frames
// faster than the client reads them, such as a replay from a store, waits
// on it so as to send only as fast as the connection drains.
func (c *Conn) Room() <-chan struct{} { return c.q.Room() }

// Close closes the connection gracefully because of err: the frames
// already queued are written, then final, the connection's last frame in
// its framing (a fatal ERROR, a WebSocket close frame; nil for none), and
// the connection ends once the client closes its side or CloseTimeout
// passes. Send fails from now on. The session is told err, or ErrClosed
// when err is nil. Closing twice is a no-op.
func (c *Conn) Close(final []byte, err error) {
	if err == nil {
		err = ErrClosed
	}
	c.q.Close(final, err)
}

// Closing reports whether the connection has left the open state.
func (c *Conn) Closing() bool { return c.q.Closing() }

// logger returns the hub's logger with the connection's attributes: the
// group conn with the fields a whispeer server logs for it.
func (c *Conn) logger() *slog.Logger {
	name := c.hub.cfg.Name
	return c.hub.cfg.Logger.With(slog.Group("conn", slog.String("id", name+":"+strconv.FormatUint(c.id, 10)),
		slog.String("remote", c.nc.RemoteAddr().String()), slog.String("transport", name)))
}

// Logger returns the logger of c's hub with c's attributes, for its
// transport's notes about it.
func Logger(c *Conn) *slog.Logger { return c.logger() }

// NetConn returns the network connection under c, for its transport's
// handshake.
func NetConn(c *Conn) net.Conn { return c.nc }

// Live makes keepalive ping c from now on, once its transport knows the
// client speaks its protocol.
func Live(c *Conn) { c.live.Store(true) }

// Preload puts p, bytes read from c by someone else (such as an HTTP
// server reading a handshake), in c's read buffer.
func Preload(c *Conn, p []byte) { c.rb.Preload(p) }

// connEvents is a Conn seen as its queue's Owner, which keeps the Owner's
// methods out of Conn's own.
type connEvents Conn

// Dropped counts and logs a connection dropped because of err.
func (e *connEvents) Dropped(err error) { e.hub.noteDrop((*Conn)(e), err) }

// Flushed gives the client CloseTimeout to close its side, now that the
// last frame of a closing connection is written; with HalfClose it first
// closes the write side, so that the client reads an end of stream behind
// that frame. Reading goes on until then: closing a socket with unread
// bytes would reset it and could destroy the frames just written before
// the client reads them.
func (e *connEvents) Flushed() {
	if cw, ok := e.nc.(interface{ CloseWrite() error }); ok && e.hub.cfg.HalfClose {
		cw.CloseWrite()
	}
	e.nc.SetReadDeadline(time.Now().Add(e.hub.cfg.CloseTimeout))
}

// Wrote counts frames written.
func (e *connEvents) Wrote(frames int) {
	e.hub.Counters.FramesOut.Add(uint64(frames))
	e.hub.Counters.Writes.Add(1)
}

var _ Owner = (*connEvents)(nil)

// Release gives back c's read buffer, for a connection that will not be
// served after all.
func Release(c *Conn) { c.rb.Release() }
