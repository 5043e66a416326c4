package ws

import (
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is one WebSocket connection. Its reader goroutine hands complete
// messages to the connection's Session; frames to the client go through
// Send, which queues them for a writer goroutine that runs only while there
// is something to write and flushes each batch with one vectored write.
// Its methods are safe for concurrent use.
type Conn struct {
	h       *Handler
	nc      net.Conn
	raw     syscall.RawConn // nil when nc does not expose its descriptor
	id      uint64
	session Session

	// active is set by the reader whenever bytes arrive and cleared by the
	// pinger; idle counts the pinger's ticks without activity (pinger only).
	active atomic.Bool
	idle   uint8
	// shut is set once the connection leaves stateOpen, for the reader to
	// check without the lock.
	shut atomic.Bool

	// mu guards the fields below. It is never held during I/O. Lock order:
	// Handler.mu, then Conn.mu.
	mu      sync.Mutex
	queue   [][]byte // frames waiting for the writer
	spare   [][]byte // the writer's batch, kept for reuse when small
	pending int      // bytes in queue
	writing bool     // a writer goroutine is running
	corked  bool     // the reader is handling a batch; it starts the writer after
	state   connState
	err     error // why the connection is closing; the first reason wins

	wbufs net.Buffers // the writer goroutine's batch being written
	rd    reader      // the reader goroutine's state
}

type connState uint8

const (
	stateOpen    connState = iota
	stateClosing           // a close frame is queued or sent; Send refuses
	stateClosed            // the reader has exited
)

// keepQueue is the largest queue capacity kept while a connection is idle.
const keepQueue = 8

func newConn(h *Handler, nc net.Conn, id uint64) *Conn {
	c := &Conn{h: h, nc: nc, id: id}
	c.active.Store(true) // the handshake counts as activity
	if sc, ok := nc.(syscall.Conn); ok && rawReads {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
	c.rd.c = c
	if c.raw != nil {
		c.rd.readFn = c.rd.rawRead
	}
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
func (c *Conn) Send(frame []byte) error {
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.pending > 0 && c.pending+len(frame) > c.h.opts.MaxPendingBytes {
		c.mu.Unlock()
		err := fmt.Errorf("%w: more than %d bytes pending", ErrSlowConsumer, c.h.opts.MaxPendingBytes)
		c.kill(err)
		return err
	}
	start := c.push(frame)
	c.mu.Unlock()
	if start {
		c.startWriter()
	}
	return nil
}

// SendText frames a copy of payload as a text message and queues it.
func (c *Conn) SendText(payload []byte) error {
	return c.Send(AppendFrame(make([]byte, 0, HeaderRoom+len(payload)), Text, payload))
}

// push queues frame; c.mu is held. It reports whether the caller must start
// the writer, which it marks as running.
func (c *Conn) push(frame []byte) bool {
	c.queue = append(c.queue, frame)
	c.pending += len(frame)
	if c.writing || c.corked {
		return false
	}
	c.writing = true
	return true
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
	c.mu.Lock()
	if c.state != stateOpen {
		c.mu.Unlock()
		return
	}
	c.state = stateClosing
	c.shut.Store(true)
	c.err = err
	start := c.push(frame(opClose, append(make([]byte, HeaderRoom, HeaderRoom+maxControlPayload),
		closePayload(code, reason)...)))
	c.mu.Unlock()
	if start {
		c.startWriter()
	}
}

// kill closes the connection at once, dropping what is queued.
func (c *Conn) kill(err error) {
	c.mu.Lock()
	first := c.err == nil
	if first {
		c.err = err
	}
	if c.state == stateOpen {
		c.state = stateClosing
		c.shut.Store(true)
	}
	clear(c.queue)
	c.queue, c.pending = c.queue[:0], 0
	c.mu.Unlock()
	if first {
		c.h.noteKill(c, err)
	}
	c.nc.Close()
}

// startWriter runs the writer in a goroutine of its own; the caller has set
// c.writing.
func (c *Conn) startWriter() {
	c.h.wg.Add(1)
	go c.writeLoop()
}

// writeLoop writes batches until the queue is empty, then exits. It swaps
// the queue with a spare slice, so that batches reuse two slices.
func (c *Conn) writeLoop() {
	defer c.h.wg.Done()
	c.mu.Lock()
	batch := c.spare
	c.spare = nil
	for len(c.queue) > 0 {
		batch, c.queue = c.queue, batch[:0]
		c.pending = 0
		c.mu.Unlock()
		if err := c.write(batch); err != nil {
			c.kill(err)
		}
		clear(batch)
		c.mu.Lock()
	}
	if cap(batch) <= keepQueue {
		c.spare = batch[:0]
	}
	c.writerExit()
}

// writerExit marks the writer stopped and closes what is left to close;
// c.mu is held and is released.
func (c *Conn) writerExit() {
	c.writing = false
	if cap(c.queue) > keepQueue {
		c.queue = nil
	}
	state := c.state
	c.mu.Unlock()
	switch state {
	case stateClosed:
		c.nc.Close() // the reader has gone: the writer was the last user
	case stateClosing:
		// The close frame is out: give the client CloseTimeout to answer.
		c.nc.SetReadDeadline(time.Now().Add(c.h.opts.CloseTimeout))
	}
}

// write writes one batch with a single vectored write under the write
// deadline.
func (c *Conn) write(batch [][]byte) error {
	c.nc.SetWriteDeadline(time.Now().Add(c.h.opts.WriteTimeout))
	c.wbufs = batch // a field, so that WriteTo's receiver does not escape
	_, err := c.wbufs.WriteTo(c.nc)
	c.wbufs = nil
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return fmt.Errorf("%w: write took over %v", ErrSlowConsumer, c.h.opts.WriteTimeout)
		}
		return err
	}
	c.h.stats.framesOut.Add(uint64(len(batch)))
	return nil
}

// cork holds back the writer while the reader handles a batch of frames,
// so that the replies to the batch go out in one write.
func (c *Conn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork starts the writer for what was queued during the batch.
func (c *Conn) uncork() {
	c.mu.Lock()
	c.corked = false
	start := len(c.queue) > 0 && !c.writing
	if start {
		c.writing = true
	}
	c.mu.Unlock()
	if start {
		c.startWriter()
	}
}

// teardown runs when the reader exits: it records err, marks the
// connection closed and tells the session.
func (c *Conn) teardown(err error) {
	c.rd.release()
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	err = c.err
	c.state = stateClosed
	c.shut.Store(true)
	closeNow := !c.writing
	c.mu.Unlock()
	if closeNow {
		c.nc.Close()
	}
	if c.session != nil {
		c.session.Closed(err)
	}
	c.h.remove(c)
}

// closing reports whether the connection has left the open state.
func (c *Conn) closing() bool { return c.shut.Load() }

// logger returns the handler's logger with the connection's attributes.
func (c *Conn) logger() *slog.Logger {
	return c.h.log.With("conn", c.id, "remote", c.nc.RemoteAddr().String())
}
