package wire_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// TestGolden checks the examples of docs/protocol-native.md byte for byte,
// both ways.
func TestGolden(t *testing.T) {
	h := mustHeaders(t, "content-type", "text/plain")
	jan1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for _, tc := range []struct {
		name string
		f    wire.Frame
		hex  string
	}{
		{"HELLO", wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: 1,
			Caps: wire.CapE2E | wire.CapQoS2 | wire.CapResume, MaxFrame: 1 << 20,
			Name: []byte("whispeer-go/1.0")}}, `
			0000001f 01 57535052 01 0000000d 00100000
			00 0f 77686973706565722d676f2f312e30`},
		{"PUB", wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{QoS: wire.AtLeastOnce,
			Topic: []byte("chat/room1"), ID: []byte("m1"), Headers: h, Payload: []byte("hello")}}, `
			00000032 20 01 000a 636861742f726f6f6d31 02 6d31
			0001 000c 636f6e74656e742d74797065 000a 746578742f706c61696e
			68656c6c6f`},
		{"MSG", wire.Frame{Type: wire.TypeMessage, Message: wire.Message{QoS: wire.AtLeastOnce, SID: 7,
			Offset: 42, Time: jan1, Topic: []byte("chat/room1"), ID: []byte("m1"), Headers: h,
			Payload: []byte("hello")}}, `
			00000046 21 01 00000007
			000000000000002a 18867251edfa0000 000a 636861742f726f6f6d31 02 6d31
			0001 000c 636f6e74656e742d74797065 000a 746578742f706c61696e
			68656c6c6f`},
		{"PUBACK", wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{ID: []byte("m1")}}, `
			00000009 22 00000000 00 02 6d31`},
		{"SUB", wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 7, QoS: wire.AtLeastOnce,
			Resume: wire.Resume{Mode: wire.ResumeOffset, Epoch: 0x1122334455667788, Offset: 41},
			Topic:  []byte("chat/room1")}}, `
			00000023 10 00000007 01 02 1122334455667788 0000000000000029
			000a 636861742f726f6f6d31`},
		{"PING", wire.Frame{Type: wire.TypePing}, `00000001 06`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := unhex(t, tc.hex)
			if got := mustAppend(t, &tc.f); !bytes.Equal(got, want) {
				t.Errorf("encoded %x\nwant    %x", got, want)
			}
			f, n, err := wire.Parse(want)
			if err != nil || n != len(want) || !sameFrame(&f, &tc.f) {
				t.Errorf("Parse = %+v, %d, %v", member(&f), n, err)
			}
		})
	}
}
