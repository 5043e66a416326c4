package json

import (
	stdjson "encoding/json"
	"strings"
	"testing"
)

// Fastest of several runs of go test -run '^$' -bench . -benchmem -count 5
// ./protocol/json/ on 2 cores (Intel Xeon, GOMAXPROCS=2) shared with other
// work; medians under that load were 1.5–3× higher, the ratios held:
//
//	BenchmarkParse_Publish128-2       300 ns/op    48 B/op    1 allocs/op
//	BenchmarkParse_EncodingJSON-2    1890 ns/op   528 B/op   10 allocs/op
//	BenchmarkParse_Subscribe-2        124 ns/op     8 B/op    1 allocs/op
//	BenchmarkAppendMessage-2           59 ns/op     0 B/op    0 allocs/op
//	BenchmarkAppendPayload_Text-2     106 ns/op     0 B/op    0 allocs/op

// publish128 is a QoS 1 publish frame with a 128-byte payload (a JSON
// string of 126 characters plus its quotes).
var publish128 = []byte(`{"type":"publish","topic":"sensors/kitchen/temperature","payload":"` +
	strings.Repeat("x", 126) + `","message_id":"msg-000123","qos":1}`)

func BenchmarkParse_Publish128(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(publish128)))
	for b.Loop() {
		if _, err := Parse(publish128); err != nil {
			b.Fatal(err)
		}
	}
}

// stdFrame is the baseline: encoding/json into a struct with a raw payload.
type stdFrame struct {
	Type      string             `json:"type"`
	Username  string             `json:"username"`
	Password  string             `json:"password"`
	Token     string             `json:"token"`
	Topic     string             `json:"topic"`
	Payload   stdjson.RawMessage `json:"payload"`
	MessageID string             `json:"message_id"`
	QoS       *uint8             `json:"qos"`
}

// BenchmarkParse_EncodingJSON is the baseline that Parse was measured
// against: encoding/json decoding the same frame into a struct.
func BenchmarkParse_EncodingJSON(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(publish128)))
	for b.Loop() {
		var f stdFrame
		if err := stdjson.Unmarshal(publish128, &f); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendMessage(b *testing.B) {
	f, err := Parse(publish128)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessage(buf[:0], f.Topic, f.Payload, 1689475200, f.MessageID, f.QoS)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkParse_Subscribe(b *testing.B) {
	data := []byte(`{"type":"subscribe","topic":"chat/#"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendPayload_Text(b *testing.B) {
	text := []byte(strings.Repeat("plain text, not JSON ", 6))
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		buf = AppendPayload(buf[:0], text)
	}
}
