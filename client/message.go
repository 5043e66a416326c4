package client

import (
	"context"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/tail"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// Message is one delivery to a subscription, shaped like the broker's
// [whispeer.Message]. Each delivery is a fresh Message that the handler
// may keep, unless the subscription borrows (WithBorrow). Its ID, Payload
// and Headers share one allocation with it (two, past about 2 KiB), and so
// does its Topic, unless that is the subscription's own topic, which it
// shares.
type Message struct {
	// Topic is the concrete topic the message was published to.
	Topic string
	// ID identifies the message.
	ID string
	// Payload is the message body, opened when it was sealed end to end.
	Payload []byte
	// Headers are the message's headers as the publisher encoded them,
	// in its order and with its repeated keys, read in place (Get, All,
	// Len, Map); the zero value when there are none.
	Headers Headers
	// QoS is the delivery's guarantee: the lower of the publish's and the
	// subscription's.
	QoS QoS
	// Seq is the message's sequence number (offset) within its topic,
	// from 1; with the topic's epoch (Subscription.Position) it says where
	// to resume from (WithResume).
	Seq uint64
	// Time is when the server accepted the message.
	Time time.Time
	// Redelivered reports a delivery that was made before without being
	// acknowledged.
	Redelivered bool
	// Replayed reports a message from the topic's history (WithLast,
	// WithResume) rather than a live one.
	Replayed bool
	// Envelope reports, for a subscription made WithRawPayload, that
	// Payload is a whispeer envelope (sealed, or only compressed) that the
	// client did not open.
	Envelope bool

	flagged  bool   // the server flagged the payload as an envelope
	borrowed bool   // lent to a handler made WithBorrow, then reused
	gen      uint64 // the connection it arrived on, for the ack
	room     []byte // a borrowed message's storage, which it reuses
}

// Clone returns a copy of m with bytes of its own: the way for a handler
// made WithBorrow to keep a delivery.
func (m *Message) Clone() *Message {
	h := m.Headers.Encoded()
	nt, ni := len(m.Topic), len(m.Topic)+len(m.ID)
	nh := ni + len(h)
	c, b := allocMessage(nh + len(m.Payload))
	copy(b, m.Topic)
	copy(b[nt:], m.ID)
	copy(b[ni:], h)
	copy(b[nh:], m.Payload)
	c.Topic, c.ID, c.Payload = stringOf(b[:nt]), stringOf(b[nt:ni]), b[nh:len(b):len(b)]
	c.Headers = headersOf(b[ni:nh])
	c.QoS, c.Seq, c.Time = m.QoS, m.Seq, m.Time
	c.Redelivered, c.Replayed, c.Envelope, c.flagged, c.gen = m.Redelivered, m.Replayed, m.Envelope, m.flagged, m.gen
	return c
}

// Handler handles one delivery. Returning nil acknowledges a QoS 1
// delivery; returning an error leaves it unacknowledged, so that the
// server delivers it again, and reports the error to the error handler.
// ctx is canceled when the subscription ends.
type Handler func(ctx context.Context, m *Message) error

// newMessage copies a MSG frame, which views the reader's buffer, into a
// Message that shares one allocation with its bytes (see allocMessage).
// topic, when not empty, is m.Topic as a string already held, which the
// Message then shares rather than copies.
func newMessage(m *wire.Message, topic string, gen uint64) *Message {
	msg, b := allocMessage(messageBytes(m, topic))
	fill(msg, b, m, topic, gen)
	return msg
}

// messageBytes returns how many bytes a Message copied from m needs.
func messageBytes(m *wire.Message, topic string) int {
	n := len(m.ID) + len(m.Headers.Encoded()) + len(m.Payload)
	if topic == "" {
		n += len(m.Topic)
	}
	return n
}

// borrowMessage is newMessage for a subscription made WithBorrow: it
// reuses old, a borrowed Message whose handler has returned, when there is
// one with room enough.
func borrowMessage(old *Message, m *wire.Message, topic string, gen uint64) *Message {
	n := messageBytes(m, topic)
	if old == nil || cap(old.room) < n {
		old = &Message{room: make([]byte, 0, max(n, borrowRoom))}
	} else {
		*old = Message{room: old.room}
	}
	old.borrowed = true
	fill(old, old.room[:n], m, topic, gen)
	return old
}

// borrowRoom is the least storage of a borrowed message: enough for the
// topic, id and payload of most small messages, so that it serves them
// all.
const borrowRoom = 512

// fill copies m into msg, with b, of messageBytes(m, topic) bytes, for its
// topic, id, headers and payload.
func fill(msg *Message, b []byte, m *wire.Message, topic string, gen uint64) {
	nt := len(m.Topic)
	if topic != "" {
		nt = 0
	}
	ni := nt + len(m.ID)
	nh := ni + len(m.Headers.Encoded())
	copy(b, m.Topic[:nt])
	copy(b[nt:], m.ID)
	copy(b[ni:], m.Headers.Encoded())
	copy(b[nh:], m.Payload)
	if topic == "" {
		topic = stringOf(b[:nt])
	}
	// Field by field: msg is new, so zero fields need no write, and no
	// Message is copied whole, which costs a write barrier on every pointer
	// in it while the garbage collector runs.
	msg.Topic = topic
	msg.ID = stringOf(b[nt:ni])
	msg.Payload = b[nh:len(b):len(b)]
	if nh > ni {
		msg.Headers = headersOf(b[ni:nh])
	}
	msg.QoS, msg.Seq = QoS(m.QoS), m.Offset
	msg.Redelivered, msg.Replayed, msg.flagged, msg.gen = m.Dup, m.Replay, m.Envelope, gen
	if m.Time != 0 {
		msg.Time = time.Unix(0, m.Time)
	}
}

// Headers are a message's headers, the broker's type: see
// [whispeer.Headers].
type Headers = whispeer.Headers

// headersOf returns the Headers whose encoded form is b, which a frame's
// parser has checked already, viewing b.
func headersOf(b []byte) Headers {
	h, _ := whispeer.DecodeHeaders(b)
	return h
}

// allocMessage returns a new Message and n bytes for it to view: one
// allocation up to tail.Max bytes (see tail.New), two past it.
func allocMessage(n int) (*Message, []byte) {
	if m, b, ok := tail.New[Message](n); ok {
		return m, b
	}
	return new(Message), make([]byte, n)
}
