package client

import (
	"context"
	"net"
	"testing"
	"time"
)

// BenchmarkClient_PublishPath measures a QoS 0 publish's path through the
// client in one goroutine: Publish encodes 128-byte messages into the
// queue, and every 64 publishes the writer's loop takes the queue and
// writes it to a connection that discards it.
func BenchmarkClient_PublishPath(b *testing.B) {
	c := &Client{cfg: defaultConfig(), subs: make(map[uint32]*Subscription)}
	cn := &conn{link: &link{Conn: discardConn{}}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	c.cur, c.maxOut = cn, 1<<20
	payload := make([]byte, 128)
	ctx := context.Background()
	var buf []byte
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := c.Publish(ctx, "bench/topic", payload); err != nil {
			b.Fatal(err)
		}
		if n++; n%64 == 0 {
			select {
			case <-cn.wake:
			default:
			}
			var err error
			if buf, _, err = c.flushQueue(cn, buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// discardConn is a net.Conn that takes every write and does nothing else.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
