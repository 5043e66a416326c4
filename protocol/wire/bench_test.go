package wire_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// benchPayload is the 128-byte payload of the benchmarks.
var benchPayload = bytes.Repeat([]byte{'x'}, 128)

// benchPublish is a PUB of a 128-byte payload: QoS 1, no headers.
func benchPublish() *wire.Publish {
	return &wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("sensors/kitchen/temp"),
		ID: []byte("01J9ZK5Q8W"), Payload: benchPayload}
}

// benchMessage is the delivery of benchPublish.
func benchMessage() *wire.Message {
	p := benchPublish()
	return &wire.Message{QoS: p.QoS, SID: 7, Offset: 123456, Time: 1767225600000000000,
		Topic: p.Topic, ID: p.ID, Payload: p.Payload}
}

// mustAppend encodes f or fails tb.
func mustAppend(tb testing.TB, f *wire.Frame) []byte {
	tb.Helper()
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

var sinkFrame wire.Frame

func BenchmarkParse_Publish(b *testing.B) {
	benchParse(b, &wire.Frame{Type: wire.TypePublish, Publish: *benchPublish()})
}

func BenchmarkParse_Message(b *testing.B) {
	benchParse(b, &wire.Frame{Type: wire.TypeMessage, Message: *benchMessage()})
}

// benchParse parses f's encoding into a reused Frame.
func benchParse(b *testing.B, f *wire.Frame) {
	buf := mustAppend(b, f)
	var got wire.Frame
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := got.Parse(buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse_PublishByValue(b *testing.B) {
	buf := mustAppend(b, &wire.Frame{Type: wire.TypePublish, Publish: *benchPublish()})
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		f, _, err := wire.Parse(buf)
		if err != nil {
			b.Fatal(err)
		}
		sinkFrame.Publish.Payload = f.Publish.Payload
	}
}

func BenchmarkAppend_Message(b *testing.B) {
	m := benchMessage()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = wire.AppendMessage(buf[:0], m); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppend_Publish(b *testing.B) {
	p := benchPublish()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = wire.AppendPublish(buf[:0], p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkAppend_MessageHead(b *testing.B) {
	m := benchMessage()
	body, err := wire.AppendMessageBody(nil, m)
	if err != nil {
		b.Fatal(err)
	}
	var head [wire.MessageHeadLen]byte
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wire.AppendMessageHead(head[:0], m, len(body)); err != nil {
			b.Fatal(err)
		}
	}
}

// loopReader replays one stream forever.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func BenchmarkReader_Publish(b *testing.B) {
	frame := mustAppend(b, &wire.Frame{Type: wire.TypePublish, Publish: *benchPublish()})
	stream := bytes.Repeat(frame, 1000)
	r := wire.NewReader(&loopReader{data: stream}, 0)
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		f, err := r.Next()
		if err != nil {
			b.Fatal(err)
		}
		sinkFrame.Publish.Payload = f.Publish.Payload
	}
}

var _ io.Reader = (*loopReader)(nil)
