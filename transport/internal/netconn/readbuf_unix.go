//go:build unix

package netconn

import (
	"errors"
	"io"
	"syscall"
)

// rawReads tells Init that readRaw works here.
const rawReads = true

// readRaw waits for the socket to be readable without holding a buffer,
// then takes one and reads what is there with one system call. This is what
// keeps an idle connection free of read buffers.
func (b *ReadBuffer) readRaw() (int, error) {
	b.n, b.rerr = 0, nil
	if err := b.raw.Read(b.readFn); err != nil {
		return 0, err
	}
	return b.n, b.rerr
}

// rawRead is readRaw's callback: it reports false, asking to wait, when the
// socket has nothing to read.
func (b *ReadBuffer) rawRead(fd uintptr) bool {
	if b.Buf == nil {
		b.Acquire()
	}
	return b.readFD(fd)
}

// tryRead is TryFill's callback: it never asks to wait, and takes no
// buffer. It reads into the buffer in hand.
func (b *ReadBuffer) tryRead(fd uintptr) bool {
	if b.Buf != nil {
		b.readFD(fd)
	}
	return true
}

// readFD reads from fd into Buf[W:], recording the outcome in b.n and
// b.rerr; it reports false when fd has nothing to read, giving back a
// buffer with no bytes in hand.
func (b *ReadBuffer) readFD(fd uintptr) bool {
	n, err := syscall.Read(int(fd), b.Buf[b.W:])
	for errors.Is(err, syscall.EINTR) {
		n, err = syscall.Read(int(fd), b.Buf[b.W:])
	}
	switch {
	case errors.Is(err, syscall.EAGAIN):
		if b.R == b.W {
			b.Release()
		}
		return false
	case err != nil:
		b.rerr = err
	case n == 0:
		b.rerr = io.EOF
	default:
		b.n = n
	}
	return true
}
