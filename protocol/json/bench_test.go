package json

import (
	stdjson "encoding/json"
	"strings"
	"testing"
)

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
