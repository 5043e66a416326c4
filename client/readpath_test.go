package client

import (
	"context"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// BenchmarkClient_ReadPath measures a delivery's path through the client
// in one goroutine, without a network or a scheduler in the way: parse a
// 128-byte QoS 0 MSG from the read buffer, make its Message, hand it over
// to the subscription's inbox, take it and call the handler.
func BenchmarkClient_ReadPath(b *testing.B) { benchReadPath(b, wire.Headers{}) }

// BenchmarkClient_ReadPathHeaders is BenchmarkClient_ReadPath with three
// headers on every message.
func BenchmarkClient_ReadPathHeaders(b *testing.B) {
	h, err := wire.MakeHeaders("trace-id", "4bf92f3577b34da6", "content-type", "application/json", "tenant", "acme")
	if err != nil {
		b.Fatal(err)
	}
	benchReadPath(b, h)
}

// benchReadPath runs BenchmarkClient_ReadPath with headers h on every
// message.
func benchReadPath(b *testing.B, h wire.Headers) {
	c := &Client{cfg: defaultConfig(), subs: make(map[uint32]*Subscription)}
	s, err := c.newSubscription("bench/in", func(context.Context, *Message) error { return nil },
		[]SubscribeOption{WithMaxQoS(AtMostOnce)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.cancel()
	s.sid = 1
	c.subs[1] = s
	var frames []byte
	for i := range 64 {
		frames, err = wire.AppendMessage(frames, &wire.Message{
			SID: 1, Offset: uint64(i + 1), Time: time.Now().UnixNano(),
			Topic: []byte("bench/in"), ID: []byte("0123456789abcdefghijkl"),
			Headers: h, Payload: make([]byte, 128),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	cn := &conn{rd: wire.NewReaderSize(&repeatReader{b: frames}, 0, readBuffer), gen: 1}
	var (
		a    arrivals
		msgs []*Message
	)
	b.SetBytes(128)
	b.ReportAllocs()
	for b.Loop() {
		f, err := cn.rd.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := c.dispatch(cn, f, &a); err != nil {
			b.Fatal(err)
		}
		if len(a.msgs) == maxArrivals {
			c.handOver(&a)
			msgs = s.in.take(msgs)
			s.handleAll(msgs)
		}
	}
}

// repeatReader reads b over and over.
type repeatReader struct {
	b   []byte
	off int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m := copy(p[n:], r.b[r.off:])
		n += m
		r.off = (r.off + m) % len(r.b)
	}
	return n, nil
}
