package netconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"testing"
	"time"
)

// tcpQueue returns a queue on one end of a loopback TCP connection, which
// can write without waiting, and the other end.
func tcpQueue(t *testing.T) (*Queue, *events, net.Conn, *sync.WaitGroup) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	wg := new(sync.WaitGroup)
	ev := &events{flushed: make(chan struct{})}
	q := new(Queue)
	q.Init(server, &Config{MaxPendingBytes: 64 << 20, WriteTimeout: 10 * time.Second, Writers: wg}, ev)
	return q, ev, client, wg
}

// TestQueue_WriteNow flushes batches on a TCP connection: a small one is
// written by the flushing goroutine itself, and one larger than the socket
// takes at once is finished by the writer goroutine, with what was sent
// meanwhile after it, every byte once and in order.
func TestQueue_WriteNow(t *testing.T) {
	q, ev, client, wg := tcpQueue(t)
	if inlineWrites && q.raw == nil {
		t.Fatal("a TCP connection has no raw conn for inline writes")
	}
	var b Batch
	q.Cork(&b)
	q.SendHead([]byte("small"), nil)
	b.Flush()
	got := make([]byte, 5)
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "small" {
		t.Fatalf("read %q, %v", got, err)
	}

	var want bytes.Buffer
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, more than a socket buffer
	for i := range 8 {
		body := append([]byte{byte(i)}, big...)
		q.SendHeadIn(&b, []byte("head"), body, false)
		want.WriteString("head")
		want.Write(body)
	}
	b.Flush()
	q.SendHead([]byte("after"), nil) // behind what the flush left
	want.WriteString("after")
	read := make([]byte, want.Len())
	if _, err := io.ReadFull(client, read); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read, want.Bytes()) {
		t.Fatal("the bytes read differ from those queued")
	}
	q.Close(nil, io.EOF)
	<-ev.flushed
	q.Teardown(nil)
	wg.Wait()
	if ev.wrote != 10 {
		t.Fatalf("Wrote reported %d frames, want 10", ev.wrote)
	}
}

// TestQueue_WriteNowAfterStaleDeadline checks that a write deadline left
// in the past by an earlier write, as on a connection quiet for longer than
// the write timeout, does not drop the connection: the writer goroutine
// writes the batch under a fresh deadline.
func TestQueue_WriteNowAfterStaleDeadline(t *testing.T) {
	q, ev, client, wg := tcpQueue(t)
	if err := q.nc.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	var b Batch
	q.Cork(&b)
	q.SendHeadIn(&b, []byte("late"), nil, false)
	b.Flush()
	got := make([]byte, 4)
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "late" {
		t.Fatalf("read %q, %v", got, err)
	}
	q.Close(nil, io.EOF)
	<-ev.flushed
	q.Teardown(nil)
	wg.Wait()
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for _, err := range ev.dropped {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("connection dropped: %v", err)
		}
	}
}

// TestQueue_PutBack checks what a partial inline write leaves: the unwritten
// rest of the batch goes in front of what was queued meanwhile, the indices
// into the queue move with it, and the slice of the queue left over
// becomes the spare, emptied, so that the next batch reuses it.
func TestQueue_PutBack(t *testing.T) {
	q := new(Queue)
	meanwhile := make([][]byte, 0, 8)
	meanwhile = append(meanwhile, []byte("d"), []byte("e"))
	q.queue, q.run, q.msg = meanwhile, 1, 0
	q.frames, q.pending = 2, 2

	batch := [][]byte{[]byte("a"), []byte("bb"), []byte("c")}
	q.putBack(batch, skip(batch, 2), 2, 2) // "a" and one byte of "bb" written

	var got []string
	for _, b := range q.queue {
		got = append(got, string(b))
	}
	if want := []string{"b", "c", "d", "e"}; !slices.Equal(got, want) {
		t.Fatalf("queue %q, want %q", got, want)
	}
	if q.run != 3 || q.msg != 2 {
		t.Fatalf("run %d, msg %d; want 3 and 2", q.run, q.msg)
	}
	if q.frames != 4 || q.pending != 4 {
		t.Fatalf("frames %d, pending %d; want 4 and 4", q.frames, q.pending)
	}
	if len(q.spare) != 0 || cap(q.spare) != cap(meanwhile) {
		t.Fatalf("spare len %d cap %d, want the queue's old slice (cap %d), empty", len(q.spare), cap(q.spare), cap(meanwhile))
	}
	if meanwhile[0] != nil || meanwhile[1] != nil {
		t.Fatal("the spare still holds the queue's old entries")
	}
}
