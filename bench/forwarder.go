package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Forwarder is the ceiling of this machine: a server that only copies the
// bytes it reads from the publisher's socket to every subscriber's socket,
// without parsing, routing or buffering of its own.
//
// Its wire: a client sends one role byte, 'S' (subscriber, answered by
// 'K' once registered) or 'P' (publisher); the publisher then sends frames
// of a 4-byte big-endian length and the payload, which subscribers read
// back unchanged. There are no topics: one publisher at a time.
type Forwarder struct {
	mu   sync.RWMutex
	subs []net.Conn
}

// Serve accepts connections on ln until it is closed.
func (f *Forwarder) Serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go f.handle(c)
	}
}

// handle reads a connection's role and serves it.
func (f *Forwarder) handle(c net.Conn) {
	var role [1]byte
	if _, err := io.ReadFull(c, role[:]); err != nil {
		c.Close()
		return
	}
	switch role[0] {
	case 'S':
		f.mu.Lock()
		f.subs = append(f.subs, c)
		f.mu.Unlock()
		c.Write([]byte{'K'})
	case 'P':
		f.copy(c)
	default:
		c.Close()
	}
}

// copy writes every chunk read from the publisher to every subscriber,
// dropping subscribers whose writes fail.
func (f *Forwarder) copy(pub net.Conn) {
	defer pub.Close()
	buf := make([]byte, 64<<10)
	for {
		n, err := pub.Read(buf)
		if n > 0 {
			f.mu.RLock()
			var failed []net.Conn
			for _, s := range f.subs {
				if _, werr := s.Write(buf[:n]); werr != nil {
					failed = append(failed, s)
				}
			}
			f.mu.RUnlock()
			f.drop(failed)
		}
		if err != nil {
			return
		}
	}
}

// drop unregisters and closes subscribers.
func (f *Forwarder) drop(conns []net.Conn) {
	if len(conns) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range conns {
		c.Close()
		for i, s := range f.subs {
			if s == c {
				f.subs = append(f.subs[:i], f.subs[i+1:]...)
				break
			}
		}
	}
}

// forwarderClient speaks the Forwarder's wire.
type forwarderClient struct {
	conn net.Conn
	role byte
	mu   sync.Mutex // guards role and out
	out  *batcher
	done chan struct{}
}

// dialForwarder connects to a Forwarder at addr.
func dialForwarder(ctx context.Context, addr string) (*forwarderClient, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return &forwarderClient{conn: c, done: make(chan struct{})}, nil
}

// Subscribe implements Client; the topic is ignored.
func (c *forwarderClient) Subscribe(ctx context.Context, topic string, h Handler) error {
	if c.role != 0 {
		return fmt.Errorf("%w: one role per forwarder connection", ErrNotApplicable)
	}
	c.role = 'S'
	if _, err := c.conn.Write([]byte{'S'}); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c.conn, 64<<10)
	if ok, err := br.ReadByte(); err != nil || ok != 'K' {
		return fmt.Errorf("forwarder subscribe: %v", err)
	}
	go c.read(br, h)
	return nil
}

// read delivers frames to h until the connection ends.
func (c *forwarderClient) read(br *bufio.Reader, h Handler) {
	defer close(c.done)
	var hdr [4]byte
	buf := make([]byte, 0, 1024)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:]))
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return
		}
		h(buf)
	}
}

// Publish implements Client: the frame is buffered and written by the
// client's batcher.
func (c *forwarderClient) Publish(ctx context.Context, topic string, p []byte) error {
	c.mu.Lock()
	if c.role == 0 {
		c.role = 'P'
		c.out = newBatcher(c.conn, 32<<10)
		c.out.write(func(w *bufio.Writer) error { return w.WriteByte('P') })
	}
	c.mu.Unlock()
	return c.out.write(func(w *bufio.Writer) error {
		var hdr [4]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(p)))
		w.Write(hdr[:])
		_, err := w.Write(p)
		return err
	})
}

// Flush implements Flusher.
func (c *forwarderClient) Flush(ctx context.Context) error {
	if c.out == nil {
		return nil
	}
	return c.out.flush()
}

// Close implements Client.
func (c *forwarderClient) Close() error {
	if c.out != nil {
		c.out.close()
	}
	return c.conn.Close()
}

var (
	_ Client  = (*forwarderClient)(nil)
	_ Flusher = (*forwarderClient)(nil)
)
