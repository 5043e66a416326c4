package netconn

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// byteConn is a connection of a framing in which every byte is a frame:
// its session echoes each byte, and panics on '!'.
type byteConn struct {
	Conn
	rests  int // the reader's: Rest calls
	loose  int // the reader's: frames handled while its queue was not held
	closed chan error
}

func (c *byteConn) Frame(p []byte) (int, int, error) {
	if p[0] == '!' {
		panic("byteConn: asked to panic")
	}
	c.q.mu.Lock()
	if !c.q.held {
		c.loose++
	}
	c.q.mu.Unlock()
	c.Send(p[:1])
	return 1, 0, nil
}
func (c *byteConn) Rest()               { c.rests++ }
func (c *byteConn) End(err error) error { return err }
func (c *byteConn) Closed(err error)    { c.closed <- err }

// testHub returns a Hub of at most two connections that pings every
// interval, with one-byte control frames.
func testHub(interval time.Duration) *Hub {
	return NewHub(HubConfig{
		Name: "test",
		Options: Options{MaxConnections: 2, MaxPendingBytes: 1 << 20, WriteTimeout: time.Minute,
			MaxStall: -1, PingInterval: interval, CloseTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)},
		Ping: []byte("P"), Goodbye: []byte("G"), Internal: []byte("I"),
	})
}

// serve starts serving one end of a new pipe on h, live or not, and
// returns the connection and the other end.
func serve(t *testing.T, h *Hub, live bool) (*byteConn, net.Conn) {
	t.Helper()
	if !h.Reserve() {
		t.Fatal("Reserve refused a connection under MaxConnections")
	}
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	c := &byteConn{closed: make(chan error, 1)}
	h.Init(&c.Conn, server)
	if live {
		Live(&c.Conn)
	}
	if !h.Add(&c.Conn) {
		t.Fatal("Add refused a connection before Shutdown")
	}
	go h.Serve(&c.Conn, c)
	return c, client
}

// readAll reads what the client gets until the connection ends.
func readAll(t *testing.T, nc net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(nc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestHub_Keepalive checks that a live connection silent for an interval
// is pinged and one that is not live is not, and that both are dropped
// when silent for another. Connecting counts as a sign of life: the first
// tick finds both active.
func TestHub_Keepalive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Second
		h := testHub(interval)
		live, liveClient := serve(t, h, true)
		mute, muteClient := serve(t, h, false)
		start := time.Now()
		got := make(chan string)
		for _, nc := range []net.Conn{liveClient, muteClient} {
			go func() { got <- readAll(t, nc) }()
		}
		if live, mute := <-got, <-got; live+mute != "P" {
			t.Errorf("the connections got %q and %q, want one ping in all, for the live one", live, mute)
		}
		if d := time.Since(start); d != 3*interval {
			t.Errorf("dropped after %v, want three intervals, %v", d, 3*interval)
		}
		for _, c := range []*byteConn{live, mute} {
			if err := <-c.closed; !errors.Is(err, ErrIdle) {
				t.Errorf("Closed(%v), want ErrIdle", err)
			}
		}
		if n := h.Counters.IdleClosed.Load(); n != 2 {
			t.Errorf("IdleClosed = %d, want 2", n)
		}
		if err := h.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHub_BatchAndPanic checks that the frames of one read are handled
// in one batch whose replies leave in one write, and that a panic in the
// session ends the connection with the Internal frame after what was
// queued.
func TestHub_BatchAndPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := testHub(-1)
		c, client := serve(t, h, true)
		if _, err := client.Write([]byte("abc")); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 3)
		if _, err := io.ReadFull(client, got); err != nil || string(got) != "abc" {
			t.Fatalf("read %q, %v; want the echo of abc", got, err)
		}
		synctest.Wait()
		if n := h.Counters.Writes.Load(); n != 1 || c.rests != 1 || c.loose != 0 {
			t.Fatalf("%d writes, %d rests, %d frames handled with the queue not held for one read of three frames; want 1, 1 and 0",
				n, c.rests, c.loose)
		}
		if _, err := client.Write([]byte("d!e")); err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, client); got != "dI" {
			t.Fatalf("after a panic the client got %q, want the echo of d, then I", got)
		}
		if err := <-c.closed; err == nil || !strings.Contains(err.Error(), "panic") {
			t.Fatalf("Closed(%v), want the panic", err)
		}
		if err := h.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// TestHub_ShutdownAndLimit checks that Reserve holds to MaxConnections,
// and that Shutdown writes what is queued, then Goodbye, gives the client
// CloseTimeout to close, and refuses connections from then on.
func TestHub_ShutdownAndLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := testHub(-1)
		c, client := serve(t, h, true)
		_, other := serve(t, h, true)
		go io.Copy(io.Discard, other)
		if h.Reserve() {
			t.Fatal("Reserve accepted a third connection over MaxConnections 2")
		}
		h.Unreserve()
		c.Send([]byte("q"))
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- h.Shutdown(context.Background()) }()
		var got bytes.Buffer
		buf := make([]byte, 1)
		for got.Len() < 2 {
			n, err := client.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			got.Write(buf[:n])
		}
		if got.String() != "qG" {
			t.Fatalf("at shutdown the client got %q, want q, then G", got.String())
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != time.Second {
			t.Fatalf("Shutdown took %v with a client that does not close, want CloseTimeout, 1s", d)
		}
		if err := <-c.closed; !errors.Is(err, ErrShutdown) {
			t.Fatalf("Closed(%v), want ErrShutdown", err)
		}
		var late byteConn
		h.Init(&late.Conn, nil)
		if h.Add(&late.Conn) {
			t.Fatal("Add accepted a connection after Shutdown")
		}
	})
}
