package netconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// events records what a Queue tells its owner.
type events struct {
	mu      sync.Mutex
	dropped []error
	wrote   int
	writes  int
	flushed chan struct{}
}

func (e *events) Dropped(err error) {
	e.mu.Lock()
	e.dropped = append(e.dropped, err)
	e.mu.Unlock()
}
func (e *events) Flushed() { close(e.flushed) }
func (e *events) Wrote(n int) {
	e.mu.Lock()
	e.wrote += n
	e.writes++
	e.mu.Unlock()
}

func newQueue(t *testing.T, maxPending int) (*Queue, *events, net.Conn, *sync.WaitGroup) {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	wg := new(sync.WaitGroup)
	ev := &events{flushed: make(chan struct{})}
	q := new(Queue)
	q.Init(server, &Config{MaxPendingBytes: maxPending, WriteTimeout: 10 * time.Second, Writers: wg}, ev)
	return q, ev, client, wg
}

func TestQueue_HeadsBodiesAndCloseInOrder(t *testing.T) {
	q, ev, client, wg := newQueue(t, 1<<20)
	body := []byte("-shared-body")
	var want bytes.Buffer
	var b Batch
	q.Cork(&b)
	for i := range 300 { // more heads than one arena chunk holds
		var head [8]byte
		head[0] = byte(i)
		if err := q.SendHead(head[:], body); err != nil {
			t.Fatal(err)
		}
		head[0] = 0xff // the queue copied it
		want.WriteByte(byte(i))
		want.Write(make([]byte, 7))
		want.Write(body)
	}
	b.Flush()
	q.Close([]byte("bye"), io.EOF)
	want.WriteString("bye")
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes written differ from those queued")
	}
	<-ev.flushed
	if err := q.Send(body); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := q.Teardown(nil); !errors.Is(err, io.EOF) {
		t.Fatalf("Teardown reports %v, want Close's reason", err)
	}
	wg.Wait()
	if ev.wrote != 301 {
		t.Fatalf("Wrote %d frames, want 301", ev.wrote)
	}
}

func TestQueue_SlowConsumer(t *testing.T) {
	q, ev, _, wg := newQueue(t, 1000)
	frame := make([]byte, 600)
	if err := q.Send(frame); err != nil {
		t.Fatal(err) // always accepted into an empty queue
	}
	var err error
	for i := 0; err == nil && i < 10; i++ {
		err = q.Send(frame) // the pipe is never read
	}
	if !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("Send: %v", err)
	}
	wg.Wait()
	if len(ev.dropped) != 1 || !errors.Is(ev.dropped[0], ErrSlowConsumer) {
		t.Fatalf("dropped %v", ev.dropped)
	}
	q.Teardown(nil)
}

// TestBatch_OneWritePerQueue sends to two queues through a Batch, as a
// publisher's reader delivers to subscribers: each queue writes what the
// batch sent in one vectored write, once the batch is flushed.
func TestBatch_OneWritePerQueue(t *testing.T) {
	var b Batch
	type peer struct {
		q      *Queue
		ev     *events
		client net.Conn
		wg     *sync.WaitGroup
	}
	peers := make([]peer, 2)
	for i := range peers {
		q, ev, client, wg := newQueue(t, 1<<20)
		peers[i] = peer{q, ev, client, wg}
	}
	const frames = 50
	for i := range frames {
		for _, p := range peers {
			if err := p.q.SendHeadIn(&b, []byte{byte(i)}, []byte("-body"), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	b.Flush()
	for _, p := range peers {
		got := make([]byte, frames*6)
		if _, err := io.ReadFull(p.client, got); err != nil {
			t.Fatal(err)
		}
		for i := range frames {
			if got[i*6] != byte(i) || string(got[i*6+1:i*6+6]) != "-body" {
				t.Fatalf("frame %d is %q", i, got[i*6:i*6+6])
			}
		}
		p.q.Teardown(nil)
		p.wg.Wait()
		if p.ev.writes != 1 || p.ev.wrote != frames {
			t.Fatalf("%d frames in %d writes, want %d in 1", p.ev.wrote, p.ev.writes, frames)
		}
	}
	if len(b.held) != 0 {
		t.Fatalf("the batch still holds %d queues after Flush", len(b.held))
	}
}

// TestBatch_CloseWhileHeld closes a queue that a batch holds: its queued
// frames and final frame are written once the batch is flushed.
func TestBatch_CloseWhileHeld(t *testing.T) {
	var b Batch
	q, ev, client, wg := newQueue(t, 1<<20)
	if err := q.SendHeadIn(&b, nil, []byte("last"), false); err != nil {
		t.Fatal(err)
	}
	q.Close([]byte("bye"), io.EOF)
	b.Flush()
	got := make([]byte, 7)
	if _, err := io.ReadFull(client, got); err != nil || string(got) != "lastbye" {
		t.Fatalf("read %q, %v", got, err)
	}
	<-ev.flushed
	q.Teardown(nil)
	wg.Wait()
}

// TestBatch_ReaderGoneWhileHeld flushes a batch, another connection's
// reader's, that holds a queue whose own reader has since torn down and
// whose listener may have finished waiting: no writer starts, uncounted,
// on the closed connection, and what was queued is dropped.
func TestBatch_ReaderGoneWhileHeld(t *testing.T) {
	var b Batch
	q, ev, client, wg := newQueue(t, 1<<20)
	if err := q.SendHeadIn(&b, nil, []byte("late"), false); err != nil {
		t.Fatal(err)
	}
	q.Close([]byte("bye"), io.EOF)
	q.Teardown(nil)
	wg.Wait() // the listener's shutdown returns
	b.Flush()
	q.mu.Lock()
	writing, queued := q.writing, len(q.queue)
	q.mu.Unlock()
	if writing || queued != 0 {
		t.Fatalf("after the flush: writer started %v, %d buffers queued", writing, queued)
	}
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("client read: %v, want the connection closed", err)
	}
	select {
	case <-ev.flushed:
		t.Fatal("Flushed reported for a connection closed before its flush")
	default:
	}
}

// TestQueue_CopiesSmallKeepsLarge checks how frames become buffers of the
// vectored write: small frames sent to be copied, whole or with copyBody,
// are copied into one buffer; a large body is queued as it is behind its
// copied head, as is a body sent to be kept, however small.
func TestQueue_CopiesSmallKeepsLarge(t *testing.T) {
	var b Batch
	q, _, client, wg := newQueue(t, 1<<20)
	q.Cork(&b)
	for i := range 10 {
		if i%2 == 0 {
			q.Send([]byte("hsmall"))
		} else {
			q.SendHeadIn(&b, []byte("h"), []byte("small"), true)
		}
	}
	large := bytes.Repeat([]byte("L"), CopyLimit+1)
	q.SendHeadIn(&b, []byte("H"), large, true)
	kept := []byte("kept")
	q.SendHead([]byte("h"), kept)
	q.SendHeadIn(&b, []byte("h"), []byte("after"), true)
	q.mu.Lock()
	bufs := len(q.queue)
	largeKept := &q.queue[1][0] == &large[0]
	smallKept := &q.queue[3][0] == &kept[0]
	q.mu.Unlock()
	if bufs != 5 || !largeKept || !smallKept {
		t.Fatalf("%d buffers (want 5: small frames and the large one's head, its body, a head, the kept body, the last frame), large body kept: %v, small body kept: %v", bufs, largeKept, smallKept)
	}
	b.Flush()
	want := strings.Repeat("hsmall", 10) + "H" + string(large) + "hkept" + "hafter"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(client, got); err != nil || string(got) != want {
		t.Fatalf("read %d bytes, %v: not what was queued", len(got), err)
	}
	q.Teardown(nil)
	wg.Wait()
}

// TestQueue_DataMessages checks how SendDataIn gathers frames into
// messages: one header for the frames sent one after another, a message
// closed by a complete frame and by MaxMessage, and a large body inside a
// message without being copied.
func TestQueue_DataMessages(t *testing.T) {
	var b Batch
	q, _, client, wg := newQueue(t, 1<<20)
	cfg := *q.cfg
	cfg.Frame = func(dst []byte, n int) []byte { return append(dst, '<', byte(n>>8), byte(n)) }
	cfg.MaxMessage = 12
	q.cfg = &cfg
	q.Cork(&b)
	q.SendDataIn(&b, []byte("h"), []byte("aaa"), true) // 4 bytes
	q.SendDataIn(&b, []byte("h"), []byte("bbb"), true) // 8
	q.SendHead(nil, []byte("|"))                       // closes the message
	q.SendDataIn(&b, []byte("h"), []byte("ccc"), true) // 4
	q.SendDataIn(&b, []byte("h"), []byte("ddd"), true) // 8
	q.SendDataIn(&b, []byte("h"), []byte("eee"), true) // 12: still fits
	q.SendDataIn(&b, []byte("h"), []byte("fff"), true) // over MaxMessage: a new one
	large := bytes.Repeat([]byte("L"), CopyLimit+1)
	q.SendDataIn(&b, []byte("H"), large, true) // alone: larger than MaxMessage
	q.SendDataIn(&b, []byte("h"), []byte("ggg"), true)
	b.Flush()
	q.Close(nil, io.EOF)
	want := "<\x00\x08haaahbbb|<\x00\x0chccchdddheee<\x00\x04hfff<\x02\x02H" + string(large) + "<\x00\x04hggg"
	got := make([]byte, len(want))
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("wrote %q,\nwant  %q", got, want)
	}
	q.Teardown(nil)
	wg.Wait()
}
