//go:build unix

package ws

import (
	"errors"
	"io"
	"syscall"
)

// rawReads tells newConn that readRaw works here.
const rawReads = true

// readRaw waits for the socket to be readable without holding a buffer,
// then takes one and reads what is there with one system call. This is what
// keeps an idle connection free of read buffers.
func (rd *reader) readRaw() (int, error) {
	rd.n, rd.rerr = 0, nil
	if err := rd.c.raw.Read(rd.readFn); err != nil {
		return 0, err
	}
	return rd.n, rd.rerr
}

// rawRead is readRaw's callback: it reports false, asking to wait, when the
// socket has nothing to read.
func (rd *reader) rawRead(fd uintptr) bool {
	if rd.buf == nil {
		rd.acquire()
	}
	n, err := syscall.Read(int(fd), rd.buf[rd.w:])
	for errors.Is(err, syscall.EINTR) {
		n, err = syscall.Read(int(fd), rd.buf[rd.w:])
	}
	switch {
	case errors.Is(err, syscall.EAGAIN):
		if rd.r == rd.w {
			rd.release()
		}
		return false
	case err != nil:
		rd.rerr = err
	case n == 0:
		rd.rerr = io.EOF
	default:
		rd.n = n
	}
	return true
}
