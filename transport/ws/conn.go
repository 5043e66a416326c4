package ws

import (
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// Conn is one WebSocket connection: the connection core that transport/tcp
// shares (its queue and writer, its batches, keepalive, counters), and the
// WebSocket framing. Its reader goroutine hands complete messages to the
// connection's Session; frames to the client go through Send, which queues
// them for a writer goroutine that runs only while there is something to
// write and flushes each batch with one vectored write. Its methods are
// safe for concurrent use.
type Conn struct {
	netconn.Conn
	h       *Handler
	session Session
	skip    int64 // bytes of a refused frame still to discard
	drain   bool  // the stream broke the protocol: discard everything

	msgOp byte   // opcode of the fragmented message being assembled, or 0
	msg   []byte // its payload so far
}

// CopyLimit is the largest frame, head and body together, that the sends
// made with a context copy when asked to: the caller may reuse the body of
// such a frame once the send returns.
const CopyLimit = netconn.CopyLimit

// Waiter is a queue of the caller's own that a publisher may fill faster
// than a subscriber takes from it, such as a subscriber's messages waiting
// for their acknowledgement window; see Stall. Its Room returns nil
// when the queue is at or under its low-water mark, or closed, otherwise a
// channel closed once it is; its GiveUp is called when a reader waited
// MaxStall for Room in vain, after which the queue should stall no reader
// again until it is back at its low-water mark, and its own overflow
// policy applies. It is the same type in both transports.
type Waiter = netconn.Waiter

// Batch is the set of connections a reader's publishes have sent to
// while it handles the frames of one read (Conn.Batch): their writers start
// once the reader has handled them all. It is the same type in both
// transports, so that a delivery from a publisher on one goes in the batch
// of a publisher on the other.
type Batch = netconn.Batch

// Stall is flow control for a queue other than a connection's: a delivery
// made by a publish during batch b that took w past its high-water mark
// calls it, and b's reader then waits, before it reads again, until w has
// Room, for at most the reader's MaxStall, as it waits for connections'
// queues. A nil b, a delivery made outside a reader, stalls nothing.
func Stall(b *Batch, w Waiter) {
	if b != nil {
		b.StallOn(w)
	}
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
	if c.Closing() {
		return
	}
	c.Conn.Close(CloseFrame(code, reason), err)
}

// CloseFrame returns a close frame with code and reason.
func CloseFrame(code CloseCode, reason string) []byte {
	return frame(opClose, append(make([]byte, HeaderRoom, HeaderRoom+maxControlPayload),
		closePayload(code, reason)...))
}
