package netconn

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// tcpPair returns the server and client ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// inQueue returns the bytes waiting to be read on socket fd.
func inQueue(fd uintptr) int {
	var n int32
	syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	return int(n)
}

// waitReadable waits until the server end of a loopback connection has n
// bytes to read, as a reader that had been busy would find them.
func waitReadable(t *testing.T, nc net.Conn, n int) {
	t.Helper()
	raw, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		var got int
		raw.Control(func(fd uintptr) { got = inQueue(fd) })
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes arrived, want %d", got, n)
		}
		time.Sleep(time.Millisecond) // the kernel signals nothing to wait on
	}
}

// forwarder is a framing of 16-byte frames whose session delivers each
// one to other connections in the reader's batch, as a publish reaches its
// subscribers.
type forwarder struct {
	c      *Conn
	to     []*Conn
	closed chan error
}

func (f *forwarder) Frame(p []byte) (int, int, error) {
	if len(p) < 16 {
		return 0, 16, nil
	}
	for _, c := range f.to {
		c.SendHeadIn(f.c.Batch(), nil, p[:16], true)
	}
	return 16, 0, nil
}
func (f *forwarder) Rest()               {}
func (f *forwarder) End(err error) error { return err }
func (f *forwarder) Closed(err error)    { f.closed <- err }

// TestHub_BatchTakesInWhatArrived checks that the frames a reader finds
// already arrived once it has handled a read, more than one buffer's
// worth, are handled in the same batch when they fan out to other
// connections: each of them gets them in one write, not one per read, and
// in order.
func TestHub_BatchTakesInWhatArrived(t *testing.T) {
	h := testHub(-1)
	h.cfg.MaxConnections = 3
	var subs []*byteConn
	var clients []net.Conn
	var to []*Conn
	for range 2 {
		nc, client := tcpPair(t)
		sub := &byteConn{closed: make(chan error, 1)}
		h.Reserve()
		h.Init(&sub.Conn, nc)
		h.Add(&sub.Conn)
		go h.Serve(&sub.Conn, sub)
		subs, clients, to = append(subs, sub), append(clients, client), append(to, &sub.Conn)
	}

	pubNC, pubClient := tcpPair(t)
	const frames = 384 // 6 KiB: more than the first read buffer holds
	stream := make([]byte, 16*frames)
	for i := range stream {
		stream[i] = byte(i / 16)
	}
	if _, err := pubClient.Write(stream); err != nil {
		t.Fatal(err)
	}
	waitReadable(t, pubNC, len(stream))
	pub := &forwarder{c: new(Conn), to: to, closed: make(chan error, 1)}
	h.Reserve()
	h.Init(pub.c, pubNC)
	h.Add(pub.c)
	go h.Serve(pub.c, pub)

	for _, client := range clients {
		got := make([]byte, len(stream))
		if _, err := io.ReadFull(client, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != string(stream) {
			t.Fatal("a subscriber got the frames changed or out of order")
		}
	}
	pubClient.Close()
	if err := <-pub.closed; err != io.EOF {
		t.Fatalf("publisher ended with %v, want io.EOF", err)
	}
	if st := h.Stats(); st.Writes != 2 || st.FramesOut != 2*frames {
		t.Fatalf("%d frames in %d writes, want %d in 2", st.FramesOut, st.Writes, 2*frames)
	}
	for i, client := range clients {
		client.Close()
		<-subs[i].closed
	}
}

// TestReadBuffer_TryFill checks that TryFill takes what has arrived
// without waiting, holds no buffer on a quiet connection, and keeps the
// end of the stream for the next Fill, after the bytes in hand.
func TestReadBuffer_TryFill(t *testing.T) {
	nc, client := tcpPair(t)
	var b ReadBuffer
	b.Init(nc)
	if n := b.TryFill(); n != 0 || b.Buf != nil {
		t.Fatalf("TryFill on a quiet connection read %d bytes, holding a buffer: %v", n, b.Buf != nil)
	}
	client.Write([]byte("abc"))
	waitReadable(t, nc, 3)
	if n, err := b.Fill(); n != 3 || err != nil {
		t.Fatalf("Fill = %d, %v; want 3, nil", n, err)
	}
	client.Write([]byte("de"))
	waitReadable(t, nc, 2)
	if n := b.TryFill(); n != 2 || string(b.Unread()) != "abcde" {
		t.Fatalf("TryFill read %d bytes, in hand %q; want 2, \"abcde\"", n, b.Unread())
	}
	client.Close()
	b.R = b.W
	b.TryFill()
	if n, err := b.Fill(); n != 0 || err != io.EOF {
		t.Fatalf("Fill after the end = %d, %v; want 0, io.EOF", n, err)
	}
	b.Release()
}
