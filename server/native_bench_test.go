package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gobwas/ws"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/cputime"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// benchConfig lifts the limits a benchmark would hit.
func benchConfig(c *config.Config) {
	c.Server.MaxPublishRate = 0
	c.Server.MaxPendingBytes = 1 << 30
	c.Replay.Size = 0
}

// BenchmarkNativeFanout publishes b.N messages from one native TCP client
// to 1 and to 100 native TCP subscribers and reports deliveries per second.
// The clients only count frames, reading their length prefixes, so that
// the server dominates, as in BenchmarkFanout; allocs/op counts the whole
// process per publish.
func BenchmarkNativeFanout(b *testing.B) {
	for _, subs := range []int{1, 100} {
		for _, size := range []int{16, 256} {
			b.Run(strconv.Itoa(subs)+"subs/"+strconv.Itoa(size)+"B", func(b *testing.B) {
				benchNativeFanout(b, subs, size, wire.Headers{})
			})
		}
	}
}

// BenchmarkNativeFanoutHeaders is BenchmarkNativeFanout's 256-byte
// messages, each with three headers, which reach the subscribers as the
// publisher encoded them.
func BenchmarkNativeFanoutHeaders(b *testing.B) {
	h, err := wire.MakeHeaders("content-type", "application/json", "trace", "4bf92f3577b34da6", "tenant", "acme")
	if err != nil {
		b.Fatal(err)
	}
	for _, subs := range []int{1, 100} {
		b.Run(strconv.Itoa(subs)+"subs/256B", func(b *testing.B) {
			benchNativeFanout(b, subs, 256, h)
		})
	}
}

func benchNativeFanout(b *testing.B, subs, size int, h wire.Headers) {
	ts := newTestServer(b, benchConfig)
	var wg sync.WaitGroup
	counts := make([]atomic.Int64, subs)
	for i := range subs {
		c := ts.nativeAuthed(b, "tcp", "admin")
		c.subscribe(1, "bench", wire.AtMostOnce, wire.Resume{})
		c.nc.SetReadDeadline(time.Time{})
		br := bufio.NewReaderSize(c.nc, 64<<10)
		wg.Go(func() { countMessages(br, &counts[i], b.N) })
	}
	pub := ts.nativeAuthed(b, "tcp", "admin")
	go io.Copy(io.Discard, pub.nc) // nothing comes back at QoS 0, but drain
	frame, _ := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("bench"), Headers: h, Payload: []byte(strings.Repeat("x", size))})
	batch := make([]byte, 0, 64*len(frame))
	for range 64 {
		batch = append(batch, frame...)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.StartProcess()
	before := ts.Stats().TCP
	for sent := 0; sent < b.N; {
		n := min(64, b.N-sent)
		if _, err := pub.nc.Write(batch[:n*len(frame)]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	wg.Wait()
	b.StopTimer()
	cpu.Report(b, b.N)
	after := ts.Stats().TCP
	if w := after.Writes - before.Writes; w > 0 {
		b.ReportMetric(float64(after.FramesOut-before.FramesOut)/float64(w), "frames/write")
	}
	b.ReportMetric(float64(b.N*subs)/b.Elapsed().Seconds(), "deliveries/s")
}

// countMessages skips frames until it has counted n MSG frames or the
// stream ends.
func countMessages(br *bufio.Reader, count *atomic.Int64, n int) {
	for count.Load() < int64(n) {
		h, err := br.Peek(wire.HeaderLen)
		if err != nil {
			return
		}
		typ := wire.Type(h[4])
		if _, err := br.Discard(4 + int(binary.BigEndian.Uint32(h))); err != nil {
			return
		}
		if typ == wire.TypeMessage {
			count.Add(1)
		}
	}
}

// BenchmarkEncodeBody measures the one encoding a native delivery gets,
// shared by every subscriber over TCP and WebSocket: the MSG body.
func BenchmarkEncodeBody(b *testing.B) {
	m := &whispeer.Message{
		Topic: "sensors/kitchen/temperature", ID: "5qfLbJ3XbQ2k0000001Zx", Time: time.Now(), Seq: 42,
		Payload: []byte(`{"celsius":21.5,"humidity":40,"room":"kitchen","ok":true}`),
	}
	b.ReportAllocs()
	for b.Loop() {
		encodeBody(m)
	}
}

// BenchmarkNativePublishToSessions measures a publish fanned out to 100
// native sessions in process, without the network: match, encode the body
// once, and 100 heads queued in front of it.
func BenchmarkNativePublishToSessions(b *testing.B) {
	for _, transport := range []string{"tcp", "ws"} {
		b.Run(transport, func(b *testing.B) {
			ts := newTestServer(b, func(c *config.Config) { c.Replay.Size = 0; c.Server.MaxPendingBytes = 1 << 40 })
			for range 100 {
				if transport == "ws" {
					go io.Copy(io.Discard, ts.rawNativeWS(b, "bench"))
					continue
				}
				c := ts.nativeAuthed(b, transport, "admin")
				c.subscribe(1, "bench", wire.AtMostOnce, wire.Resume{})
				c.nc.SetReadDeadline(time.Time{})
				go io.Copy(io.Discard, c.nc)
			}
			payload := []byte(`{"celsius":21.5}`)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := ts.Broker().Publish(ctx, "bench", payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rawNativeWS dials a raw gobwas connection that speaks the native
// protocol in binary messages, subscribes it to topic and returns its
// reader, positioned after the SUBACK.
func (ts *testServer) rawNativeWS(tb testing.TB, topic string) *bufio.Reader {
	tb.Helper()
	nc, br, _, err := gws.Dial(context.Background(), ts.url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	<-ts.sessions
	if br == nil {
		br = bufio.NewReaderSize(nc, 64<<10)
	}
	token, _ := ts.issuer.Issue("admin")
	for _, f := range []*wire.Frame{
		{Type: wire.TypeHello, Hello: wire.Hello{Version: wire.Version}},
		{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}},
		{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 1, Topic: []byte(topic)}},
	} {
		b, _ := wire.AppendFrame(nil, f)
		msg := gws.MustCompileFrame(gws.MaskFrameInPlace(gws.NewBinaryFrame(b)))
		if _, err := nc.Write(msg); err != nil {
			tb.Fatal(err)
		}
	}
	if err := readFrames(br, 3); err != nil { // WELCOME, AUTHOK, SUBACK
		tb.Fatal(err)
	}
	return br
}
