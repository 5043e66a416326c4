package redis

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// TestLostConnection: a broken connection is worth one more try of a call
// that may be repeated; a timeout or a reply from Redis is not.
func TestLostConnection(t *testing.T) {
	reset := &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
	timeout := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{reset, true},
		{fmt.Errorf("call: %w", reset), true},
		{io.EOF, true},
		{net.ErrClosed, true},
		{timeout, false},
		{context.DeadlineExceeded, false},
		{errors.New("ERR unknown command"), false},
	} {
		if got := lostConnection(c.err); got != c.want {
			t.Errorf("lostConnection(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
