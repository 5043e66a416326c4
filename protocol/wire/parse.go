package wire

import (
	"encoding/binary"
	"fmt"
)

// Parse parses the frame at the front of buf and returns it with its
// length in bytes, like [Frame.Parse]. A Frame is a union of some 700
// bytes, and returning it costs a copy that Frame.Parse, which fills a
// Frame in place, does not: use that on a hot path.
func Parse(buf []byte) (f Frame, n int, err error) {
	if n, err = f.Parse(buf); err != nil {
		return Frame{}, 0, err
	}
	return f, n, nil
}

// Parse parses the frame at the front of buf into f and returns its
// length in bytes. When buf does not yet hold the whole frame it returns
// ErrShort, so that a reader can append more bytes and call it again; a
// length prefix over [MaxFrameSize] is ErrTooLarge before the body
// arrives. Parse validates every field, never reads past the frame, never
// panics and allocates nothing. The frame's slices view buf (see [Frame]);
// after an error, f holds nothing of use.
func (f *Frame) Parse(buf []byte) (n int, err error) {
	if n, err = frameLen(buf, MaxFrameSize); err != nil {
		return 0, err
	}
	if err = f.decode(buf[HeaderLen-1 : n : n]); err != nil {
		return 0, err
	}
	return n, nil
}

// frameLen returns the length of the frame at the front of buf, prefix
// included, once buf holds all of it.
func frameLen(buf []byte, limit int) (int, error) {
	if len(buf) < 4 {
		return 0, ErrShort
	}
	size := binary.BigEndian.Uint32(buf)
	switch {
	case size > uint32(limit):
		return 0, tooLarge(size, limit)
	case size == 0:
		return 0, errZeroLength
	case len(buf)-4 < int(size):
		return 0, ErrShort
	}
	return 4 + int(size), nil
}

// errZeroLength is the error of a zero length prefix.
var errZeroLength = fmt.Errorf("%w: zero length", ErrTruncated)

// tooLarge is the error of a length prefix of size over limit.
func tooLarge(size uint32, limit int) error {
	return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, size, limit)
}

// decode parses one frame, type byte first, without its length prefix.
func (f *Frame) decode(b []byte) error {
	t, body := Type(b[0]), b[1:]
	f.Type = t
	switch t {
	case TypePublish:
		return f.Publish.decode(body)
	case TypeMessage:
		return f.Message.decode(body)
	case TypePubAck, TypePubRec, TypePubRel, TypePubComp:
		return f.Ack.decode(body)
	case TypePing, TypePong:
		return checkEnd(body, 0)
	case TypeSubscribe:
		return f.Subscribe.decode(body)
	case TypeUnsubscribe:
		return f.Unsubscribe.decode(body)
	case TypeSubAck:
		return f.SubAck.decode(body)
	case TypePresence:
		return f.Presence.decode(body)
	case TypePresenceInfo:
		return f.PresenceInfo.decode(body)
	case TypeJoinLeave:
		return f.JoinLeave.decode(body)
	case TypeHello:
		return f.Hello.decode(body)
	case TypeWelcome:
		return f.Welcome.decode(body)
	case TypeAuth:
		return f.Auth.decode(body)
	case TypeLogin:
		return f.Login.decode(body)
	case TypeAuthOK:
		return f.AuthOK.decode(body)
	case TypeError:
		return f.Error.decode(body)
	}
	return fmt.Errorf("%w: 0x%02x", ErrUnknownType, byte(t))
}

// checkEnd reports whether a frame's fields ended exactly at its end.
func checkEnd(b []byte, i int) error {
	if i < len(b) {
		return fmt.Errorf("%w: %d bytes", ErrTrailing, len(b)-i)
	}
	return nil
}

// The flag bits of PUB and MSG. QoS takes the two low bits.
const (
	flagQoS      = 0x03
	flagEnvelope = 0x04
	flagDup      = 0x08
	flagReplay   = 0x10 // MSG only

	pubFlags = flagQoS | flagEnvelope | flagDup
	msgFlags = pubFlags | flagReplay
)

// decode parses a PUB body: flags, topic, id, headers, payload.
func (p *Publish) decode(b []byte) error {
	if len(b) < 1+2 {
		return ErrTruncated
	}
	fl := b[0]
	if fl&^pubFlags != 0 {
		return ErrFlags
	}
	i, topic, id, h, err := decodeRoute(b, 1)
	if err != nil {
		return err
	}
	// Field by field, not *p = Publish{...}: the literal is built on the
	// stack and copied in 16-byte loads from the 8-byte stores that made
	// it, which the CPU cannot forward, a stall on every frame.
	p.QoS = QoS(fl & flagQoS)
	p.Envelope = fl&flagEnvelope != 0
	p.Dup = fl&flagDup != 0
	p.Topic = topic
	p.ID = id
	p.Headers = h
	p.Payload = rest(b, i)
	return checkMessage(p.QoS, p.Topic, p.ID)
}

// decode parses a MSG body: flags, sid, offset, time, topic, id,
// headers, payload.
func (m *Message) decode(b []byte) error {
	if len(b) < 1+4+8+8+2 {
		return ErrTruncated
	}
	fl := b[0]
	if fl&^msgFlags != 0 {
		return ErrFlags
	}
	i, topic, id, h, err := decodeRoute(b, 1+4+8+8)
	if err != nil {
		return err
	}
	// Field by field, as in Publish.decode.
	m.QoS = QoS(fl & flagQoS)
	m.Envelope = fl&flagEnvelope != 0
	m.Dup = fl&flagDup != 0
	m.Replay = fl&flagReplay != 0
	m.SID = binary.BigEndian.Uint32(b[1:])
	m.Offset = binary.BigEndian.Uint64(b[5:])
	m.Time = int64(binary.BigEndian.Uint64(b[13:]))
	m.Topic = topic
	m.ID = id
	m.Headers = h
	m.Payload = rest(b, i)
	if m.SID == 0 {
		return ErrSID
	}
	return checkMessage(m.QoS, m.Topic, m.ID)
}

// decodeRoute parses the fields PUB and MSG share from b[i:]: topic, id
// and headers. It returns where the payload starts.
func decodeRoute(b []byte, i int) (int, []byte, []byte, Headers, error) {
	topic, i, ok := str16(b, i)
	if !ok {
		return 0, nil, nil, Headers{}, ErrTruncated
	}
	id, i, ok := str8(b, i)
	if !ok || len(b)-i < 2 {
		return 0, nil, nil, Headers{}, ErrTruncated
	}
	if b[i] == 0 && b[i+1] == 0 { // no headers, the usual case
		return i + 2, topic, id, Headers{}, nil
	}
	h, n, err := parseHeaders(b[i:])
	return i + n, topic, id, h, err
}

// checkMessage applies the rules PUB and MSG share.
func checkMessage(q QoS, topic, id []byte) error {
	switch {
	case !q.Valid():
		return ErrQoS
	case len(topic) == 0:
		return ErrEmptyTopic
	case q > AtMostOnce && len(id) == 0:
		return ErrMissingID
	}
	return nil
}

// decode parses an acknowledgement body: sid, code, id and, for a
// refusal, an optional text that is not empty or, for a delivery's
// acknowledgement, an optional offset that is not 0.
func (a *Ack) decode(b []byte) error {
	if len(b) < 4+1+1 {
		return ErrTruncated
	}
	id, i, ok := str8(b, 5)
	if !ok {
		return ErrTruncated
	}
	a.SID, a.Code, a.ID, a.Text, a.Offset = binary.BigEndian.Uint32(b), Code(b[4]), id, nil, 0 // as in Publish.decode
	if len(id) == 0 {
		return ErrMissingID
	}
	switch {
	case i == len(b):
		return nil
	case a.Code == CodeOK && a.SID != 0 && len(b)-i == 8:
		if a.Offset = binary.BigEndian.Uint64(b[i:]); a.Offset == 0 {
			return ErrTrailing // an offset of 0 is written as none, so that each frame has one encoding
		}
		return nil
	case a.Code == CodeOK:
		return ErrTrailing
	}
	text, j, ok := str16(b, i)
	switch {
	case !ok:
		return ErrTruncated
	case len(text) == 0: // an empty text is encoded as none, so that each frame has one encoding
		return ErrTrailing
	}
	a.Text = text
	return checkEnd(b, j)
}

// str8 reads a field with a uint8 length prefix at b[i:]. It returns the
// field (nil when empty, capped so appending to it cannot reach the next
// field), where the next field starts, and false if b is too short.
func str8(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) {
		return nil, i, false
	}
	return field(b, i+1, int(b[i]))
}

// str16 reads a field with a uint16 length prefix, like [str8].
func str16(b []byte, i int) ([]byte, int, bool) {
	if len(b)-i < 2 {
		return nil, i, false
	}
	return field(b, i+2, int(binary.BigEndian.Uint16(b[i:])))
}

// field returns b[i:i+n], capped.
func field(b []byte, i, n int) ([]byte, int, bool) {
	if len(b)-i < n {
		return nil, i, false
	}
	if n == 0 {
		return nil, i, true
	}
	return b[i : i+n : i+n], i + n, true
}

// rest returns b[i:], nil when empty.
func rest(b []byte, i int) []byte {
	if i >= len(b) {
		return nil
	}
	return b[i:]
}
