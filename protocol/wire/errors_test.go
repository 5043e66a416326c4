package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// raw returns a frame of type t with the given body bytes.
func raw(t wire.Type, body ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
	return append(append(b, byte(t)), body...)
}

// cat joins byte slices.
func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParse_Errors(t *testing.T) {
	hello := []byte("WSPR\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	pubQoS1 := []byte{1, 0, 1, 't', 0, 0, 0} // QoS 1, topic "t", no id, no headers
	// fixed is a MSG's flags, sid, offset and time.
	fixed := func(sid byte) []byte { return append([]byte{0, 0, 0, 0, sid}, make([]byte, 16)...) }
	for _, tc := range []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, wire.ErrShort},
		{"three bytes", []byte{0, 0, 0}, wire.ErrShort},
		{"body not all there", []byte{0, 0, 0, 10, 0x20, 0}, wire.ErrShort},
		{"too large, prefix only", []byte{0x01, 0x00, 0x00, 0x01}, wire.ErrTooLarge},
		{"HTTP", []byte("GET / HTTP/1.1\r\n"), wire.ErrTooLarge},
		{"zero length", []byte{0, 0, 0, 0}, wire.ErrTruncated},
		{"type 0", raw(0), wire.ErrUnknownType},
		{"type 9", raw(9), wire.ErrUnknownType},
		{"type 0xFF", raw(0xFF, 1, 2, 3), wire.ErrUnknownType},
		{"ping with a body", raw(wire.TypePing, 0), wire.ErrTrailing},
		{"pong with a body", raw(wire.TypePong, 0), wire.ErrTrailing},

		{"hello truncated", raw(wire.TypeHello, hello[:12]...), wire.ErrTruncated},
		{"hello without name", raw(wire.TypeHello, hello[:14]...), wire.ErrTruncated},
		{"hello bad magic", raw(wire.TypeHello, append([]byte("WSPX"), hello[4:]...)...), wire.ErrMagic},
		{"hello version 0", raw(wire.TypeHello, append([]byte("WSPR\x00"), hello[5:]...)...), wire.ErrVersion},
		{"hello v1 trailing", raw(wire.TypeHello, append(hello, 0)...), wire.ErrTrailing},
		{"hello session past end", raw(wire.TypeHello, append(hello[:13], 5, 'a')...), wire.ErrTruncated},
		{"welcome truncated", raw(wire.TypeWelcome, 1, 0, 0, 0), wire.ErrTruncated},
		{"welcome version 0", raw(wire.TypeWelcome, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), wire.ErrVersion},
		{"welcome flags", raw(wire.TypeWelcome, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), wire.ErrFlags},
		{"welcome trailing", raw(wire.TypeWelcome, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9), wire.ErrTrailing},
		{"auth empty body", raw(wire.TypeAuth), wire.ErrTruncated},
		{"auth token past end", raw(wire.TypeAuth, 0, 3, 'a', 'b'), wire.ErrTruncated},
		{"auth trailing", raw(wire.TypeAuth, 0, 1, 'a', 'b'), wire.ErrTrailing},
		{"login no password", raw(wire.TypeLogin, 1, 'a'), wire.ErrTruncated},
		{"login trailing", raw(wire.TypeLogin, 1, 'a', 0, 0, 0), wire.ErrTrailing},
		{"authok truncated", raw(wire.TypeAuthOK, 0, 0, 0, 0, 0, 0, 0), wire.ErrTruncated},
		{"authok no token length", raw(wire.TypeAuthOK, 0, 0, 0, 0, 0, 0, 0, 0), wire.ErrTruncated},
		{"error code 0", raw(wire.TypeError, 0, 0, 0, 0, 0), wire.ErrCode},
		{"error unknown ref", raw(wire.TypeError, 1, 0, 0x09, 0, 0), wire.ErrCode},
		{"error flags", raw(wire.TypeError, 1, 0x80, 0, 0, 0), wire.ErrFlags},
		{"error truncated", raw(wire.TypeError, 1, 0, 0, 0), wire.ErrTruncated},
		{"error trailing", raw(wire.TypeError, 1, 0, 0, 0, 0, 0), wire.ErrTrailing},

		{"sub truncated", raw(wire.TypeSubscribe, 0, 0, 0, 1, 0), wire.ErrTruncated},
		{"sub sid 0", raw(wire.TypeSubscribe, 0, 0, 0, 0, 0, 0, 0, 1, 't'), wire.ErrSID},
		{"sub qos 3", raw(wire.TypeSubscribe, 0, 0, 0, 1, 3, 0, 0, 1, 't'), wire.ErrQoS},
		{"sub resume mode 4", raw(wire.TypeSubscribe, 0, 0, 0, 1, 0, 4, 0, 1, 't'), wire.ErrResume},
		{"sub last truncated", raw(wire.TypeSubscribe, 0, 0, 0, 1, 0, 1, 0, 0, 0), wire.ErrTruncated},
		{"sub offset truncated", raw(wire.TypeSubscribe, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0), wire.ErrTruncated},
		{"sub empty topic", raw(wire.TypeSubscribe, 0, 0, 0, 1, 0, 0, 0, 0), wire.ErrEmptyTopic},
		{"sub trailing", raw(wire.TypeSubscribe, 0, 0, 0, 1, 0, 0, 0, 1, 't', 'u'), wire.ErrTrailing},
		{"unsub truncated", raw(wire.TypeUnsubscribe, 0, 0, 1), wire.ErrTruncated},
		{"unsub sid 0", raw(wire.TypeUnsubscribe, 0, 0, 0, 0), wire.ErrSID},
		{"unsub trailing", raw(wire.TypeUnsubscribe, 0, 0, 0, 1, 0), wire.ErrTrailing},
		{"suback truncated", raw(wire.TypeSubAck, make([]byte, 22)...), wire.ErrTruncated},
		{"suback sid 0", raw(wire.TypeSubAck, make([]byte, 24)...), wire.ErrSID},
		{"suback flags", raw(wire.TypeSubAck, append([]byte{0, 0, 0, 1, 0, 2}, make([]byte, 18)...)...), wire.ErrFlags},
		{"suback trailing", raw(wire.TypeSubAck, append([]byte{0, 0, 0, 1}, make([]byte, 21)...)...), wire.ErrTrailing},
		{"sub qos 7 (presence and qos 3)", raw(wire.TypeSubscribe, 0, 0, 0, 1, 7, 0, 0, 1, 't'), wire.ErrQoS},
		{"sub qos bit 3", raw(wire.TypeSubscribe, 0, 0, 0, 1, 8, 0, 0, 1, 't'), wire.ErrQoS},
		{"presence id 0", raw(wire.TypePresence, 0, 0, 0, 0, 0, 0, 1, 't'), wire.ErrSID},
		{"presence flags", raw(wire.TypePresence, 0, 0, 0, 1, 2, 0, 1, 't'), wire.ErrFlags},
		{"presence empty topic", raw(wire.TypePresence, 0, 0, 0, 1, 0, 0, 0), wire.ErrEmptyTopic},
		{"presence truncated", raw(wire.TypePresence, 0, 0, 0, 1, 0, 0, 2, 't'), wire.ErrTruncated},
		{"presence trailing", raw(wire.TypePresence, 0, 0, 0, 1, 0, 0, 1, 't', 'u'), wire.ErrTrailing},
		{"presenceinfo truncated", raw(wire.TypePresenceInfo, make([]byte, 15)...), wire.ErrTruncated},
		{"presenceinfo client past end", raw(wire.TypePresenceInfo, append(make([]byte, 14), 0, 1, 0, 3, 'a')...), wire.ErrTruncated},
		{"presenceinfo id 0", raw(wire.TypePresenceInfo, make([]byte, 18)...), wire.ErrSID},
		{"presenceinfo flags", raw(wire.TypePresenceInfo, append([]byte{0, 0, 0, 1, 0, 2}, make([]byte, 12)...)...), wire.ErrFlags},
		{"presenceinfo trailing", raw(wire.TypePresenceInfo, append([]byte{0, 0, 0, 1}, make([]byte, 15)...)...), wire.ErrTrailing},
		{"joinleave sid 0", raw(wire.TypeJoinLeave, 0, 0, 0, 0, 0, 0, 0, 0, 0), wire.ErrSID},
		{"joinleave flags", raw(wire.TypeJoinLeave, 0, 0, 0, 1, 4, 0, 0, 0, 0), wire.ErrFlags},
		{"joinleave truncated", raw(wire.TypeJoinLeave, 0, 0, 0, 1, 0, 0, 0, 0), wire.ErrTruncated},
		{"joinleave trailing", raw(wire.TypeJoinLeave, 0, 0, 0, 1, 0, 0, 0, 0, 0, 9), wire.ErrTrailing},

		{"pub empty body", raw(wire.TypePublish), wire.ErrTruncated},
		{"pub reserved flag", raw(wire.TypePublish, 0x20, 0, 1, 't', 0, 0, 0), wire.ErrFlags},
		{"pub replay flag", raw(wire.TypePublish, 0x10, 0, 1, 't', 0, 0, 0), wire.ErrFlags},
		{"pub qos 3", raw(wire.TypePublish, 3, 0, 1, 't', 1, 'i', 0, 0), wire.ErrQoS},
		{"pub empty topic", raw(wire.TypePublish, 0, 0, 0, 0, 0, 0), wire.ErrEmptyTopic},
		{"pub qos 1 without id", raw(wire.TypePublish, pubQoS1...), wire.ErrMissingID},
		{"pub qos 2 without id", raw(wire.TypePublish, 2, 0, 1, 't', 0, 0, 0), wire.ErrMissingID},
		{"pub topic past end", raw(wire.TypePublish, 0, 0, 9, 't'), wire.ErrTruncated},
		{"pub topic past end, more bytes after", cat(raw(wire.TypePublish, 0, 0, 9, 't'), make([]byte, 20)), wire.ErrTruncated},
		{"pub no id length", raw(wire.TypePublish, 0, 0, 1, 't'), wire.ErrTruncated},
		{"pub id past end", raw(wire.TypePublish, 0, 0, 1, 't', 4, 'i'), wire.ErrTruncated},
		{"pub no header count", raw(wire.TypePublish, 0, 0, 1, 't', 0, 0), wire.ErrTruncated},
		{"pub header missing", raw(wire.TypePublish, 0, 0, 1, 't', 0, 0, 1), wire.ErrTruncated},
		{"pub header key past end", raw(wire.TypePublish, 0, 0, 1, 't', 0, 0, 1, 0, 5, 'k'), wire.ErrTruncated},
		{"pub header value missing", raw(wire.TypePublish, 0, 0, 1, 't', 0, 0, 1, 0, 1, 'k'), wire.ErrTruncated},
		{"pub header value past end", raw(wire.TypePublish, 0, 0, 1, 't', 0, 0, 1, 0, 1, 'k', 0, 2, 'v'), wire.ErrTruncated},
		{"pub header empty key", raw(wire.TypePublish, 0, 0, 1, 't', 0, 0, 1, 0, 0, 0, 1, 'v'), wire.ErrHeader},
		{"msg truncated", raw(wire.TypeMessage, fixed(1)[:20]...), wire.ErrTruncated},
		{"msg sid 0", raw(wire.TypeMessage, append(fixed(0), 0, 1, 't', 0, 0, 0)...), wire.ErrSID},
		{"msg reserved flag", raw(wire.TypeMessage, append(append([]byte{0x40}, fixed(1)[1:]...), 0, 1, 't', 0, 0, 0)...), wire.ErrFlags},
		{"msg empty topic", raw(wire.TypeMessage, append(fixed(1), 0, 0, 0, 0, 0)...), wire.ErrEmptyTopic},
		{"msg qos 1 without id", raw(wire.TypeMessage, append(append([]byte{1}, fixed(1)[1:]...), 0, 1, 't', 0, 0, 0)...), wire.ErrMissingID},
		{"msg topic past end", raw(wire.TypeMessage, append(fixed(1), 0, 9, 't')...), wire.ErrTruncated},
		{"ack truncated", raw(wire.TypePubAck, 0, 0, 0, 0, 0), wire.ErrTruncated},
		{"ack no id", raw(wire.TypePubAck, 0, 0, 0, 0, 0, 0), wire.ErrMissingID},
		{"ack id past end", raw(wire.TypePubRec, 0, 0, 0, 0, 0, 2, 'i'), wire.ErrTruncated},
		{"ack trailing", raw(wire.TypePubComp, 0, 0, 0, 0, 0, 1, 'i', 'j'), wire.ErrTrailing},
		{"ack ok with text", raw(wire.TypePubAck, 0, 0, 0, 0, 0, 1, 'i', 0, 1, 'x'), wire.ErrTrailing},
		{"ack empty text", raw(wire.TypePubAck, 0, 0, 0, 0, 3, 1, 'i', 0, 0), wire.ErrTrailing},
		{"ack text past end", raw(wire.TypePubAck, 0, 0, 0, 0, 3, 1, 'i', 0, 2, 'x'), wire.ErrTruncated},
		{"ack text trailing", raw(wire.TypePubAck, 0, 0, 0, 0, 3, 1, 'i', 0, 1, 'x', 'y'), wire.ErrTrailing},
		{"ack offset 0", raw(wire.TypePubAck, 0, 0, 0, 1, 0, 1, 'i', 0, 0, 0, 0, 0, 0, 0, 0), wire.ErrTrailing},
		{"ack of a publish with an offset", raw(wire.TypePubAck, 0, 0, 0, 0, 0, 1, 'i', 0, 0, 0, 0, 0, 0, 0, 1), wire.ErrTrailing},
		{"ack offset short", raw(wire.TypePubAck, 0, 0, 0, 1, 0, 1, 'i', 0, 0, 0, 1), wire.ErrTrailing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := bytes.Clone(tc.in)
			f, n, err := wire.Parse(tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse(%x) = %v, want %v", tc.in, err, tc.want)
			}
			if n != 0 || f.Type != 0 {
				t.Errorf("Parse(%x) failed but gave %d bytes and type %v", tc.in, n, f.Type)
			}
			if !strings.HasPrefix(err.Error(), "whispeer: ") {
				t.Errorf("error %q does not start with %q", err, "whispeer: ")
			}
			if !bytes.Equal(in, tc.in) {
				t.Error("Parse changed its input")
			}
			if got := wire.ErrorCode(err); got == wire.CodeOK || got == wire.CodeInternal {
				t.Errorf("ErrorCode(%v) = %v", err, got)
			}
		})
	}
}

func TestAppend_Errors(t *testing.T) {
	long := func(n int) []byte { return bytes.Repeat([]byte{'a'}, n) }
	tp := []byte("t")
	for _, tc := range []struct {
		name   string
		append func([]byte) ([]byte, error)
		want   error
	}{
		{"frame of no type", frame(wire.Frame{}), wire.ErrUnknownType},
		{"pub empty topic", pub(wire.Publish{}), wire.ErrEmptyTopic},
		{"pub qos 3", pub(wire.Publish{QoS: 3, Topic: tp, ID: tp}), wire.ErrQoS},
		{"pub qos 1 without id", pub(wire.Publish{QoS: 1, Topic: tp}), wire.ErrMissingID},
		{"pub topic too long", pub(wire.Publish{Topic: long(1 << 16)}), wire.ErrTooLong},
		{"pub id too long", pub(wire.Publish{Topic: tp, ID: long(256)}), wire.ErrTooLong},
		{"pub too large", pub(wire.Publish{Topic: tp, Payload: long(wire.MaxFrameSize)}), wire.ErrTooLarge},
		{"msg sid 0", msg(wire.Message{Topic: tp}), wire.ErrSID},
		{"msg empty topic", msg(wire.Message{SID: 1}), wire.ErrEmptyTopic},
		{"msg id too long", msg(wire.Message{SID: 1, Topic: tp, ID: long(256)}), wire.ErrTooLong},
		{"msg too large", msg(wire.Message{SID: 1, Topic: tp, Payload: long(wire.MaxFrameSize - 27)}), wire.ErrTooLarge},
		{"msg body empty topic", msgBody(wire.Message{}), wire.ErrEmptyTopic},
		{"msg body too large", msgBody(wire.Message{Topic: tp, Payload: long(wire.MaxFrameSize)}), wire.ErrTooLarge},
		{"msg body topic too long", msgBody(wire.Message{Topic: long(1 << 16)}), wire.ErrTooLong},
		{"msg head body too large", func(b []byte) ([]byte, error) {
			return wire.AppendMessageHead(b, &wire.Message{SID: 1, Topic: tp}, wire.MaxFrameSize)
		}, wire.ErrTooLarge},
		{"ack of type PUB", func(b []byte) ([]byte, error) {
			return wire.AppendAck(b, wire.TypePublish, &wire.Ack{ID: tp})
		}, wire.ErrUnknownType},
		{"ack without id", frame(wire.Frame{Type: wire.TypePubAck}), wire.ErrMissingID},
		{"ack ok with text", frame(wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{ID: tp, Text: tp}}), wire.ErrCode},
		{"ack id too long", frame(wire.Frame{Type: wire.TypePubRel, Ack: wire.Ack{ID: long(256)}}), wire.ErrTooLong},
		{"ack of a publish with an offset", frame(wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{ID: tp, Offset: 1}}), wire.ErrSID},
		{"ack offset with a code", frame(wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: 1, Code: wire.CodeInvalid, ID: tp, Offset: 1}}), wire.ErrCode},
		{"hello version 0", frame(wire.Frame{Type: wire.TypeHello}), wire.ErrVersion},
		{"hello v1 with ext", hello(wire.Hello{Version: 1, Ext: []byte{1}}), wire.ErrTrailing},
		{"hello session too long", hello(wire.Hello{Version: 1, Session: long(256)}), wire.ErrTooLong},
		{"hello name too long", hello(wire.Hello{Version: 1, Name: long(256)}), wire.ErrTooLong},
		{"hello too large", hello(wire.Hello{Version: 2, Ext: long(wire.MaxFrameSize)}), wire.ErrTooLarge},
		{"welcome version 0", frame(wire.Frame{Type: wire.TypeWelcome}), wire.ErrVersion},
		{"welcome server too long", frame(wire.Frame{Type: wire.TypeWelcome,
			Welcome: wire.Welcome{Version: 1, Server: long(256)}}), wire.ErrTooLong},
		{"auth token too long", frame(wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: long(1 << 16)}}), wire.ErrTooLong},
		{"login user too long", frame(wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: long(256)}}), wire.ErrTooLong},
		{"login password too long", frame(wire.Frame{Type: wire.TypeLogin,
			Login: wire.Login{Password: long(1 << 16)}}), wire.ErrTooLong},
		{"authok token too long", frame(wire.Frame{Type: wire.TypeAuthOK,
			AuthOK: wire.AuthOK{Token: long(1 << 16)}}), wire.ErrTooLong},
		{"error code 0", frame(wire.Frame{Type: wire.TypeError}), wire.ErrCode},
		{"error unknown ref", frame(wire.Frame{Type: wire.TypeError, Error: wire.Error{Code: 1, Ref: 0x30}}), wire.ErrCode},
		{"sub sid 0", sub(wire.Subscribe{Topic: tp}), wire.ErrSID},
		{"sub qos 3", sub(wire.Subscribe{SID: 1, QoS: 3, Topic: tp}), wire.ErrQoS},
		{"sub resume mode 4", sub(wire.Subscribe{SID: 1, Resume: wire.Resume{Mode: 4}, Topic: tp}), wire.ErrResume},
		{"sub empty topic", sub(wire.Subscribe{SID: 1}), wire.ErrEmptyTopic},
		{"sub topic too long", sub(wire.Subscribe{SID: 1, Topic: long(1 << 16)}), wire.ErrTooLong},
		{"unsub sid 0", frame(wire.Frame{Type: wire.TypeUnsubscribe}), wire.ErrSID},
		{"suback sid 0", frame(wire.Frame{Type: wire.TypeSubAck}), wire.ErrSID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := tc.append(dst)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if string(got) != "keep" {
				t.Errorf("dst = %.20q, want it unchanged", got)
			}
			if !strings.HasPrefix(err.Error(), "whispeer: ") {
				t.Errorf("error %q does not start with %q", err, "whispeer: ")
			}
		})
	}
}

// frame returns an AppendFrame of f, for TestAppend_Errors.
func frame(f wire.Frame) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) { return wire.AppendFrame(b, &f) }
}

// pub returns an AppendPublish of p.
func pub(p wire.Publish) func([]byte) ([]byte, error) {
	return frame(wire.Frame{Type: wire.TypePublish, Publish: p})
}

// msg returns an AppendMessage of m.
func msg(m wire.Message) func([]byte) ([]byte, error) {
	return frame(wire.Frame{Type: wire.TypeMessage, Message: m})
}

// msgBody returns an AppendMessageBody of m.
func msgBody(m wire.Message) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) { return wire.AppendMessageBody(b, &m) }
}

// hello returns an AppendHello of h.
func hello(h wire.Hello) func([]byte) ([]byte, error) {
	return frame(wire.Frame{Type: wire.TypeHello, Hello: h})
}

// sub returns an AppendSubscribe of s.
func sub(s wire.Subscribe) func([]byte) ([]byte, error) {
	return frame(wire.Frame{Type: wire.TypeSubscribe, Subscribe: s})
}

// TestAppend_LongTextIsCut checks that ERROR and SUBACK texts too long
// for their field are cut at a UTF-8 boundary rather than refused.
func TestAppend_LongTextIsCut(t *testing.T) {
	text := []byte(strings.Repeat("é", 40000)) // 80,000 bytes of 2-byte runes
	b, err := wire.AppendError(nil, &wire.Error{Code: wire.CodeInvalid, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := wire.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(f.Error.Text); got != 65534 {
		t.Errorf("text cut to %d bytes, want 65534", got)
	}
	b, err = wire.AppendSubAck(nil, &wire.SubAck{SID: 1, Code: wire.CodeInvalid, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if f, _, err = wire.Parse(b); err != nil || len(f.SubAck.Text) != 65534 {
		t.Errorf("SUBACK text: %d bytes, %v", len(f.SubAck.Text), err)
	}
	b, err = wire.AppendAck(nil, wire.TypePubAck, &wire.Ack{Code: wire.CodeInvalid, ID: []byte("m"), Text: text})
	if err != nil {
		t.Fatal(err)
	}
	if f, _, err = wire.Parse(b); err != nil || len(f.Ack.Text) != 65534 {
		t.Errorf("PUBACK text: %d bytes, %v", len(f.Ack.Text), err)
	}
}

// TestParse_MaxFrameSize parses frames of exactly MaxFrameSize bytes.
func TestParse_MaxFrameSize(t *testing.T) {
	payload := make([]byte, wire.MaxFrameSize-8) // flags, topic "t", id, headers: 8 with the type
	b, err := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("t"), Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint32(b); got != wire.MaxFrameSize {
		t.Fatalf("length prefix %d, want %d", got, wire.MaxFrameSize)
	}
	if _, n, err := wire.Parse(b); err != nil || n != len(b) {
		t.Errorf("Parse = %d, %v", n, err)
	}
	m := wire.Message{SID: 1, Topic: []byte("t"), Payload: payload[:wire.MaxFrameSize-28]}
	if b, err = wire.AppendMessage(b[:0], &m); err != nil {
		t.Fatal(err)
	}
	if _, n, err := wire.Parse(b); err != nil || n != wire.MaxFrameSize+4 {
		t.Errorf("Parse = %d, %v", n, err)
	}
}

func TestErrorCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want wire.Code
	}{
		{nil, wire.CodeOK},
		{wire.ErrTooLarge, wire.CodeTooLarge},
		{fmt.Errorf("read: %w", wire.ErrTooLarge), wire.CodeTooLarge},
		{wire.ErrQoS, wire.CodeInvalid},
		{fmt.Errorf("x: %w", wire.ErrTruncated), wire.CodeInvalid},
		{io.ErrUnexpectedEOF, wire.CodeInternal},
	} {
		if got := wire.ErrorCode(tc.err); got != tc.want {
			t.Errorf("ErrorCode(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
