package tcp

import (
	"net"
	"sync"
	"testing"
)

// pipeListener is a net.Listener whose connections are net.Pipe pairs: a
// harness on it runs inside a synctest bubble, where timers follow the
// bubble's clock, which real sockets do not allow.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case nc := <-l.conns:
		return nc, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial hands the server one end of a new pipe and returns the other.
func (l *pipeListener) dial() (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// newPipeHarness is newHarness on a pipeListener; run it inside
// synctest.Test.
func newPipeHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	pl := newPipeListener()
	hs := newHarness(t, opts, func(net.Listener) net.Listener { return pl })
	hs.pipe = pl
	return hs
}
