package record

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

func TestMessage_RoundTrip(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		for _, qos := range []whispeer.QoS{whispeer.AtMostOnce, whispeer.AtLeastOnce, whispeer.ExactlyOnce} {
			m := &whispeer.Message{Topic: "a/b", ID: "id", Payload: []byte{0xC1, 0x57, 1, 0, 0}, QoS: qos,
				Sealed: sealed, Headers: map[string]string{"k": "v"}, Time: time.Unix(0, 1234)}
			got, err := DecodeMessage(AppendMessage(nil, 7, 9, m), "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Epoch != 7 || got.Seq != 9 || got.Topic != m.Topic || got.ID != m.ID || got.QoS != qos ||
				got.Sealed != sealed || !bytes.Equal(got.Payload, m.Payload) || got.Headers["k"] != "v" || !got.Time.Equal(m.Time) {
				t.Fatalf("decoded %+v, want %+v", got.Message, m)
			}
		}
	}
}

// TestMessage_WrittenBeforeFlags decodes a message record as written
// before the QoS byte held flags: the same message, not sealed.
func TestMessage_WrittenBeforeFlags(t *testing.T) {
	b := []byte{KindMessage}
	b = binary.LittleEndian.AppendUint64(b, 7)
	b = binary.LittleEndian.AppendUint64(b, 9)
	b = binary.LittleEndian.AppendUint64(b, 1234)
	b = append(b, byte(whispeer.AtLeastOnce))
	b = AppendString(b, "t")
	b = AppendString(b, "id")
	b = AppendHeaders(b, nil)
	b = append(b, 0xC1, 0x57, 1, 0, 0)
	got, err := DecodeMessage(b, "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Sealed || got.QoS != whispeer.AtLeastOnce || got.Seq != 9 || !bytes.Equal(got.Payload, []byte{0xC1, 0x57, 1, 0, 0}) {
		t.Fatalf("decoded %+v, want an unsealed QoS 1 message at 9", got.Message)
	}
	b[25] = 0x41 // a flag this version does not know
	if _, err := DecodeMessage(b, ""); err != ErrFormat {
		t.Fatalf("a record with an unknown flag: %v, want ErrFormat", err)
	}
}
