package client

import (
	"context"
	"net"
	"net/http"
	"sync"
)

// batchConn is the connection under a WebSocket link. The WebSocket
// library masks what a client sends through a 4 KiB buffer and writes the
// buffer each time it fills, so one batch of frames would cost a write
// every 4 KiB; between hold and release, batchConn gathers those writes
// and makes them one. Outside a batch, writes (the library's pongs and
// close frames) go straight through. Every write takes mu, so bytes reach
// the connection in the order they were written.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	buf     []byte
}

// maxBatchBuffer is the largest buffer batchConn keeps between batches.
const maxBatchBuffer = 1 << 20

// Write implements net.Conn.
func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// hold starts a batch: writes are gathered until release.
func (c *batchConn) hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// release ends a batch, writing what it gathered in one write.
func (c *batchConn) release() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	var err error
	if len(c.buf) > 0 {
		_, err = c.Conn.Write(c.buf)
	}
	c.buf = c.buf[:0]
	if cap(c.buf) > maxBatchBuffer {
		c.buf = nil
	}
	return err
}

// batchingClient returns an HTTP client for one WebSocket handshake, made
// from base (nil: http.DefaultTransport's settings), whose connection is
// a batchConn, opened with dial, that it stores in *bc.
func batchingClient(base *http.Client, dial func(ctx context.Context, network, addr string) (net.Conn, error), bc **batchConn) *http.Client {
	t := http.DefaultTransport.(*http.Transport)
	if base != nil {
		t = base.Transport.(*http.Transport)
	}
	t = t.Clone()
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		*bc = &batchConn{Conn: conn}
		return *bc, nil
	}
	return &http.Client{Transport: t}
}
