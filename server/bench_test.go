package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gws "github.com/gobwas/ws"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/server/config"
)

// BenchmarkFanout publishes b.N messages from one WebSocket client to 100
// WebSocket subscribers and reports deliveries per second. The clients
// are raw connections that count frames, so that the server dominates.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{1, 100} {
		for _, size := range []int{16, 256} {
			b.Run(strconv.Itoa(subs)+"subs/"+strconv.Itoa(size)+"B", func(b *testing.B) {
				benchFanout(b, subs, size)
			})
		}
	}
}

func benchFanout(b *testing.B, subs, size int) {
	ts := newTestServer(b, func(c *config.Config) {
		c.Server.MaxPublishRate = 0
		c.Server.MaxPendingBytes = 1 << 30
		c.Replay.Size = 0
	})
	var wg sync.WaitGroup
	counts := make([]atomic.Int64, subs)
	for i := range subs {
		nc, br := ts.rawAuthed(b, "admin")
		writeFrame(b, nc, `{"type":"subscribe","topic":"bench"}`)
		readFrames(br, 1) // subscribed
		wg.Add(1)
		go func() {
			defer wg.Done()
			countFrames(br, &counts[i], b.N)
		}()
	}
	pub, pubBr := ts.rawAuthed(b, "admin")
	go io.Copy(io.Discard, pubBr) // nothing comes back at QoS 0, but drain
	frame := maskedText(`{"type":"publish","topic":"bench","payload":"` + strings.Repeat("x", size) + `"}`)
	batch := make([]byte, 0, 64*len(frame))
	for range 64 {
		batch = append(batch, frame...)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(64, b.N-sent)
		if _, err := pub.Write(batch[:n*len(frame)]); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*subs)/b.Elapsed().Seconds(), "deliveries/s")
}

// rawAuthed dials a raw gobwas connection and authenticates it.
func (ts *testServer) rawAuthed(tb testing.TB, user string) (net.Conn, *bufio.Reader) {
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
	token, _ := ts.issuer.Issue(user)
	writeFrame(tb, nc, `{"type":"auth","token":"`+token+`"}`)
	readFrames(br, 1)
	return nc, br
}

func maskedText(s string) []byte {
	return gws.MustCompileFrame(gws.MaskFrameInPlace(gws.NewTextFrame([]byte(s))))
}

func writeFrame(tb testing.TB, nc net.Conn, s string) {
	tb.Helper()
	if _, err := nc.Write(maskedText(s)); err != nil {
		tb.Fatal(err)
	}
}

// readFrames skips n server frames.
func readFrames(br *bufio.Reader, n int) error {
	for range n {
		if _, err := skipFrame(br); err != nil {
			return err
		}
	}
	return nil
}

// countFrames counts data frames into count until it reaches n.
func countFrames(br *bufio.Reader, count *atomic.Int64, n int) {
	for count.Load() < int64(n) {
		op, err := skipFrame(br)
		if err != nil {
			return
		}
		if op == gws.OpText {
			count.Add(1)
		}
	}
}

// skipFrame reads past one unmasked server frame and returns its opcode.
func skipFrame(br *bufio.Reader) (gws.OpCode, error) {
	h, err := br.Peek(2)
	if err != nil {
		return 0, err
	}
	op, n, size := gws.OpCode(h[0]&0x0f), int(h[1]&0x7f), 2
	switch n {
	case 126:
		size = 4
	case 127:
		size = 10
	}
	if h, err = br.Peek(size); err != nil {
		return 0, err
	}
	switch size {
	case 4:
		n = int(binary.BigEndian.Uint16(h[2:]))
	case 10:
		n = int(binary.BigEndian.Uint64(h[2:]))
	}
	_, err = br.Discard(size + n)
	return op, err
}

// BenchmarkEncodeMessage measures the one encoding a delivery gets, shared
// by every subscriber: the JSON frame and its WebSocket header.
func BenchmarkEncodeMessage(b *testing.B) {
	m := &whispeer.Message{
		Topic: "sensors/kitchen/temperature", ID: "5qfLbJ3XbQ2k0000001Zx", Time: time.Now(),
		Payload: []byte(`{"celsius":21.5,"humidity":40,"room":"kitchen","ok":true}`),
	}
	b.ReportAllocs()
	for b.Loop() {
		appendJSON(nil, m)
	}
}

// BenchmarkPublishToSessions measures a publish fanned out to 100 sessions
// in process, without the network: match, encode once, and 100 queue
// appends.
func BenchmarkPublishToSessions(b *testing.B) {
	ts := newTestServer(b, func(c *config.Config) { c.Replay.Size = 0; c.Server.MaxPendingBytes = 1 << 40 })
	for range 100 {
		nc, br := ts.rawAuthed(b, "admin")
		writeFrame(b, nc, `{"type":"subscribe","topic":"bench"}`)
		readFrames(br, 1)
		go io.Copy(io.Discard, br)
	}
	payload := []byte(`{"celsius":21.5}`)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := ts.Broker().Publish(ctx, "bench", payload); err != nil {
			b.Fatal(err)
		}
	}
}
