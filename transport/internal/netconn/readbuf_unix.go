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
// socket has nothing to read, unless b.try is set (TryFill), which never
// waits and reads only into a buffer in hand.
func (b *ReadBuffer) rawRead(fd uintptr) bool {
	if b.Buf == nil {
		if b.try {
			return true
		}
		b.Acquire()
	}
	n, err := syscall.Read(int(fd), b.Buf[b.W:])
	for errors.Is(err, syscall.EINTR) {
		n, err = syscall.Read(int(fd), b.Buf[b.W:])
	}
	switch {
	case errors.Is(err, syscall.EAGAIN):
		if b.R == b.W {
			b.Release()
		}
		return b.try
	case err != nil:
		b.rerr = err
	case n == 0:
		b.rerr = io.EOF
	default:
		b.n = n
	}
	return true
}
