// Package pipetest provides a net.Listener whose connections are net.Pipe
// pairs, for tests of the transports that run inside a synctest bubble,
// where timers follow the bubble's clock and real sockets cannot be used.
package pipetest

import (
	"context"
	"net"
	"sync"
)

// Listener is a net.Listener whose connections are net.Pipe pairs. It is
// safe for concurrent use.
type Listener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

// NewListener returns an open Listener.
func NewListener() *Listener {
	return &Listener{conns: make(chan net.Conn), done: make(chan struct{})}
}

// Accept returns the server's end of the next Dial, or net.ErrClosed once
// the Listener is closed.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case nc := <-l.conns:
		return nc, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close makes Accept and Dial fail; connections already made stay open.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// Addr returns the address "pipe".
func (l *Listener) Addr() net.Addr { return addr{} }

// Dial hands Accept one end of a new pipe and returns the other.
func (l *Listener) Dial() (net.Conn, error) {
	server, client := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		server.Close()
		client.Close()
		return nil, net.ErrClosed
	}
}

// DialContext is Dial with the signature of net.Dialer.DialContext; it
// ignores its arguments.
func (l *Listener) DialContext(context.Context, string, string) (net.Conn, error) {
	return l.Dial()
}

type addr struct{}

func (addr) Network() string { return "pipe" }
func (addr) String() string  { return "pipe" }
