package wire_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// TestReader_ReusedFrameKeepsNothing reads, with one Reader, a frame of each
// hot-path type with every field set, which must read back whole, then the
// same type with every optional field empty, which must equal what a fresh
// Reader makes of it. The decoders assign field by field into the Reader's
// one Frame, so a field added to Publish, Message or Ack and not decoded
// would keep the previous frame's value; the check that every field of the
// full frame is set makes such a field fail here until the test sets it.
func TestReader_ReusedFrameKeepsNothing(t *testing.T) {
	h := mustHeaders(t, "k", "v")
	for _, tc := range []struct {
		name        string
		full, empty wire.Frame
		unset       string // fields that the full frame cannot set beside the others
	}{
		{"PUB",
			wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{QoS: wire.AtLeastOnce, Envelope: true, Dup: true,
				Topic: []byte("a/b"), ID: []byte("id-1"), Headers: h, Payload: []byte("payload")}},
			wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte("c")}}, ""},
		{"MSG",
			wire.Frame{Type: wire.TypeMessage, Message: wire.Message{QoS: wire.AtLeastOnce, Envelope: true, Dup: true,
				Replay: true, SID: 7, Offset: 9, Time: 11, Topic: []byte("a/b"), ID: []byte("id-1"), Headers: h,
				Payload: []byte("payload")}},
			wire.Frame{Type: wire.TypeMessage, Message: wire.Message{SID: 1, Topic: []byte("c")}}, ""},
		{"PUBACK",
			wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: 3, Code: 1, ID: []byte("id-1"), Text: []byte("whispeer: no")}},
			wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{ID: []byte("x")}}, "Offset"},
		{"PUBACK of a delivery",
			wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: 3, ID: []byte("id-1"), Offset: 42}},
			wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: 3, ID: []byte("x")}}, "Code Text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := reflect.ValueOf(member(&tc.full))
			for i := range v.NumField() {
				if v.Field(i).IsZero() && !strings.Contains(tc.unset, v.Type().Field(i).Name) {
					t.Fatalf("the full frame leaves %s unset", v.Type().Field(i).Name)
				}
			}
			stream, err := wire.AppendFrame(nil, &tc.full)
			if err != nil {
				t.Fatal(err)
			}
			if stream, err = wire.AppendFrame(stream, &tc.empty); err != nil {
				t.Fatal(err)
			}
			single, err := wire.AppendFrame(nil, &tc.empty)
			if err != nil {
				t.Fatal(err)
			}
			want, err := wire.NewReader(bytes.NewReader(single), 0).Next()
			if err != nil {
				t.Fatal(err)
			}
			rd := wire.NewReader(bytes.NewReader(stream), 0)
			first, err := rd.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !sameFrame(first, &tc.full) {
				t.Fatalf("the full frame read back as %+v, want %+v", member(first), member(&tc.full))
			}
			got, err := rd.Next()
			if err != nil {
				t.Fatal(err)
			}
			if !sameFrame(got, want) {
				t.Fatalf("after a full frame got %+v, want %+v", member(got), member(want))
			}
		})
	}
}
