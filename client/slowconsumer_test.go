package client

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// stuckReader is a connection's reader fed through a pipe, for a
// subscription with a queue of 4 whose handler never returns (until the
// subscription ends).
type stuckReader struct {
	c       *Client
	s       *Subscription
	cn      *conn
	server  net.Conn // the server's end of the pipe
	dropped atomic.Int64
	exited  chan struct{} // closed when the reader has returned
}

func newStuckReader(t *testing.T) *stuckReader {
	r := &stuckReader{exited: make(chan struct{})}
	c := &Client{cfg: defaultConfig(), subs: make(map[uint32]*Subscription)}
	c.cfg.onError = func(err error) {
		if errors.Is(err, ErrSlowConsumer) {
			r.dropped.Add(1)
		}
	}
	s, err := c.newSubscription("stuck", func(ctx context.Context, _ *Message) error {
		<-ctx.Done()
		return nil
	}, []SubscribeOption{WithQueueSize(4), WithMaxQoS(AtMostOnce)})
	if err != nil {
		t.Fatal(err)
	}
	s.sid = 1
	c.subs[1] = s
	client, server := net.Pipe()
	cn := &conn{rd: wire.NewReaderSize(client, 0, readBuffer), gen: 1, done: make(chan struct{})}
	c.wg.Add(2)
	go s.run()
	go func() {
		c.readLoop(cn)
		close(r.exited)
	}()
	r.c, r.s, r.cn, r.server = c, s, cn, server
	t.Cleanup(func() {
		server.Close()
		s.end(nil)
		c.wg.Wait()
	})
	return r
}

// send writes n MSG frames, one write each.
func (r *stuckReader) send(t *testing.T, n int) {
	for range n {
		b, err := wire.AppendMessage(nil, &wire.Message{SID: 1, Topic: []byte("stuck"), ID: []byte("id"), Payload: []byte("x")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.server.Write(b); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClient_SlowConsumerWaitBound checks that a handler that never
// returns holds the connection's reader up once, for the subscription's
// wait, after which what does not fit is dropped at once, and that a
// waiting reader returns as soon as its connection is given up.
func TestClient_SlowConsumerWaitBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newStuckReader(t)
		r.send(t, 1)
		synctest.Wait() // the handler holds the first delivery
		start := time.Now()
		r.send(t, 19) // 4 fill the queue; the 5th waits, then the rest are dropped
		synctest.Wait()
		if waited := time.Since(start); waited != DefaultSlowConsumerWait {
			t.Errorf("the reader was held up for %v, want the wait, %v, once", waited, DefaultSlowConsumerWait)
		}
		if d := r.dropped.Load(); d != 15 || r.c.Stats().Dropped != 15 {
			t.Errorf("dropped %d (Stats %d), want 15", d, r.c.Stats().Dropped)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		r := newStuckReader(t)
		r.send(t, 1)
		synctest.Wait()
		r.send(t, 5) // the 5th waits for room
		synctest.Wait()
		start := time.Now()
		close(r.cn.done) // the connection is given up
		r.server.Close()
		<-r.exited
		if d := time.Since(start); d != 0 {
			t.Errorf("the reader returned %v after its connection was given up", d)
		}
		if d := r.dropped.Load(); d != 1 {
			t.Errorf("dropped %d, want 1", d)
		}
	})
}
