package netconn

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Errors a Queue returns and reports to its Owner.
var (
	// ErrClosed is returned by Send on a connection that is closing or
	// closed.
	ErrClosed = errors.New("whispeer: connection closed")
	// ErrSlowConsumer reports a client that did not read fast enough: its
	// queued frames passed MaxPendingBytes or one write took longer than
	// WriteTimeout.
	ErrSlowConsumer = errors.New("whispeer: slow consumer")
)

// Config holds the writer settings that the connections of one listener
// share.
type Config struct {
	// MaxPendingBytes bounds the bytes queued for one connection; one frame
	// is always accepted into an empty queue, however large.
	MaxPendingBytes int
	// WriteTimeout bounds one vectored write.
	WriteTimeout time.Duration
	// Writers counts the running writer goroutines, so that a listener can
	// wait for them.
	Writers *sync.WaitGroup
}

// Owner is told what becomes of a Queue's connection. Its methods are
// called without the queue's lock held, from the goroutine that noticed.
type Owner interface {
	// Dropped reports that the connection was closed at once because of
	// err, a slow consumer or a failed write; it is called for the first
	// reason only, and not when the connection was closing already.
	Dropped(err error)
	// Flushed reports that the queue of a connection being closed with
	// Close has been written, its last frame included.
	Flushed()
	// Wrote reports frames written by one vectored write.
	Wrote(frames int)
}

// State is where a connection is in its life.
type State uint8

// The states of a Queue.
const (
	Open    State = iota
	Closing       // Close or Kill was called; Send refuses
	Closed        // the reader has exited
)

// keepQueue is the largest queue capacity that Trim keeps.
const keepQueue = 8

// Arena sizes: heads up to maxArenaHead bytes are copied into chunks of
// arenaSize bytes, reused once the queue has been written out.
const (
	arenaSize    = 1 << 10
	maxArenaHead = 256
)

// Queue is a connection's outbound frames and the writer goroutine that
// flushes them. The zero Queue is not usable: call Init.
type Queue struct {
	nc    net.Conn
	cfg   *Config
	owner Owner
	// shut is set once the connection leaves Open, for readers to check
	// without the lock.
	shut atomic.Bool

	// mu guards the fields below. It is never held during I/O.
	mu      sync.Mutex
	queue   [][]byte // buffers waiting for the writer
	spare   [][]byte // the writer's batch, kept for reuse when small
	frames  int      // frames in queue; a head and its body count once
	pending int      // bytes in queue
	writing bool     // a writer goroutine is running
	corked  bool     // a reader is handling a batch; it starts the writer after
	flush   bool     // Close awaits the writer's Flushed
	state   State
	err     error  // why the connection is closing; the first reason wins
	arena   []byte // copies of the heads in queue

	wbufs net.Buffers // the writer goroutine's batch being written
}

// Init makes q the queue of nc.
func (q *Queue) Init(nc net.Conn, cfg *Config, owner Owner) {
	q.nc, q.cfg, q.owner = nc, cfg, owner
}

// Send queues frame, to be written after the frames queued before it. The
// queue keeps frame until it is written: the caller must not modify it,
// and may hand the same bytes to any number of queues. Send never blocks on
// the network. It returns ErrClosed once the connection is closing, and
// ErrSlowConsumer when the frame would take the queued bytes past
// MaxPendingBytes, in which case the connection is dropped.
func (q *Queue) Send(frame []byte) error { return q.send(nil, frame) }

// SendHead queues a frame made of head and body, written as two buffers of
// the same vectored write. head is copied, so it may live on the caller's
// stack; body is kept like Send's frame.
func (q *Queue) SendHead(head, body []byte) error { return q.send(head, body) }

func (q *Queue) send(head, body []byte) error {
	q.mu.Lock()
	if q.state != Open {
		q.mu.Unlock()
		return ErrClosed
	}
	n := len(head) + len(body)
	if q.pending > 0 && q.pending+n > q.cfg.MaxPendingBytes {
		q.mu.Unlock()
		err := fmt.Errorf("%w: more than %d bytes pending", ErrSlowConsumer, q.cfg.MaxPendingBytes)
		q.Kill(err)
		return err
	}
	if len(head) > 0 {
		q.queue = append(q.queue, q.copyHead(head))
	}
	if len(body) > 0 {
		q.queue = append(q.queue, body)
	}
	q.frames++
	q.pending += n
	start := q.wake()
	q.mu.Unlock()
	if start {
		q.startWriter()
	}
	return nil
}

// copyHead returns a copy of h in the arena; q.mu is held.
func (q *Queue) copyHead(h []byte) []byte {
	if len(h) > maxArenaHead {
		return append([]byte(nil), h...)
	}
	if cap(q.arena)-len(q.arena) < len(h) {
		q.arena = make([]byte, 0, arenaSize)
	}
	n := len(q.arena)
	q.arena = append(q.arena, h...)
	return q.arena[n:len(q.arena):len(q.arena)]
}

// wake reports whether the caller must start the writer, which it marks as
// running; q.mu is held.
func (q *Queue) wake() bool {
	if q.writing || q.corked {
		return false
	}
	q.writing = true
	return true
}

// Close closes the connection gracefully: the frames queued are written,
// then final (if not nil), and then the Owner's Flushed is called. Send
// fails from now on; err is the reason the connection reports. Close
// reports false, doing nothing, when the connection was not open.
func (q *Queue) Close(final []byte, err error) bool {
	q.mu.Lock()
	if q.state != Open {
		q.mu.Unlock()
		return false
	}
	q.state = Closing
	q.shut.Store(true)
	q.err = err
	q.flush = true
	if len(final) > 0 {
		q.queue = append(q.queue, final)
		q.frames++
		q.pending += len(final)
	}
	start := q.wake()
	q.mu.Unlock()
	if start {
		q.startWriter()
	}
	return true
}

// Kill closes the connection at once because of err, dropping what is
// queued.
func (q *Queue) Kill(err error) {
	q.mu.Lock()
	first := q.err == nil
	if first {
		q.err = err
	}
	if q.state == Open {
		q.state = Closing
		q.shut.Store(true)
	}
	q.flush = false
	clear(q.queue)
	q.queue, q.pending, q.frames = q.queue[:0], 0, 0
	q.mu.Unlock()
	if first {
		q.owner.Dropped(err)
	}
	q.nc.Close()
}

// Teardown is called by the reader on its way out: it records err unless
// another reason came first, marks the connection closed, closes it unless
// the writer still runs (the writer closes it then), and returns the
// reason the connection ended.
func (q *Queue) Teardown(err error) error {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	err = q.err
	q.state = Closed
	q.shut.Store(true)
	closeNow := !q.writing
	q.mu.Unlock()
	if closeNow {
		q.nc.Close()
	}
	return err
}

// Closing reports whether the connection has left the open state.
func (q *Queue) Closing() bool { return q.shut.Load() }

// Cork holds back the writer while a reader handles a batch of frames, so
// that the replies to the batch go out in one write.
func (q *Queue) Cork() {
	q.mu.Lock()
	q.corked = true
	q.mu.Unlock()
}

// Uncork starts the writer for what was queued during the batch.
func (q *Queue) Uncork() {
	q.mu.Lock()
	q.corked = false
	start := !q.writing && (len(q.queue) > 0 || q.flush)
	if start {
		q.writing = true
	}
	q.mu.Unlock()
	if start {
		q.startWriter()
	}
}

// startWriter runs the writer in a goroutine of its own; the caller has set
// q.writing.
func (q *Queue) startWriter() {
	q.cfg.Writers.Add(1)
	go q.writeLoop()
}

// writeLoop writes batches until the queue is empty, then exits. It swaps
// the queue with a spare slice, so that batches reuse two slices.
func (q *Queue) writeLoop() {
	defer q.cfg.Writers.Done()
	q.mu.Lock()
	batch := q.spare
	q.spare = nil
	for len(q.queue) > 0 {
		batch, q.queue = q.queue, batch[:0]
		frames := q.frames
		q.pending, q.frames = 0, 0
		q.mu.Unlock()
		if err := q.write(batch); err != nil {
			q.Kill(err)
		} else {
			q.owner.Wrote(frames)
		}
		clear(batch)
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.arena = q.arena[:0] // no head in it is queued any more
		}
	}
	q.spare = batch[:0] // until Trim
	q.exit()
}

// Trim drops the queue's spare capacity, grown by a burst of frames, unless
// the writer is running: a connection that bursts again grows it again,
// at most once per Trim. A listener calls it for every connection on each
// keepalive tick.
func (q *Queue) Trim() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.writing {
		return
	}
	if cap(q.spare) > keepQueue {
		q.spare = nil
	}
	if len(q.queue) == 0 {
		if cap(q.queue) > keepQueue {
			q.queue = nil
		}
		q.arena = nil
	}
}

// exit marks the writer stopped and closes what is left to close; q.mu is
// held and is released.
func (q *Queue) exit() {
	q.writing = false
	state := q.state
	flushed := state == Closing && q.flush
	q.flush = false
	if state != Open {
		q.arena = nil
	}
	q.mu.Unlock()
	switch {
	case state == Closed:
		q.nc.Close() // the reader has gone: the writer was the last user
	case flushed:
		q.owner.Flushed()
	}
}

// write writes one batch with a single vectored write under the write
// deadline.
func (q *Queue) write(batch [][]byte) error {
	q.nc.SetWriteDeadline(time.Now().Add(q.cfg.WriteTimeout))
	q.wbufs = batch // a field, so that WriteTo's receiver does not escape
	_, err := q.wbufs.WriteTo(q.nc)
	q.wbufs = nil
	if err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return fmt.Errorf("%w: write took over %v", ErrSlowConsumer, q.cfg.WriteTimeout)
		}
		return err
	}
	return nil
}
