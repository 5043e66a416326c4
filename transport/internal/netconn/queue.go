package netconn

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Errors a Queue returns and reports to its Owner, shared by every
// transport so that one errors.Is holds whichever reported them.
var (
	// ErrClosed is returned by Send on a connection that is closing or
	// closed.
	ErrClosed = errors.New("whispeer: connection closed")
	// ErrSlowConsumer reports a client that did not read fast enough: its
	// queued frames passed MaxPendingBytes or one write took longer than
	// WriteTimeout.
	ErrSlowConsumer = errors.New("whispeer: slow consumer")
	// ErrIdle reports a client that sent nothing, not even a ping's answer,
	// for two ping intervals.
	ErrIdle = errors.New("whispeer: idle connection")
	// ErrShutdown reports a connection closed because the server is shutting
	// down.
	ErrShutdown = errors.New("whispeer: server shutting down")
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
	// Frame, when not nil, appends to dst the header of a message carrying
	// n bytes of data: the frames sent with SendDataIn are gathered into
	// such messages, up to MaxMessage bytes each. WebSocket connections set
	// it, so that a burst of native frames travels in one binary message
	// rather than one message each. A header is at most MaxHeader bytes.
	Frame func(dst []byte, n int) []byte
	// MaxMessage bounds the data in one message that Frame heads; a single
	// larger frame travels alone.
	MaxMessage int
	// MaxStall bounds how long a reader whose Batch filled queues past
	// their high-water mark waits for them, per read (see Room); 0
	// disables flow control.
	MaxStall time.Duration
	// HighWaterBytes is the queued bytes past which a queue stalls the
	// readers sending to it; 0 means MaxPendingBytes/2.
	HighWaterBytes int
	// LowWaterBytes is the queued bytes at or below which a queue has room
	// again; 0 means MaxPendingBytes/4.
	LowWaterBytes int
}

// MaxHeader is the room SendDataIn keeps for the header of a message.
const MaxHeader = 10

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

// Arena sizes. A frame of at most CopyLimit bytes, head and body, is copied
// into the arena, chunks of arenaSize bytes from a pool that go back to it
// once written, and frames copied one after another form one buffer of the
// vectored write: a burst of small frames costs the kernel one buffer, not
// two per frame. A larger frame's body is kept, not copied, behind its head
// in the arena, so that a large message fanned out is never copied.
const arenaSize = 4 << 10

// CopyLimit is the largest frame, head and body together, that the queue
// copies when it is sent: the caller may reuse such a body once the send
// returns. A larger body is kept, and must not be modified.
const CopyLimit = 512

// chunk is a piece of arena. Chunks are shared by every queue through
// chunkPool: a connection holds them only while it has frames to write.
type chunk [arenaSize]byte

var chunkPool = sync.Pool{New: func() any { return new(chunk) }}

// putChunks gives cs back to the pool and empties the list.
func putChunks(cs []*chunk) []*chunk {
	for i, c := range cs {
		chunkPool.Put(c)
		cs[i] = nil
	}
	return cs[:0]
}

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
	held    bool     // a Batch starts the writer when it is flushed
	flush   bool     // Close awaits the writer's Flushed
	state   State
	err     error         // why the connection is closing; the first reason wins
	arena   []byte        // the chunk being filled with heads and small frames
	chunks  []*chunk      // the chunks that the frames in queue are in
	run     int           // index in queue of the entry that ends the arena, or -1
	runAt   int           // where in the arena that entry starts
	inWrite int           // bytes taken by the writer and not yet written
	room    chan struct{} // closed when the queue is back under its low-water mark
	gaveUp  bool          // a reader stalled on the queue for MaxStall (flow.go)

	written []*chunk // the writer's: the chunks of the batch it writes

	// msg is the index in queue of the entry that starts with the room
	// for the header of the message that SendDataIn is filling, or -1;
	// msgLen is the data in that message so far.
	msg, msgLen int

	wbufs net.Buffers // the writer goroutine's batch being written

	raw    syscall.RawConn // for writes that do not wait; nil when nc has none
	inline inlineState     // writeNow's, where the platform has it
}

// Init makes q the queue of nc.
func (q *Queue) Init(nc net.Conn, cfg *Config, owner Owner) {
	q.nc, q.cfg, q.owner = nc, cfg, owner
	q.run, q.msg = -1, -1
	if sc, ok := nc.(syscall.Conn); ok && inlineWrites {
		q.raw, _ = sc.SyscallConn()
	}
}

// Send queues frame, to be written after the frames queued before it. The
// queue keeps frame until it is written: the caller must not modify it,
// and may hand the same bytes to any number of queues. (A frame of at most
// CopyLimit bytes is copied, so that small frames queued one after another
// form one buffer of the write.) Send never blocks on the network. It
// returns ErrClosed once the connection is closing, and ErrSlowConsumer
// when the frame would take the queued bytes past MaxPendingBytes, in which
// case the connection is dropped.
func (q *Queue) Send(frame []byte) error { return q.send(nil, nil, frame, sendFrame) }

// SendHead queues a frame made of head and body, written as two buffers of
// the same vectored write. head is copied, so it may live on the caller's
// stack; body is kept like Send's frame, never copied: a body encoded once
// and fanned out is written from the same memory by every queue.
func (q *Queue) SendHead(head, body []byte) error { return q.send(nil, head, body, 0) }

// SendHeadIn is SendHead made during a reader's batch: unless b is nil, the
// writer starts when b is flushed. With copyBody, a frame of at most
// CopyLimit bytes is copied whole, so that the caller may reuse body once
// SendHeadIn returns; a larger body is kept.
func (q *Queue) SendHeadIn(b *Batch, head, body []byte, copyBody bool) error {
	return q.send(b, head, body, sendFlags(copyBody))
}

// SendDataIn is SendHeadIn for data that the connection frames itself:
// head and body are added to the message being filled (Config.Frame),
// which a complete frame sent after them, or the writer taking the queue,
// closes. Without Config.Frame it is SendHeadIn.
func (q *Queue) SendDataIn(b *Batch, head, body []byte, copyBody bool) error {
	return q.send(b, head, body, sendData|sendFlags(copyBody))
}

// sendFlag says how send queues a frame.
type sendFlag uint8

const (
	sendFrame sendFlag = 1 << iota // a whole frame: copied when small
	sendCopy                       // copy a small body with its head
	sendData                       // data for Config.Frame's messages
)

// sendFlags returns sendCopy when copyBody is set.
func sendFlags(copyBody bool) sendFlag {
	if copyBody {
		return sendCopy
	}
	return 0
}

func (q *Queue) send(b *Batch, head, body []byte, how sendFlag) error {
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
	if how&sendData != 0 && q.cfg.Frame != nil {
		q.openMessage(n)
		q.msgLen += n
	} else {
		q.closeMessage()
	}
	if n <= CopyLimit && how&(sendFrame|sendCopy) != 0 {
		q.copyIn(head, body)
	} else {
		if len(head) > 0 {
			q.copyIn(head, nil)
		}
		q.queue = append(q.queue, body)
		q.run = -1
	}
	q.frames++
	q.pending += n
	start := q.wake(b)
	full := b != nil && q.above()
	q.mu.Unlock()
	if full {
		b.StallOn(q)
	}
	if start {
		q.startWriter()
	}
	return nil
}

// copyIn copies head and body into the arena, behind the queue's last
// entry when that entry ends the arena, or as a new entry; q.mu is held.
func (q *Queue) copyIn(head, body []byte) {
	n := len(head) + len(body)
	if cap(q.arena)-len(q.arena) < n {
		if n <= arenaSize {
			c := chunkPool.Get().(*chunk)
			q.chunks = append(q.chunks, c)
			q.arena = c[:0]
		} else {
			q.arena = make([]byte, 0, n)
		}
		q.run = -1
	}
	if q.run < 0 || q.run != len(q.queue)-1 {
		q.run, q.runAt = len(q.queue), len(q.arena)
		q.queue = append(q.queue, nil)
	}
	q.arena = append(append(q.arena, head...), body...)
	q.queue[q.run] = q.arena[q.runAt:len(q.arena):len(q.arena)]
}

// openMessage makes sure a message is being filled that n more bytes of
// data fit in, closing a full one; q.mu is held.
func (q *Queue) openMessage(n int) {
	if q.msg >= 0 && q.msgLen+n <= q.cfg.MaxMessage {
		return
	}
	q.closeMessage()
	q.run = -1 // the header's room starts an entry of its own
	var room [MaxHeader]byte
	q.copyIn(room[:], nil)
	q.msg, q.msgLen = q.run, 0
	q.pending += MaxHeader
}

// closeMessage writes the header of the message being filled, if any, at
// the end of the room kept for it, and starts its entry there; q.mu is
// held.
func (q *Queue) closeMessage() {
	if q.msg < 0 {
		return
	}
	var hdr [MaxHeader]byte
	h := q.cfg.Frame(hdr[:0], q.msgLen)
	off := MaxHeader - len(h)
	e := q.queue[q.msg]
	copy(e[off:], h)
	q.queue[q.msg] = e[off:]
	if q.run == q.msg {
		q.runAt += off
	}
	q.msg = -1
}

// wake reports whether the caller must start the writer, which it marks as
// running, or holds the queue in b when b is not nil; q.mu is held.
func (q *Queue) wake(b *Batch) bool {
	if q.writing || q.held {
		return false
	}
	if b != nil {
		q.held = true
		b.held = append(b.held, q)
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
	q.wakeRoom()
	q.err = err
	q.flush = true
	q.closeMessage()
	if len(final) > 0 {
		q.queue = append(q.queue, final)
		q.run = -1
		q.frames++
		q.pending += len(final)
	}
	start := q.wake(nil)
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
	q.drop()
	q.wakeRoom()
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
//
// A writer still running then counts once more in Writers until it has
// closed the connection (exit), so that the listener's wait, which the
// reader is about to leave, still covers it and any writer it hands over
// to; once the reader has gone, no writer starts afresh (release).
func (q *Queue) Teardown(err error) error {
	q.mu.Lock()
	if q.err == nil {
		q.err = err
	}
	err = q.err
	q.state = Closed
	q.shut.Store(true)
	q.wakeRoom()
	closeNow := !q.writing
	if !closeNow {
		q.cfg.Writers.Add(1) // the reader's count is still held: safe
	}
	q.mu.Unlock()
	if closeNow {
		q.nc.Close()
	}
	return err
}

// Closing reports whether the connection has left the open state.
func (q *Queue) Closing() bool { return q.shut.Load() }

// Cork holds back the writer until b is flushed, while a reader handles a
// batch of frames, so that the replies to the batch go out in one write.
func (q *Queue) Cork(b *Batch) {
	b.cfg = q.cfg
	q.mu.Lock()
	if !q.held {
		q.held = true
		b.held = append(b.held, q)
	}
	q.mu.Unlock()
}

// release writes what was queued while a Batch held the queue: at once,
// from the flushing goroutine, as far as the socket takes it without
// waiting (writeNow), and through the writer goroutine for the rest.
func (q *Queue) release() {
	q.mu.Lock()
	q.held = false
	if q.state == Closed && !q.writing {
		// The reader has closed the connection and left: nothing more
		// can be written, and no writer may start uncounted.
		q.drop()
		q.mu.Unlock()
		return
	}
	if q.writing || (len(q.queue) == 0 && !q.flush) {
		q.mu.Unlock()
		return
	}
	q.writing = true
	if q.raw != nil && q.state == Open && len(q.queue) > 0 {
		q.writeNow() // releases q.mu
		return
	}
	q.mu.Unlock()
	q.startWriter()
}

// startWriter runs the writer in a goroutine of its own; the caller has set
// q.writing.
func (q *Queue) startWriter() {
	q.cfg.Writers.Add(1)
	go q.writeLoop()
}

// take swaps the queue with batch, emptied, for a write, and takes the
// arena's chunks with it (q.written) to give them back once written; it
// returns the batch and how many frames it holds. q.mu is held.
func (q *Queue) take(batch [][]byte) ([][]byte, int) {
	q.closeMessage()
	batch, q.queue = q.queue, batch[:0]
	q.written, q.chunks = q.chunks, q.written
	q.arena, q.run = nil, -1
	frames := q.frames
	q.inWrite = q.pending
	q.pending, q.frames = 0, 0
	return batch, frames
}

// written marks the batch taken by the writer as written, or given up;
// q.mu is held.
func (q *Queue) wroteBatch() {
	q.inWrite = 0
	q.wakeRoom()
}

// writeLoop writes batches until the queue is empty, then exits. It swaps
// the queue with a spare slice, so that batches reuse two slices, and takes
// the arena's chunks with the batch, to give them back once written.
func (q *Queue) writeLoop() {
	defer q.cfg.Writers.Done()
	q.mu.Lock()
	batch := q.spare
	q.spare = nil
	for len(q.queue) > 0 {
		var frames int
		batch, frames = q.take(batch)
		q.mu.Unlock()
		if err := q.write(batch); err != nil {
			q.Kill(err)
		} else {
			q.owner.Wrote(frames)
		}
		clear(batch)
		q.written = putChunks(q.written)
		q.mu.Lock()
		q.wroteBatch()
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
		q.dropArena()
		if cap(q.chunks) > keepQueue {
			q.chunks = nil
		}
	}
}

// drop forgets what is queued and any flush asked for; q.mu is held.
func (q *Queue) drop() {
	q.flush = false
	clear(q.queue)
	q.queue, q.pending, q.frames, q.msg = q.queue[:0], 0, 0, -1
	q.dropArena()
}

// dropArena gives the arena's chunks back to the pool once nothing queued
// is in them; q.mu is held.
func (q *Queue) dropArena() {
	q.chunks = putChunks(q.chunks)
	q.arena, q.run = nil, -1
}

// exit marks the writer stopped and closes what is left to close; q.mu is
// held and is released.
func (q *Queue) exit() {
	q.writing = false
	state := q.state
	flushed := state == Closing && q.flush
	q.flush = false
	if state != Open {
		q.dropArena()
	}
	q.mu.Unlock()
	switch {
	case state == Closed:
		q.nc.Close()         // the reader has gone: the writer was the last user
		q.cfg.Writers.Done() // the count Teardown handed over
	case flushed:
		q.owner.Flushed()
	}
}

// writeSlice is the most of a batch that one vectored write takes: the
// bytes of a larger batch leave the queue's count (and open its Room) as
// each slice is written, not only once the whole batch is, so that a
// publisher stalled for the queue resumes while the subscriber still has
// bytes to read.
const writeSlice = 256 << 10

// write writes one batch, in vectored writes of at most writeSlice bytes,
// under one write deadline.
func (q *Queue) write(batch [][]byte) error {
	q.nc.SetWriteDeadline(time.Now().Add(q.cfg.WriteTimeout))
	for len(batch) > 0 {
		n, size := 1, len(batch[0])
		for n < len(batch) && size+len(batch[n]) <= writeSlice {
			size += len(batch[n])
			n++
		}
		q.wbufs = batch[:n] // a field, so that WriteTo's receiver does not escape
		_, err := q.wbufs.WriteTo(q.nc)
		q.wbufs = nil
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return fmt.Errorf("%w: write took over %v", ErrSlowConsumer, q.cfg.WriteTimeout)
			}
			return err
		}
		if batch = batch[n:]; len(batch) > 0 {
			q.mu.Lock()
			q.inWrite = max(0, q.inWrite-size)
			q.wakeRoom()
			q.mu.Unlock()
		}
	}
	return nil
}
