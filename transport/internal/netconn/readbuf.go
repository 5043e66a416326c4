package netconn

import (
	"net"
	"sync"
	"syscall"
)

// readBufSizes are the sizes of the pooled read buffers. A connection
// starts with the smallest and moves up a size each time one read fills its
// buffer, so that a busy publisher's frames are read, and handled as one
// batch, many at a time; it moves back down after shrinkAfter reads that
// used less than a quarter of the buffer. A frame that does not fit gets a
// larger buffer of its own, grown as its bytes arrive.
var readBufSizes = [...]int{4 << 10, 16 << 10, 64 << 10}

// shrinkAfter is the number of small reads after which a connection's read
// buffer size moves down.
const shrinkAfter = 16

var readBufs [len(readBufSizes)]sync.Pool

// getReadBuf takes a buffer of size class c from the pool.
func getReadBuf(c uint8) *[]byte {
	if p, ok := readBufs[c].Get().(*[]byte); ok {
		return p
	}
	b := make([]byte, readBufSizes[c])
	return &b
}

// putReadBuf gives a pooled buffer back.
func putReadBuf(p *[]byte) {
	for c, n := range readBufSizes {
		if len(*p) == n {
			readBufs[c].Put(p)
			return
		}
	}
}

// ReadBuffer is a connection's read buffer, held only while it has bytes in
// hand: an idle connection holds none. Buf[R:W] are the bytes read and not
// yet consumed; a reader advances R as it handles them. A ReadBuffer
// belongs to its connection's reader goroutine.
type ReadBuffer struct {
	Buf  []byte // nil while no bytes are in hand
	R, W int

	nc     net.Conn
	raw    syscall.RawConn // nil when nc does not expose its descriptor
	pooled *[]byte         // the pool's buffer, when Buf is one
	readFn func(fd uintptr) bool
	n      int // readFn's results
	rerr   error
	later  error // an error that TryFill met, for the next Fill to return
	class  uint8 // the size of the next pooled buffer, in readBufSizes
	small  uint8 // reads in a row that used under a quarter of the buffer
	try    bool  // readFn never waits, and reads only into a buffer in hand
}

// Init makes b read from nc, through its descriptor where the platform
// allows, so that it can wait for bytes without holding a buffer.
func (b *ReadBuffer) Init(nc net.Conn) {
	b.nc = nc
	if sc, ok := nc.(syscall.Conn); ok && rawReads {
		if raw, err := sc.SyscallConn(); err == nil {
			b.raw = raw
			b.readFn = b.rawRead
		}
	}
}

// Unread returns the bytes in hand, Buf[R:W].
func (b *ReadBuffer) Unread() []byte { return b.Buf[b.R:b.W] }

// Fill reads what the connection has into Buf[W:], taking a buffer first
// if none is held, and advances W.
func (b *ReadBuffer) Fill() (int, error) {
	if err := b.later; err != nil {
		b.later = nil
		return 0, err
	}
	var n int
	var err error
	if b.raw != nil {
		n, err = b.readRaw()
	} else {
		if b.Buf == nil {
			b.Acquire()
		}
		n, err = b.nc.Read(b.Buf[b.W:])
	}
	if n > 0 {
		b.W += n
		b.adapt(n)
	}
	return n, err
}

// TryFill is Fill for bytes that have already arrived: it reads what the
// connection has at once, without waiting, and returns 0 when nothing is
// there or the connection cannot be read without waiting. An error is
// kept for the next Fill to return, after the bytes in hand are handled.
func (b *ReadBuffer) TryFill() int {
	if b.raw == nil || b.later != nil {
		return 0
	}
	if b.R == b.W {
		b.R, b.W = 0, 0
	}
	if b.Buf != nil && b.W == len(b.Buf) {
		return 0 // full: the frame in hand has what it needs
	}
	b.n, b.rerr, b.try = 0, nil, true
	err := b.raw.Read(b.readFn)
	b.try = false
	if err != nil {
		b.later = err
		return 0
	}
	if b.rerr != nil {
		b.later = b.rerr
		return 0
	}
	if b.n > 0 {
		b.W += b.n
		b.adapt(b.n)
	}
	return b.n
}

// adapt picks the size of the next pooled buffer after a read of n bytes
// into the current one.
func (b *ReadBuffer) adapt(n int) {
	switch {
	case b.W == len(b.Buf) && b.pooled != nil:
		b.small = 0
		if int(b.class) < len(readBufSizes)-1 {
			b.class++
		}
	case b.class > 0 && n < readBufSizes[b.class]/4:
		if b.small++; b.small >= shrinkAfter {
			b.class--
			b.small = 0
		}
	default:
		b.small = 0
	}
}

// Preload puts p, bytes read from the connection by someone else (such as
// an HTTP server reading a handshake), in hand.
func (b *ReadBuffer) Preload(p []byte) {
	b.Acquire()
	for len(b.Buf) < len(p) {
		b.Room(len(p))
	}
	b.W = copy(b.Buf, p)
}

// Acquire takes a buffer from the pool.
func (b *ReadBuffer) Acquire() {
	b.pooled = getReadBuf(b.class)
	b.Buf, b.R, b.W = *b.pooled, 0, 0
}

// Release drops the buffer, returning it to the pool if it came from there.
func (b *ReadBuffer) Release() {
	if b.pooled != nil {
		putReadBuf(b.pooled)
	}
	b.pooled, b.Buf, b.R, b.W = nil, nil, 0, 0
}

// Room makes Buf able to hold need bytes from R: it moves the unread bytes
// to the front, then grows the buffer, at most doubling it, so that memory
// follows the bytes that arrive rather than a length that a header
// declares. A reader calls it each time it needs more, and reads again.
func (b *ReadBuffer) Room(need int) {
	if b.Buf == nil {
		b.Acquire()
	}
	if b.R > 0 {
		n := copy(b.Buf, b.Buf[b.R:b.W])
		b.R, b.W = 0, n
	}
	if need <= len(b.Buf) {
		return
	}
	nb := make([]byte, min(need, 2*len(b.Buf)))
	copy(nb, b.Buf[:b.W])
	w := b.W
	b.Release()
	b.Buf, b.W = nb, w
}
