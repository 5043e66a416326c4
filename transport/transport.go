// Package transport is what a server sees of a client connection, whatever
// carries it: a [Conn] is the same type under transport/tcp and
// transport/ws, so that a session holds one connection and sends to it
// without asking which transport it is.
//
// A Conn queues the frames sent to it, in its transport's framing, for a
// writer goroutine that runs only while there is something to write and
// flushes each batch with one vectored write; it never blocks its sender
// on the network. The publishes a connection's reader makes while it
// handles the frames of one read send through its [Batch] (Conn.Batch,
// Conn.SendHeadIn): the writers of the connections they reach start once
// the reader has handled them all, and a queue they fill past its
// high-water mark holds the reader back (flow control; [Stall] does the
// same for a queue of the caller's own, a [Waiter]).
//
// The framing, handshake and listener are the transports': transport/tcp
// for the native protocol over TCP, transport/ws for WebSocket. Both build
// on one connection core, so that their queues, batches, keepalive and
// counters behave alike.
package transport

import "github.com/whispeer-io/whispeer/transport/internal/netconn"

// Conn is one client connection of a tcp.Server or a ws.Handler. Its
// methods are safe for concurrent use:
//
//   - ID, RemoteAddr and Transport ("tcp" or "ws") describe it.
//   - Send queues a complete frame, and SendHead a frame made of a head,
//     copied, and a body, kept: a body encoded once is queued on every
//     connection it goes to behind a head of each one's own.
//   - SendHeadIn and SendDataIn are SendHead in a delivery made by a
//     publish during a reader's Batch; SendDataIn gathers the frames of a
//     protocol carried in data messages (the native protocol's MSG on
//     WebSocket) into one message.
//   - Batch returns the batch of the connection's reader, for the
//     deliveries of the publishes its session makes.
//   - ReadTime returns when the frame being handled was read, and Room
//     lets a producer such as a replay wait for the queue to drain.
//   - Close closes the connection gracefully after a last frame of its
//     transport's framing, and Closing reports whether it has begun to.
type Conn = netconn.Conn

// Options configure the connections of one listener, whatever carries
// them: tcp.Options and ws.Options embed them beside their framing's own.
// Zero fields take the defaults below. Its fields:
//
//   - MaxConnections bounds the connections open at once; a further one is
//     refused (with a fatal ERROR "limit" on TCP, 503 on WebSocket).
//   - MaxPendingBytes bounds the bytes queued for one connection; a client
//     that falls that far behind is disconnected as a slow consumer. One
//     frame is always accepted into an empty queue, however large.
//   - WriteTimeout bounds one write; a client slower than that is
//     disconnected as a slow consumer.
//   - MaxStall bounds how long the reader of a connection whose frames
//     filled other connections' queues past half of their MaxPendingBytes
//     waits, before it reads again, for them to drain to a quarter (flow
//     control). Negative disables flow control.
//   - PingInterval is how often connections that sent nothing since the
//     last tick are pinged; one that stays silent for another interval is
//     closed. Negative disables keepalive.
//   - CloseTimeout is how long a closing connection waits, once its last
//     frame is written, for the client to close its side (on WebSocket, to
//     answer the close frame).
//   - Logger receives slow-consumer disconnects and other notable events;
//     the default is slog.Default().
type Options = netconn.Options

// Defaults for Options.
const (
	DefaultMaxConnections  = netconn.DefaultMaxConnections
	DefaultMaxPendingBytes = netconn.DefaultMaxPendingBytes
	DefaultWriteTimeout    = netconn.DefaultWriteTimeout
	DefaultMaxStall        = netconn.DefaultMaxStall
	DefaultPingInterval    = netconn.DefaultPingInterval
	DefaultCloseTimeout    = netconn.DefaultCloseTimeout
)

// Stats counts the connections of a tcp.Server or a ws.Handler and their
// traffic: Open, Accepted, Rejected (for MaxConnections), Refused (by the
// handshake: first bytes not native on TCP, Origin not allowed on
// WebSocket), SlowConsumers, IdleClosed, Violations (connections closed for
// breaking the protocol), FramesIn (frames on TCP, data messages on
// WebSocket), FramesOut and Writes (the vectored writes that carried them).
type Stats = netconn.Stats

// Batch is the set of connections a reader's publishes have sent to while
// it handles the frames of one read (Conn.Batch): their writers start once
// the reader has handled them all.
type Batch = netconn.Batch

// Waiter is a queue of the caller's own that a publisher may fill faster
// than a subscriber takes from it, such as a subscriber's messages waiting
// for their acknowledgement window; see Stall. Its Room returns nil when
// the queue is at or under its low-water mark, or closed, otherwise a
// channel closed once it is; its GiveUp is called when a reader waited
// MaxStall for Room in vain, after which the queue should stall no reader
// again until it is back at its low-water mark, and its own overflow
// policy applies.
type Waiter = netconn.Waiter

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

// CopyLimit is the largest frame, head and body together, that SendHeadIn
// and SendDataIn copy when asked to: the caller may reuse the body of such
// a frame once the send returns.
const CopyLimit = netconn.CopyLimit

// Errors a connection reports to its session, and that its sends return.
var (
	// ErrClosed is returned by a send on a connection that is closing or
	// closed, and reported for a connection closed without a reason.
	ErrClosed = netconn.ErrClosed
	// ErrSlowConsumer reports a client that did not read fast enough: its
	// queued frames passed MaxPendingBytes or one write took longer than
	// WriteTimeout.
	ErrSlowConsumer = netconn.ErrSlowConsumer
	// ErrIdle reports a client that sent nothing, not even the answer to a
	// ping, for two ping intervals.
	ErrIdle = netconn.ErrIdle
	// ErrShutdown reports a connection closed because the server is shutting
	// down.
	ErrShutdown = netconn.ErrShutdown
)
