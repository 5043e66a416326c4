package ws

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// Conn is one WebSocket connection. Its reader goroutine hands complete
// messages to the connection's Session; frames to the client go through
// Send, which queues them for a writer goroutine that runs only while there
// is something to write and flushes each batch with one vectored write.
// Its methods are safe for concurrent use.
type Conn struct {
	h       *Handler
	nc      net.Conn
	id      uint64
	session Session
	act     netconn.Activity
	q       netconn.Queue
	rd      reader // the reader goroutine's state
}

func newConn(h *Handler, nc net.Conn, id uint64) *Conn {
	c := &Conn{h: h, nc: nc, id: id}
	c.q.Init(nc, &h.qcfg, (*connEvents)(c))
	c.rd.c = c
	c.rd.b.Init(nc)
	return c
}

// ID returns the connection's number, unique within its Handler.
func (c *Conn) ID() uint64 { return c.id }

// RemoteAddr returns the client's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// Send queues frame, a complete frame made by Frame or AppendFrame, to be
// written after the frames queued before it. The connection keeps frame
// until it is written: the caller must not modify it, and may hand the same
// bytes to any number of connections. Send never blocks on the network.
// It returns ErrClosed once the connection is closing, and ErrSlowConsumer
// when the frame would take the queued bytes past MaxPendingBytes, in which
// case the connection is dropped; a frame is always accepted into an empty
// queue, however large.
func (c *Conn) Send(frame []byte) error { return c.q.Send(frame) }

// SendHead queues a frame made of head, its first bytes, and body, the
// rest, written as two buffers of one vectored write: a message whose body
// is the same for many connections is queued behind a head of its own on
// each, and its body is never copied. head, at most a few hundred bytes,
// is copied and may be reused once SendHead returns; body is kept like
// Send's frame. Errors are Send's.
func (c *Conn) SendHead(head, body []byte) error { return c.q.SendHead(head, body) }

// CopyLimit is the largest frame, head and body together, that the sends
// made with a context copy when asked to: the caller may reuse the body of
// such a frame once the send returns.
const CopyLimit = netconn.CopyLimit

// ReadTime returns when the connection's reader read the frame that its
// Session is handling: frames read together share it, so that stamping
// them costs one clock reading per read. Only the Session may call it,
// from the reader's goroutine, while it handles a frame.
func (c *Conn) ReadTime() time.Time { return c.rd.at }

// Room returns nil when the connection's queue holds no more than its
// low-water mark (a quarter of MaxPendingBytes), or has closed; otherwise a
// channel closed once it does either. A sender that can produce frames
// faster than the client reads them, such as a replay from a store, waits
// on it so as to send only as fast as the connection drains.
func (c *Conn) Room() <-chan struct{} { return c.q.Room() }

// BatchContext returns a copy of parent that carries the batch of frames
// that the connection's reader is handling. It is for the publishes the
// connection's Session makes while handling a frame, in the reader's
// goroutine, and for nothing else: a SendHeadContext with such a context
// defers the start of the writer until the reader has handled every frame
// of its read, so that a burst of publishes is written to each connection
// it reaches at once.
func (c *Conn) BatchContext(parent context.Context) context.Context {
	return netconn.WithBatch(parent, &c.rd.batch)
}

// Waiter is a queue of the caller's own that a publisher may fill faster
// than a subscriber takes from it, such as a subscriber's messages waiting
// for their acknowledgement window; see StallContext. Its Room returns nil
// when the queue is at or under its low-water mark, or closed, otherwise a
// channel closed once it is; its GiveUp is called when a reader waited
// MaxStall for Room in vain, after which the queue should stall no reader
// again until it is back at its low-water mark, and its own overflow
// policy applies. It is the same type in both transports.
type Waiter = netconn.Waiter

// StallContext is flow control for a queue other than a connection's: a
// delivery made with the context of a publish (a BatchContext of any
// connection) that took w past its high-water mark calls it, and the
// publisher's reader then waits, before it reads again, until w has Room,
// for at most the reader's MaxStall, as it waits for connections' queues.
func StallContext(ctx context.Context, w Waiter) {
	if b := netconn.BatchFrom(ctx); b != nil {
		b.StallOn(w)
	}
}

// SendHeadContext is SendHead in a delivery made with the context of a
// publish: when ctx carries a reader's batch (BatchContext), the write
// starts once that reader has handled its batch. With copyBody a frame of
// at most CopyLimit bytes is copied, body included, so that the caller may
// reuse body once SendHeadContext returns; otherwise body is kept.
func (c *Conn) SendHeadContext(ctx context.Context, head, body []byte, copyBody bool) error {
	return c.q.SendHeadIn(netconn.BatchFrom(ctx), head, body, copyBody)
}

// SendDataContext queues head and body, a frame of a protocol carried in
// binary messages, such as the native protocol's MSG, without a WebSocket
// header of their own: frames sent this way one after another travel in
// one binary message of at most MaxDataMessage bytes, which the next frame
// sent another way, or the writer starting a write, closes. A client must
// therefore accept several of the protocol's frames in one message. head
// is copied, and body kept or copied, as with SendHeadContext; ctx is as
// SendHeadContext's.
func (c *Conn) SendDataContext(ctx context.Context, head, body []byte, copyBody bool) error {
	return c.q.SendDataIn(netconn.BatchFrom(ctx), head, body, copyBody)
}

// SendText frames a copy of payload as a text message and queues it.
func (c *Conn) SendText(payload []byte) error {
	return c.Send(AppendFrame(make([]byte, 0, HeaderRoom+len(payload)), Text, payload))
}

// Close closes the connection gracefully: frames already queued are
// written, then a close frame with code and reason, and the connection is
// closed once the client answers it or CloseTimeout passes. Send fails from
// now on. The Session's Closed reports err, or ErrClosed when err is nil.
// Closing twice is a no-op.
func (c *Conn) Close(code CloseCode, reason string, err error) {
	if err == nil {
		err = ErrClosed
	}
	if c.q.Closing() {
		return
	}
	c.q.Close(frame(opClose, append(make([]byte, HeaderRoom, HeaderRoom+maxControlPayload),
		closePayload(code, reason)...)), err)
}

// kill closes the connection at once, dropping what is queued.
func (c *Conn) kill(err error) { c.q.Kill(err) }

// teardown runs when the reader exits: it records err, marks the
// connection closed and tells the session.
func (c *Conn) teardown(err error) {
	c.rd.b.Release()
	err = c.q.Teardown(err)
	if c.session != nil {
		c.session.Closed(err)
	}
	c.h.remove(c)
}

// closing reports whether the connection has left the open state.
func (c *Conn) closing() bool { return c.q.Closing() }

// logger returns the handler's logger with the connection's attributes: the
// group conn with the fields a whispeer server logs for it (whispeer.ConnInfo).
func (c *Conn) logger() *slog.Logger {
	return c.h.log.With(slog.Group("conn", slog.String("id", "ws:"+strconv.FormatUint(c.id, 10)),
		slog.String("remote", c.nc.RemoteAddr().String()), slog.String("transport", "ws")))
}

// connEvents is a Conn seen as its queue's netconn.Owner, which keeps the
// Owner's methods out of Conn's own.
type connEvents Conn

// Dropped counts and logs a connection dropped because of err.
func (e *connEvents) Dropped(err error) { e.h.noteKill((*Conn)(e), err) }

// Flushed gives the client CloseTimeout to answer the close frame, now
// written.
func (e *connEvents) Flushed() { e.nc.SetReadDeadline(time.Now().Add(e.h.opts.CloseTimeout)) }

// Wrote counts frames written.
func (e *connEvents) Wrote(frames int) {
	e.h.stats.framesOut.Add(uint64(frames))
	e.h.stats.writes.Add(1)
}

var _ netconn.Owner = (*connEvents)(nil)
