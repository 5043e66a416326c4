package netconn

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// flowConfig is a writer configuration with flow control: a queue stalls
// its senders past 16 KiB and has room again at 8 KiB.
func flowConfig(wg *sync.WaitGroup) *Config {
	return &Config{
		MaxPendingBytes: 64 << 10, HighWaterBytes: 16 << 10, LowWaterBytes: 8 << 10,
		MaxStall: time.Second, WriteTimeout: 10 * time.Second, Writers: wg,
	}
}

// flowQueue returns a queue on one end of a pipe, and the other end.
func flowQueue(t *testing.T, cfg *Config) (*Queue, *events, net.Conn) {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close(); server.Close() })
	ev := &events{flushed: make(chan struct{})}
	q := new(Queue)
	q.Init(server, cfg, ev)
	return q, ev, client
}

// publish sends n bytes to sub in a batch of pub's reader, flushes it and
// returns how long the flush held the reader.
func publish(t *testing.T, pub, sub *Queue, n int) time.Duration {
	t.Helper()
	var b Batch
	pub.Cork(&b)
	if err := sub.SendHeadIn(&b, nil, make([]byte, n), false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	b.Flush()
	return time.Since(start)
}

// TestFlow_StuckSubscriber checks that a subscriber that never reads holds
// its publisher up for MaxStall once, not at every read, and is dropped as
// a slow consumer when its write has taken WriteTimeout.
func TestFlow_StuckSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		cfg := flowConfig(&wg)
		pub, _, _ := flowQueue(t, cfg)
		sub, ev, _ := flowQueue(t, cfg) // never read
		if d := publish(t, pub, sub, 4<<10); d != 0 {
			t.Fatalf("stalled %v under the high-water mark", d)
		}
		if d := publish(t, pub, sub, 20<<10); d != cfg.MaxStall {
			t.Fatalf("stalled %v past the high-water mark, want MaxStall %v", d, cfg.MaxStall)
		}
		if d := publish(t, pub, sub, 4<<10); d != 0 {
			t.Fatalf("stalled %v again on a queue given up on", d)
		}
		time.Sleep(cfg.WriteTimeout)
		synctest.Wait()
		ev.mu.Lock()
		defer ev.mu.Unlock()
		if len(ev.dropped) != 1 || !errors.Is(ev.dropped[0], ErrSlowConsumer) {
			t.Fatalf("dropped %v, want a slow consumer", ev.dropped)
		}
		wg.Wait()
	})
}

// TestFlow_ReadingSubscriber checks that a publisher filling the queue of
// a subscriber that reads waits until the subscriber has read it down to
// the low-water mark, and that the queue stalls it again next time.
func TestFlow_ReadingSubscriber(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		cfg := flowConfig(&wg)
		pub, _, _ := flowQueue(t, cfg)
		sub, ev, client := flowQueue(t, cfg)
		const lag = 300 * time.Millisecond
		stop := make(chan struct{})
		go func() {
			for {
				select { // a subscriber slower than its publisher
				case <-time.After(lag):
				case <-stop:
					return
				}
				if _, err := io.CopyN(io.Discard, client, 20<<10); err != nil {
					return
				}
			}
		}()
		for range 3 {
			if d := publish(t, pub, sub, 20<<10); d != lag {
				t.Fatalf("stalled %v, want until the subscriber read, %v", d, lag)
			}
		}
		ev.mu.Lock()
		defer ev.mu.Unlock()
		if len(ev.dropped) != 0 || ev.wrote != 3 {
			t.Fatalf("dropped %v, wrote %d frames; want none dropped, 3 written", ev.dropped, ev.wrote)
		}
		close(stop)
		wg.Wait()
	})
}

// TestFlow_RoomAsSlicesAreWritten checks that a large batch leaves the
// queue's count a slice at a time: the queue has room again once the
// subscriber has read enough of the batch, before it has read all of it.
func TestFlow_RoomAsSlicesAreWritten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var wg sync.WaitGroup
		cfg := &Config{MaxPendingBytes: 4 << 20, MaxStall: time.Second, WriteTimeout: 10 * time.Second, Writers: &wg}
		q, _, client := flowQueue(t, cfg)
		var b Batch
		q.Cork(&b)
		for range 6 { // 1.5 MiB in one batch, over the low-water mark of 1 MiB
			if err := q.SendHeadIn(&b, nil, make([]byte, writeSlice), false); err != nil {
				t.Fatal(err)
			}
		}
		b.Flush()
		room := q.Room()
		if room == nil {
			t.Fatal("room with 1.5 MiB being written")
		}
		if _, err := io.CopyN(io.Discard, client, 2*writeSlice); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case <-room:
		default:
			t.Fatal("no room with 1 MiB of the batch left to write")
		}
		if _, err := io.CopyN(io.Discard, client, 4*writeSlice); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	})
}
