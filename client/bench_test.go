package client_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/internal/cputime"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// BenchmarkClient_Publish publishes 128-byte QoS 0 messages into the fake
// server, which parses each and hands it to its broker. Publish returns
// once the frame is queued; the queue is bounded, so in the long run the
// figure is the rate at which the writer and the server take messages.
//
// The sink variant publishes to a server that only reads the frames: its
// allocations are the client's alone.
func BenchmarkClient_Publish(b *testing.B) {
	for _, scheme := range []string{"tcp", "ws"} {
		b.Run(scheme, func(b *testing.B) {
			benchPublish(b, newServer(b).URL(scheme))
		})
	}
	b.Run("tcp-sink", func(b *testing.B) {
		benchPublish(b, sink(b))
	})
}

// BenchmarkClient_PublishParallel is BenchmarkClient_Publish from
// GOMAXPROCS goroutines.
func BenchmarkClient_PublishParallel(b *testing.B) {
	srv := newServer(b)
	c := dial(b, srv.URL("tcp"))
	payload := make([]byte, 128)
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Publish(ctx, "bench/topic", payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if err := c.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkClient_PublishSealed is BenchmarkClient_Publish with a keyring:
// each payload is sealed with XChaCha20-Poly1305 before it is queued.
func BenchmarkClient_PublishSealed(b *testing.B) {
	b.Run("tcp", func(b *testing.B) {
		benchPublish(b, newServer(b).URL("tcp"), client.WithKeyring(newKeyring(b)))
	})
	b.Run("tcp-sink", func(b *testing.B) {
		benchPublish(b, sink(b), client.WithKeyring(newKeyring(b)))
	})
}

// sink starts a server that answers the handshake and PINGs and reads
// everything else without doing anything with it. It reads through a
// large buffer, so that its own share of the process's CPU stays small.
func sink(b *testing.B) string {
	return newRawServer(b, func(_ int, c net.Conn) {
		drain(c, greet(bufferedConn{c, bufio.NewReaderSize(c, 64<<10)}))
	})
}

// bufferedConn is a net.Conn that reads through a buffer.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// BenchmarkClient_PublishQoS1 publishes at QoS 1 from 64 goroutines at a
// time; each Publish waits for its PUBACK.
func BenchmarkClient_PublishQoS1(b *testing.B) {
	srv := newServer(b)
	c := dial(b, srv.URL("tcp"))
	payload := make([]byte, 128)
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.Publish(ctx, "bench/topic", payload, client.WithQoS(client.AtLeastOnce)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkClient_Deliver measures the receiving side: the fake server
// delivers 128-byte QoS 0 messages published on its broker, and the
// subscription's handler counts them. Deliveries dropped because the
// queue was full are counted too, and reported as drops/op.
func BenchmarkClient_Deliver(b *testing.B) {
	var seen, dropped, target atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	check := func() {
		if t := target.Load(); t > 0 && seen.Load() >= t {
			once.Do(func() { close(done) })
		}
	}
	srv := newServer(b)
	c := dial(b, srv.URL("tcp"), client.WithErrorHandler(func(err error) {
		if errors.Is(err, client.ErrSlowConsumer) {
			dropped.Add(1)
			seen.Add(1)
			check()
		}
	}))
	if _, err := c.Subscribe("bench/in", func(context.Context, *client.Message) error {
		seen.Add(1)
		check()
		return nil
	}, client.WithQueueSize(1<<16)); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 128)
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	n := int64(0)
	for b.Loop() {
		if err := srv.Broker().Publish(ctx, "bench/in", payload); err != nil {
			b.Fatal(err)
		}
		n++
	}
	target.Store(n)
	check()
	recv(b, done)
	b.ReportMetric(float64(dropped.Load())/float64(n), "drops/op")
}

// BenchmarkClient_Receive measures the receiving side alone: a server
// writes pre-encoded 128-byte QoS 0 MSG frames, in chunks of 64, at most
// 1,024 ahead of the handler, and the subscription's handler counts them.
// cpu-ns/op is the process's CPU time per message, nearly all of it the
// client's.
func BenchmarkClient_Receive(b *testing.B) {
	const chunk, window = 64, 1024
	conns := make(chan net.Conn, 1)
	url := newRawServer(b, func(_ int, c net.Conn) {
		rd := greet(c)
		if rd == nil {
			return
		}
		f, err := rd.Next()
		if err != nil || f.Type != wire.TypeSubscribe {
			return
		}
		ack, _ := wire.AppendSubAck(nil, &wire.SubAck{SID: f.Subscribe.SID})
		if _, err := c.Write(ack); err != nil {
			return
		}
		conns <- c
		drain(c, rd) // until the client closes the connection
	})
	credit := make(chan struct{}, window/chunk+1)
	var handled atomic.Int64
	target := int64(b.N)
	c := dial(b, url)
	if _, err := c.Subscribe("bench/in", func(context.Context, *client.Message) error {
		if n := handled.Add(1); n%chunk == 0 || n == target {
			select {
			case credit <- struct{}{}:
			default: // credits wait already: the server rereads handled
			}
		}
		return nil
	}, client.WithMaxQoS(client.AtMostOnce), client.WithQueueSize(window)); err != nil {
		b.Fatal(err)
	}
	srv := recv(b, conns)
	frames := msgFrames(b, chunk)
	size := len(frames) / chunk
	b.SetBytes(128)
	b.ReportAllocs()
	cpu := cputime.StartProcess()
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		if sent-int(handled.Load()) > window-chunk {
			recv(b, credit)
			continue
		}
		n := min(chunk, b.N-sent)
		if _, err := srv.Write(frames[:n*size]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	for handled.Load() < target {
		recv(b, credit)
	}
	b.StopTimer()
	cpu.Report(b, b.N)
}

// msgFrames returns n MSG frames for subscription 1 back to back, each
// with a 128-byte payload, a generated id and no headers, as the server
// delivers a QoS 0 publish.
func msgFrames(b *testing.B, n int) []byte {
	var out []byte
	for i := range n {
		var err error
		out, err = wire.AppendMessage(out, &wire.Message{
			SID: 1, Offset: uint64(i + 1), Time: time.Now().UnixNano(),
			Topic: []byte("bench/in"), ID: []byte("0123456789abcdefghijkl"),
			Payload: make([]byte, 128),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return out
}

func benchPublish(b *testing.B, url string, opts ...client.Option) {
	c := dial(b, url, opts...)
	payload := make([]byte, 128)
	ctx := context.Background()
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	cpu, n := cputime.StartProcess(), 0
	for b.Loop() {
		if err := c.Publish(ctx, "bench/topic", payload); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := c.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	cpu.Report(b, n)
}
