package client

import (
	"context"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// Message is one delivery to a subscription, shaped like the broker's
// [whispeer.Message]. Each delivery is a fresh Message that the handler
// may keep; its Topic and ID share one allocation with its Payload.
type Message struct {
	// Topic is the concrete topic the message was published to.
	Topic string
	// ID identifies the message.
	ID string
	// Payload is the message body, opened when it was sealed end to end.
	Payload []byte
	// Headers are the message's headers; nil when there are none.
	Headers map[string]string
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

	flagged bool   // the server flagged the payload as an envelope
	gen     uint64 // the connection it arrived on, for the ack
}

// Handler handles one delivery. Returning nil acknowledges a QoS 1
// delivery; returning an error leaves it unacknowledged, so that the
// server delivers it again, and reports the error to the error handler.
// ctx is canceled when the subscription ends.
type Handler func(ctx context.Context, m *Message) error

// newMessage copies a MSG frame, which views the reader's buffer, into a
// Message with one allocation for its bytes.
func newMessage(m *wire.Message, gen uint64) *Message {
	nt, ni := len(m.Topic), len(m.Topic)+len(m.ID)
	b := make([]byte, ni+len(m.Payload))
	copy(b, m.Topic)
	copy(b[nt:], m.ID)
	copy(b[ni:], m.Payload)
	msg := &Message{
		Topic:       stringOf(b[:nt]),
		ID:          stringOf(b[nt:ni]),
		Payload:     b[ni:len(b):len(b)],
		Headers:     m.Headers.Map(),
		QoS:         QoS(m.QoS),
		Seq:         m.Offset,
		Redelivered: m.Dup,
		Replayed:    m.Replay,
		flagged:     m.Envelope,
		gen:         gen,
	}
	if m.Time != 0 {
		msg.Time = time.Unix(0, m.Time)
	}
	return msg
}
