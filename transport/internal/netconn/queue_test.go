package netconn

import (
	"bytes"
	"errors"
	"io"
	"net"
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
	q.Cork()
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
	q.Uncork()
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
