package whispeer

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/msgid"
	"github.com/whispeer-io/whispeer/internal/tail"
)

// QoS is a delivery guarantee.
type QoS uint8

// The delivery guarantees.
const (
	// AtMostOnce delivers a message zero or one time (QoS 0).
	AtMostOnce QoS = 0
	// AtLeastOnce redelivers until the subscriber accepts it (QoS 1). In the
	// library, an async handler's error triggers a redelivery.
	AtLeastOnce QoS = 1
	// ExactlyOnce (QoS 2) stores and routes a message once per publisher
	// identity ([WithPublisher]) and message id within the broker's
	// de-duplication window ([WithDedup]): a publish repeating an id the
	// broker remembers is answered as the first was and not delivered
	// again, so a publisher that retries with the same id reaches each
	// subscription once. A subscription receives it as at AtLeastOnce,
	// and over a network in two steps (docs/persistence.md, "Exactly
	// once", says what holds across crashes and where it stops).
	ExactlyOnce QoS = 2
)

// Valid reports whether q is one of the three levels.
func (q QoS) Valid() bool { return q <= ExactlyOnce }

// Message is one published message. The broker hands the same *Message to
// every subscriber: treat it, its Payload and its Headers as read-only.
type Message struct {
	// Topic is the concrete topic the message was published to.
	Topic string
	// ID identifies the message; the broker generates a unique one when the
	// publisher gives none.
	ID string
	// Payload is the message body. With encryption on, subscribers see the
	// opened plaintext while everything in between sees the envelope.
	Payload []byte
	// Headers are optional metadata, in their encoded form; the zero
	// value when there are none.
	Headers Headers
	// PublisherID is the identity of an [ExactlyOnce] message's publisher:
	// the StableID of the [Publisher] its publish named ([WithPublisher]),
	// when it is a [StablePublisher] with one, or else its PublisherID.
	// Such messages are de-duplicated per publisher id and ID, and stores
	// keep it with the message. Empty for messages of other QoS and for
	// publishers that named none.
	PublisherID string
	// QoS is the delivery guarantee the publisher asked for.
	QoS QoS
	// Sealed reports that Payload is a whispeer envelope (docs/envelope.md):
	// its publisher said so ([WithSealedPayload], a native PUB's envelope
	// flag, a JSON publish's "sealed"), or the broker's own engine sealed
	// or compressed it ([WithEncryption], [WithCompression]). It travels
	// with the message through every transport and store; nothing infers
	// it from the payload's bytes, so a plaintext payload that happens to
	// begin like an envelope is delivered as the bytes it is. A subscriber
	// that receives the opened payload sees it false.
	Sealed bool
	// borrowed is set on a message in a pooled box, viewing its
	// publisher's payload, id and headers, which its publish reuses once
	// routed: only
	// borrowing handlers (a transport's) see it, and whatever outlives the
	// publish holds kept instead (see keep).
	borrowed bool
	// Seq is the message's sequence number within its topic, from 1.
	Seq uint64
	// Time is when the broker accepted the message.
	Time time.Time

	// publisher is who published the message, set only on a message lent
	// to the synchronous handlers of its publish (see Publisher).
	publisher Publisher
	engine    *envelope.Engine        // set when the broker sealed the payload
	plain     atomic.Pointer[Message] // the opened message, once opened
	kept      *Message                // a borrowed message's lasting copy, once made
}

// Clone returns a copy of m that shares its payload and headers: the way
// to derive a changed message, since a Message must not be copied by value
// once the broker has handed it out.
// A message lent for the length of a call, as a publish that names its
// publisher ([WithPublisher]) lends it to a transport's subscriptions and
// to hooks, is copied whole: the copy's ID, Payload and Headers outlive
// the call, in one allocation with the copy when they are small.
func (m *Message) Clone() *Message {
	if !m.borrowed {
		return &Message{Topic: m.Topic, ID: m.ID, Payload: m.Payload, Headers: m.Headers,
			PublisherID: m.PublisherID, QoS: m.QoS, Sealed: m.Sealed, Seq: m.Seq, Time: m.Time, engine: m.engine}
	}
	box := ownedBox(m.Payload, m.Headers.bytes())
	c := &box.Message
	c.Topic, c.QoS, c.Sealed, c.PublisherID = m.Topic, m.QoS, m.Sealed, m.PublisherID
	c.Seq, c.Time, c.engine = m.Seq, m.Time, m.engine
	c.ID = copyID(box, m.ID)
	return c
}

// keep returns m when it may be kept past its publish, and otherwise, for a
// borrowed message, its lasting copy (Clone), made on the first call and
// shared by every later holder. Only the publishing goroutine calls it: a
// borrowed message is seen by no other.
func (m *Message) keep() *Message {
	if !m.borrowed {
		return m
	}
	if m.kept == nil {
		m.kept = m.Clone()
	}
	return m.kept
}

// copyID returns a lasting copy of id, a borrowed message's, in box when
// it fits.
func copyID(box *boxedMessage, id string) string {
	if len(id) > msgid.Len {
		return strings.Clone(id)
	}
	n := copy(box.id[:], id)
	return unsafe.String(&box.id[0], n)
}

// boxedMessage lets a Message and its generated id share one allocation: the
// id string points into the box, which the string keeps alive.
type boxedMessage struct {
	Message
	id [msgid.Len]byte
}

// Publisher returns who published m when its publisher said so
// ([WithPublisher]) and m is the message of that publish, lent to a
// synchronous handler during it; otherwise nil. A copy of m that outlives
// the publish, as the history, a store or an async queue holds, has none.
func (m *Message) Publisher() Publisher { return m.publisher }

// lent holds the boxes of borrowed messages between publishes.
var lent = sync.Pool{New: func() any { return new(boxedMessage) }}

// newBox returns a box for a message with payload, holding a copy of it
// when copied is set, in the box's own allocation up to tail.Max bytes.
// With borrow as well, it returns a pooled box whose
// message is borrowed and views payload, which is the publisher's only
// during the publish: whatever keeps the message copies it then (keep),
// and the publish hands the box back with recycle once it is routed.
func newBox(payload []byte, copied, borrow bool) *boxedMessage {
	if copied && borrow {
		box := lent.Get().(*boxedMessage)
		box.Payload, box.borrowed = payload, true
		return box
	}
	if !copied || payload == nil {
		return &boxedMessage{Message: Message{Payload: payload}}
	}
	box, buf, ok := tail.New[boxedMessage](len(payload))
	if !ok {
		return &boxedMessage{Message: Message{Payload: bytes.Clone(payload)}}
	}
	copy(buf, payload)
	box.Payload = buf
	return box
}

// ownedBox returns a box for a message with its own copies of payload and
// of the encoded headers hdr, in the box's own allocation when together
// they fit in tail.Max bytes.
func ownedBox(payload, hdr []byte) *boxedMessage {
	if len(hdr) == 0 {
		return newBox(payload, true, false)
	}
	box, buf, ok := tail.New[boxedMessage](len(payload) + len(hdr))
	if !ok {
		box = &boxedMessage{Message: Message{Payload: bytes.Clone(payload)}}
		box.Headers = headersOf(bytes.Clone(hdr))
		return box
	}
	n := copy(buf, hdr)
	box.Headers = headersOf(buf[:n])
	if payload != nil {
		copy(buf[n:], payload)
		box.Payload = buf[n:]
	}
	return box
}

// recycle returns a borrowed box to the pool, cleared, once its publish
// has routed it: every holder that outlives the publish holds its kept
// copy.
func recycle(box *boxedMessage) {
	*box = boxedMessage{}
	lent.Put(box)
}

// fillID gives box the next generated id.
func fillID(g *msgid.Gen, box *boxedMessage) {
	g.Fill(&box.id)
	box.ID = unsafe.String(&box.id[0], msgid.Len)
}

// Limits on what a publisher controls besides the payload.
const (
	MaxIDBytes     = 256  // a message id
	MaxPublisher   = 512  // a publisher id (Publisher.PublisherID)
	MaxHeaders     = 64   // header entries per message
	MaxHeaderBytes = 8192 // all header keys and values together
)

// checkPublished validates the fields a publisher set with options.
func checkPublished(m *Message) error {
	if !m.QoS.Valid() {
		return fmt.Errorf("%w: qos %d", ErrInvalidOption, m.QoS)
	}
	if len(m.ID) > MaxIDBytes {
		return fmt.Errorf("%w: message id of %d bytes, limit %d", ErrInvalidOption, len(m.ID), MaxIDBytes)
	}
	if len(m.PublisherID) > MaxPublisher {
		return fmt.Errorf("%w: publisher id of %d bytes, limit %d", ErrInvalidOption, len(m.PublisherID), MaxPublisher)
	}
	if m.Headers.Len() == 0 {
		return nil
	}
	if m.Headers.Len() > MaxHeaders {
		return fmt.Errorf("%w: %d headers, limit %d", ErrInvalidOption, m.Headers.Len(), MaxHeaders)
	}
	if n := m.Headers.size(); n > MaxHeaderBytes {
		return fmt.Errorf("%w: headers of %d bytes, limit %d", ErrInvalidOption, n, MaxHeaderBytes)
	}
	return nil
}
