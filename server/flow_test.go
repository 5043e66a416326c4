package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	gclient "github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// flowServer starts a server whose connections may queue only 128 KiB, so
// that a publisher outruns its subscribers at once, without a rate limit,
// and that waits for subscribers for up to 10 s: long enough for those
// that read on a loaded machine under the race detector.
func flowServer(t *testing.T, edit func(*config.Config)) *testServer {
	t.Helper()
	return newTestServer(t, flowConfig(edit))
}

// flowConfig is the configuration of flowServer, changed by edit.
func flowConfig(edit func(*config.Config)) func(*config.Config) {
	return func(c *config.Config) {
		c.Server.MaxPendingBytes = 128 << 10
		c.Server.MaxPublishRate = 0
		c.Server.MaxStall = 10 * time.Second
		if edit != nil {
			edit(c)
		}
	}
}

// fastPublisher connects the Go client over TCP and publishes n QoS 0
// messages of size bytes to topic as fast as it can, then "end"; it
// returns a channel that receives the outcome.
func (ts *testServer) fastPublisher(t *testing.T, topic string, n, size int) <-chan error {
	t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	token, err := ts.issuer.Issue("admin") // not a password: its check is slow on purpose
	if err != nil {
		t.Fatal(err)
	}
	opts := []gclient.Option{gclient.WithToken(token), gclient.WithoutReconnect()}
	if ts.dialTCP != nil {
		opts = append(opts, gclient.WithDialer(func(context.Context, string, string) (net.Conn, error) { return ts.dialTCP() }))
	}
	c, err := gclient.Dial(ctx, "tcp://"+ts.tcpAddr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	<-ts.sessions
	done := make(chan error, 1)
	go func() {
		payload := make([]byte, size)
		for i := range n {
			copy(payload, strconv.Itoa(i))
			if err := c.Publish(context.Background(), topic, payload); err != nil {
				done <- err
				return
			}
		}
		done <- c.Publish(context.Background(), topic, []byte("end"))
	}()
	t.Cleanup(func() { c.Close() })
	return done
}

// count reads MSGs on sid until "end", and returns how many came before,
// or an error.
func (c *nclient) count(sid uint32) (int, error) {
	for n := 0; ; n++ {
		f, err := c.next()
		if err != nil {
			return n, fmt.Errorf("after %d messages: %w", n, err)
		}
		if f.Type != wire.TypeMessage || f.Message.SID != sid {
			return n, fmt.Errorf("after %d messages: %v %v", n, f.Type, describe(f))
		}
		if string(f.Message.Payload) == "end" {
			return n, nil
		}
	}
}

// counted is the outcome of count.
type counted struct {
	n   int
	err error
}

// countAll counts the messages of every client, concurrently.
func countAll(cs ...*nclient) []counted {
	ch := make(chan counted, len(cs))
	for _, c := range cs {
		go func() {
			n, err := c.count(1)
			ch <- counted{n, err}
		}()
	}
	out := make([]counted, len(cs))
	for i := range out {
		out[i] = <-ch
	}
	return out
}

// TestFlow_FastPublisherLosesNothing publishes at QoS 0 as fast as the Go
// client can to subscribers that read: the server slows the publisher to
// their pace, so every message arrives and nobody is disconnected.
func TestFlow_FastPublisherLosesNothing(t *testing.T) {
	const n, size = 10000, 200 // 2 MB through queues of 128 KiB
	ts := flowServer(t, nil)
	tcp := ts.nativeAuthed(t, "tcp", "admin")
	tcp.subscribe(1, "f", wire.AtMostOnce, wire.Resume{})
	ws := ts.nativeAuthed(t, "ws", "admin")
	ws.subscribe(1, "f", wire.AtMostOnce, wire.Resume{})
	js := ts.authed(t, "admin")
	js.subscribe("f")

	done := ts.fastPublisher(t, "f", n, size)
	counts := make(chan []counted, 1)
	go func() { counts <- countAll(tcp, ws) }()
	for i := range n {
		if f := js.expect("message"); f.str("topic") != "f" {
			t.Fatalf("JSON message %d: %v", i, f)
		}
	}
	js.expect("message") // end
	for _, c := range <-counts {
		if c.n != n || c.err != nil {
			t.Errorf("a native subscriber got %d messages, want %d (%v)", c.n, n, c.err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := ts.Stats(); st.TCP.SlowConsumers+st.WebSocket.SlowConsumers != 0 {
		t.Fatalf("slow consumers dropped: %+v %+v", st.TCP, st.WebSocket)
	}
}

// TestFlow_StuckSubscriberDropped publishes to subscribers among which one
// never reads: it is dropped as a slow consumer, and the others, which
// read, get every message.
// In a synctest bubble, on net.Pipe connections, the stall and the write
// timeout that drop the stuck one pass on the bubble's clock.
func TestFlow_StuckSubscriberDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, size = 200, 4096 // 800 KB: past what the stuck one may queue
		ts := newBubbleTestServer(t, flowConfig(func(c *config.Config) { c.Server.WriteTimeout = 2 * time.Second }))
		stuck := ts.nativeAuthed(t, "tcp", "admin")
		stuck.subscribe(1, "f", wire.AtMostOnce, wire.Resume{})
		var readers []*nclient
		for _, transport := range []string{"tcp", "ws", "tcp"} {
			c := ts.nativeAuthed(t, transport, "admin")
			c.subscribe(1, "f", wire.AtMostOnce, wire.Resume{})
			readers = append(readers, c)
		}
		done := ts.fastPublisher(t, "f", n, size)
		for _, c := range countAll(readers...) {
			if c.n != n || c.err != nil {
				t.Errorf("a reading subscriber got %d messages, want %d (%v)", c.n, n, c.err)
			}
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if st := ts.Stats(); st.TCP.SlowConsumers != 1 {
			t.Fatalf("slow consumers dropped: %d, want the stuck one", st.TCP.SlowConsumers)
		}
	})
}
