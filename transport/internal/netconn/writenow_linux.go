package netconn

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// inlineWrites tells Init that tryWrite works here.
const inlineWrites = true

// inlineState is writeNow's vector, kept between writes.
type inlineState struct{ iov []syscall.Iovec }

// maxIovecs is the most buffers one writev takes (IOV_MAX).
const maxIovecs = 1024

// tryWrite writes as much of bufs as the socket takes at once, with one
// writev that does not wait, and returns how many bytes it wrote.
func (q *Queue) tryWrite(bufs [][]byte) (int, error) {
	iov := q.inline.iov[:0]
	for _, b := range bufs[:min(len(bufs), maxIovecs)] {
		if len(b) > 0 {
			v := syscall.Iovec{Base: &b[0]}
			v.SetLen(len(b))
			iov = append(iov, v)
		}
	}
	q.inline.iov = iov
	if len(iov) == 0 {
		return 0, nil
	}
	var n uintptr
	var errno syscall.Errno
	err := q.raw.Write(func(fd uintptr) bool {
		for {
			n, _, errno = syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
			if errno != syscall.EINTR {
				return true // never wait: the writer goroutine does that
			}
		}
	})
	clear(q.inline.iov[:len(iov)]) // the buffers may go back to their pools
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The deadline the writer goroutine set for its last write has
		// passed: nothing was written. The writer sets a fresh one.
		return 0, nil
	case err != nil:
		return 0, err
	case errno == syscall.EAGAIN:
		return 0, nil
	case errno != 0:
		return 0, errno
	}
	return int(n), nil
}
