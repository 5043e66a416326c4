package wire

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// The Append functions append one whole frame to dst and return the
// extended slice. They validate as [Parse] does, so that whatever they
// encode parses back to the same fields; on an error they return dst
// unchanged. They allocate only when dst lacks the capacity.

const (
	maxUint8  = 1<<8 - 1
	maxUint16 = 1<<16 - 1
)

// AppendFrame appends f, the member that f.Type names.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	switch f.Type {
	case TypePublish:
		return AppendPublish(dst, &f.Publish)
	case TypeMessage:
		return AppendMessage(dst, &f.Message)
	case TypePubAck, TypePubRec, TypePubRel, TypePubComp:
		return AppendAck(dst, f.Type, &f.Ack)
	case TypePing:
		return AppendPing(dst), nil
	case TypePong:
		return AppendPong(dst), nil
	case TypeSubscribe:
		return AppendSubscribe(dst, &f.Subscribe)
	case TypeUnsubscribe:
		return AppendUnsubscribe(dst, &f.Unsubscribe)
	case TypeSubAck:
		return AppendSubAck(dst, &f.SubAck)
	case TypePresence:
		return AppendPresence(dst, &f.Presence)
	case TypePresenceInfo:
		return AppendPresenceInfo(dst, &f.PresenceInfo)
	case TypeJoinLeave:
		return AppendJoinLeave(dst, &f.JoinLeave)
	case TypeHello:
		return AppendHello(dst, &f.Hello)
	case TypeWelcome:
		return AppendWelcome(dst, &f.Welcome)
	case TypeAuth:
		return AppendAuth(dst, &f.Auth)
	case TypeLogin:
		return AppendLogin(dst, &f.Login)
	case TypeAuthOK:
		return AppendAuthOK(dst, &f.AuthOK)
	case TypeError:
		return AppendError(dst, &f.Error)
	}
	return dst, fmt.Errorf("%w: 0x%02x", ErrUnknownType, byte(f.Type))
}

// AppendPublish appends a PUB frame.
func AppendPublish(dst []byte, p *Publish) ([]byte, error) {
	if err := checkMessage(p.QoS, p.Topic, p.ID); err != nil {
		return dst, err
	}
	if err := checkRoute(p.Topic, p.ID); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypePublish, 1+routeSize(p.Topic, p.ID, p.Headers, p.Payload))
	if err != nil {
		return dst, err
	}
	b = append(b, flags(p.QoS, p.Envelope, p.Dup, false))
	return appendRoute(b, p.Topic, p.ID, p.Headers, p.Payload), nil
}

// AppendMessage appends a MSG frame. A server that delivers one message
// to many subscribers encodes its body once with [AppendMessageBody] and
// writes it after each subscriber's [AppendMessageHead].
func AppendMessage(dst []byte, m *Message) ([]byte, error) {
	if err := checkRoute(m.Topic, m.ID); err != nil {
		return dst, err
	}
	size := messageBodySize(m)
	b, err := AppendMessageHead(slices.Grow(dst, MessageHeadLen+size), m, size)
	if err != nil {
		return dst, err
	}
	return appendMessageBody(b, m), nil
}

// AppendMessageHead appends the first [MessageHeadLen] bytes of a MSG
// frame, those that differ per subscriber: the length prefix for a body of
// bodyLen bytes, the type, m's flags (QoS, Envelope, Dup, Replay) and
// m.SID. The rest of m is read only to validate it.
func AppendMessageHead(dst []byte, m *Message, bodyLen int) ([]byte, error) {
	if m.SID == 0 {
		return dst, ErrSID
	}
	if err := checkMessage(m.QoS, m.Topic, m.ID); err != nil {
		return dst, err
	}
	size := MessageHeadLen - HeaderLen + bodyLen
	if err := checkSize(size); err != nil {
		return dst, err
	}
	b := appendHead(slices.Grow(dst, MessageHeadLen), TypeMessage, size)
	b = append(b, flags(m.QoS, m.Envelope, m.Dup, m.Replay))
	return binary.BigEndian.AppendUint32(b, m.SID), nil
}

// AppendMessageBody appends the part of a MSG frame that is the same for
// every subscriber: offset, time, topic, id, headers and payload.
func AppendMessageBody(dst []byte, m *Message) ([]byte, error) {
	if len(m.Topic) == 0 {
		return dst, ErrEmptyTopic
	}
	if err := checkRoute(m.Topic, m.ID); err != nil {
		return dst, err
	}
	size := messageBodySize(m)
	if size > MaxFrameSize-(MessageHeadLen-4) {
		return dst, fmt.Errorf("%w: %d bytes", ErrTooLarge, size)
	}
	return appendMessageBody(slices.Grow(dst, size), m), nil
}

// messageBodySize is the length of what AppendMessageBody appends.
func messageBodySize(m *Message) int {
	return 8 + 8 + routeSize(m.Topic, m.ID, m.Headers, m.Payload)
}

// appendMessageBody appends a validated message's body.
func appendMessageBody(b []byte, m *Message) []byte {
	b = binary.BigEndian.AppendUint64(b, m.Offset)
	b = binary.BigEndian.AppendUint64(b, uint64(m.Time))
	return appendRoute(b, m.Topic, m.ID, m.Headers, m.Payload)
}

// AppendAck appends an acknowledgement frame of type t: TypePubAck,
// TypePubRec, TypePubRel or TypePubComp. A refusal's Text follows the id
// when it is not empty, cut to fit rather than refused.
func AppendAck(dst []byte, t Type, a *Ack) ([]byte, error) {
	if !t.isAck() {
		return dst, fmt.Errorf("%w: %v is not an acknowledgement", ErrUnknownType, t)
	}
	if len(a.ID) == 0 {
		return dst, ErrMissingID
	}
	if err := fits("message id", len(a.ID), maxUint8); err != nil {
		return dst, err
	}
	if len(a.Text) > 0 && a.Code == CodeOK {
		return dst, fmt.Errorf("%w: a text in an acknowledgement with code ok", ErrCode)
	}
	switch {
	case a.Offset == 0:
	case a.SID == 0:
		return dst, fmt.Errorf("%w: an offset in the acknowledgement of a publish", ErrSID)
	case a.Code != CodeOK:
		return dst, fmt.Errorf("%w: an offset in an acknowledgement with a code", ErrCode)
	}
	size := 4 + 1 + 1 + len(a.ID)
	text := cut(a.Text, maxUint16)
	if len(text) > 0 {
		size += 2 + len(text)
	}
	if a.Offset != 0 {
		size += 8
	}
	b, err := begin(dst, t, size)
	if err != nil {
		return dst, err
	}
	b = binary.BigEndian.AppendUint32(b, a.SID)
	b = append(b, byte(a.Code))
	b = appendStr8(b, a.ID)
	if len(text) > 0 {
		b = appendStr16(b, text)
	}
	if a.Offset != 0 {
		b = binary.BigEndian.AppendUint64(b, a.Offset)
	}
	return b, nil
}

// AppendPing appends a PING frame.
func AppendPing(dst []byte) []byte { return append(dst, 0, 0, 0, 1, byte(TypePing)) }

// AppendPong appends a PONG frame.
func AppendPong(dst []byte) []byte { return append(dst, 0, 0, 0, 1, byte(TypePong)) }

// flags packs the flag byte of PUB and MSG.
func flags(q QoS, envelope, dup, replay bool) byte {
	b := byte(q)
	if envelope {
		b |= flagEnvelope
	}
	if dup {
		b |= flagDup
	}
	if replay {
		b |= flagReplay
	}
	return b
}

// checkRoute checks the lengths of a PUB's or MSG's topic and id.
func checkRoute(topic, id []byte) error {
	if err := fits("topic", len(topic), maxUint16); err != nil {
		return err
	}
	return fits("message id", len(id), maxUint8)
}

// routeSize is the length of topic, id, headers and payload on the wire.
func routeSize(topic, id []byte, h Headers, payload []byte) int {
	return 2 + len(topic) + 1 + len(id) + h.size() + len(payload)
}

// appendRoute appends the fields PUB and MSG share.
func appendRoute(b, topic, id []byte, h Headers, payload []byte) []byte {
	b = appendStr16(b, topic)
	b = appendStr8(b, id)
	b = h.appendTo(b)
	return append(b, payload...)
}

// begin checks that a body of size bytes makes a frame within
// MaxFrameSize, grows dst to hold it and appends the length prefix and
// the type.
func begin(dst []byte, t Type, size int) ([]byte, error) {
	if err := checkSize(size); err != nil {
		return dst, err
	}
	return appendHead(slices.Grow(dst, HeaderLen+size), t, size), nil
}

// checkSize reports whether a body of size bytes makes a frame within
// MaxFrameSize.
func checkSize(size int) error {
	if size > MaxFrameSize-1 {
		return fmt.Errorf("%w: %d bytes", ErrTooLarge, 1+size)
	}
	return nil
}

// appendHead appends the length prefix and the type of a frame whose body
// is size bytes.
func appendHead(b []byte, t Type, size int) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(1+size))
	return append(b, byte(t))
}

// fits reports whether a field of n bytes fits a length prefix of max.
func fits(name string, n, max int) error {
	if n > max {
		return fmt.Errorf("%w: %s of %d bytes, at most %d", ErrTooLong, name, n, max)
	}
	return nil
}

// appendStr8 appends s with a uint8 length prefix; s fits.
func appendStr8[S ~string | ~[]byte](b []byte, s S) []byte {
	return append(append(b, byte(len(s))), s...)
}

// appendStr16 appends s with a uint16 length prefix; s fits.
func appendStr16[S ~string | ~[]byte](b []byte, s S) []byte {
	return append(binary.BigEndian.AppendUint16(b, uint16(len(s))), s...)
}
