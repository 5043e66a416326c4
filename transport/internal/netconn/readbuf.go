package netconn

import (
	"net"
	"sync"
	"syscall"
)

// ReadBufSize is the size of the pooled read buffers. A frame that does not
// fit gets a larger buffer of its own, grown as its bytes arrive.
const ReadBufSize = 4 << 10

var readBufs = sync.Pool{New: func() any {
	b := make([]byte, ReadBufSize)
	return &b
}}

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
	}
	return n, err
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
	b.pooled = readBufs.Get().(*[]byte)
	b.Buf, b.R, b.W = *b.pooled, 0, 0
}

// Release drops the buffer, returning it to the pool if it came from there.
func (b *ReadBuffer) Release() {
	if b.pooled != nil {
		readBufs.Put(b.pooled)
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
