package wire

import "strconv"

// Protocol versions and limits. See docs/protocol-native.md.
const (
	// Version is the highest protocol version this package speaks.
	Version = 1
	// MinVersion is the lowest protocol version this package speaks.
	MinVersion = 1

	// Magic opens every HELLO frame, so that the first bytes of a native
	// connection are recognisable (see [Sniff]).
	Magic = "WSPR"

	// MaxFrameSize is the protocol's ceiling on a frame's length prefix (the
	// type byte plus the body). Peers announce lower limits in HELLO and
	// WELCOME; a [Reader] enforces its own.
	MaxFrameSize = 16 << 20
	// DefaultMaxFrame is the frame limit of a [Reader] made without one.
	DefaultMaxFrame = 1 << 20

	// HeaderLen is the length of every frame's fixed start: the uint32
	// length prefix and the type byte.
	HeaderLen = 5
	// MessageHeadLen is the length of a MSG frame's per-subscriber head:
	// length, type, flags and subscription id (see [AppendMessageHead]).
	MessageHeadLen = 10
)

// Negotiate returns the protocol version for a connection whose client
// sent version v in HELLO: the lower of v and [Version], or ErrVersion
// when that is below [MinVersion].
func Negotiate(v uint8) (uint8, error) {
	v = min(v, Version)
	if v < MinVersion {
		return 0, ErrVersion
	}
	return v, nil
}

// Type is a frame's type, its fifth byte.
type Type uint8

// The frame types. The zero Type is never valid.
const (
	TypeHello        Type = 0x01 // client → server: magic, version, capabilities
	TypeWelcome      Type = 0x02 // server → client: the reply to HELLO
	TypeAuth         Type = 0x03 // client → server: a JWT
	TypeLogin        Type = 0x04 // client → server: username and password
	TypeAuthOK       Type = 0x05 // server → client: authenticated, maybe with a new token
	TypePing         Type = 0x06 // either way: keep-alive, answered by PONG
	TypePong         Type = 0x07 // either way: the answer to PING
	TypeError        Type = 0x08 // either way: an error code and text
	TypeSubscribe    Type = 0x10 // client → server: start a subscription
	TypeUnsubscribe  Type = 0x11 // client → server: end a subscription
	TypeSubAck       Type = 0x12 // server → client: the result of SUB
	TypePresence     Type = 0x13 // client → server: who is subscribed to a topic
	TypePresenceInfo Type = 0x14 // server → client: the answer to PRESENCE
	TypeJoinLeave    Type = 0x15 // server → client: a client joined or left a subscription's topic
	TypePublish      Type = 0x20 // client → server: publish a message
	TypeMessage      Type = 0x21 // server → client: deliver a message
	TypePubAck       Type = 0x22 // either way: QoS 1 accepted
	TypePubRec       Type = 0x23 // either way: QoS 2, first step: received
	TypePubRel       Type = 0x24 // either way: QoS 2, second step: release
	TypePubComp      Type = 0x25 // either way: QoS 2, done
)

var typeNames = [...]string{
	TypeHello: "HELLO", TypeWelcome: "WELCOME", TypeAuth: "AUTH", TypeLogin: "LOGIN",
	TypeAuthOK: "AUTHOK", TypePing: "PING", TypePong: "PONG", TypeError: "ERROR",
	TypeSubscribe: "SUB", TypeUnsubscribe: "UNSUB", TypeSubAck: "SUBACK",
	TypePresence: "PRESENCE", TypePresenceInfo: "PRESENCEINFO", TypeJoinLeave: "JOINLEAVE",
	TypePublish: "PUB", TypeMessage: "MSG", TypePubAck: "PUBACK", TypePubRec: "PUBREC",
	TypePubRel: "PUBREL", TypePubComp: "PUBCOMP",
}

// Valid reports whether t is one of the frame types.
func (t Type) Valid() bool { return int(t) < len(typeNames) && typeNames[t] != "" }

// String returns the frame type's name, such as "PUB".
func (t Type) String() string {
	if t.Valid() {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// isAck reports whether t is one of the four acknowledgement types.
func (t Type) isAck() bool { return t >= TypePubAck && t <= TypePubComp }

// QoS is a delivery guarantee, 0 to 2.
type QoS uint8

// The delivery guarantees.
const (
	AtMostOnce  QoS = 0 // QoS 0: no acknowledgement
	AtLeastOnce QoS = 1 // QoS 1: PUBACK
	ExactlyOnce QoS = 2 // QoS 2: PUBREC, PUBREL, PUBCOMP
)

// Valid reports whether q is 0, 1 or 2.
func (q QoS) Valid() bool { return q <= ExactlyOnce }

// Caps is a set of capability bits, announced in HELLO and granted in
// WELCOME. Unknown bits are ignored, so that newer peers can add some.
type Caps uint32

// The capability bits.
const (
	// CapE2E: the client seals payloads end to end; the server passes its
	// envelopes through without opening them.
	CapE2E Caps = 1 << 0
	// CapCompression: the client accepts compression-only envelopes, so the
	// server may compress the payloads it delivers.
	CapCompression Caps = 1 << 1
	// CapQoS2: exactly-once publishing and delivery.
	CapQoS2 Caps = 1 << 2
	// CapResume: subscriptions may resume from an offset or replay the last
	// N messages.
	CapResume Caps = 1 << 3
	// CapReasons: an acknowledgement that refuses a publish carries the
	// server's reason (Ack.Text), as an ERROR does.
	CapReasons Caps = 1 << 4
	// CapAckOffset: the client's acknowledgements of deliveries may name
	// the delivered message's offset (Ack.Offset), so that they name one
	// delivery even when two messages on a subscription share an id.
	CapAckOffset Caps = 1 << 5
	// CapPresence: the client may ask who is subscribed to a topic
	// (PRESENCE, PRESENCEINFO) and ask a SUB for the join and leave events
	// of its topic (Subscribe.Presence, JOINLEAVE).
	CapPresence Caps = 1 << 6
)

// Has reports whether c holds every bit of want.
func (c Caps) Has(want Caps) bool { return c&want == want }

// Code is the error code of ERROR, SUBACK and the acknowledgements; 0
// means success. Codes match the broker's error classes.
type Code uint8

// The codes. A peer treats a code it does not know as CodeInternal.
const (
	CodeOK           Code = 0 // success
	CodeInvalid      Code = 1 // malformed input: a bad frame, topic or pattern
	CodeUnauthorized Code = 2 // missing or bad credentials
	CodeForbidden    Code = 3 // authenticated but not allowed
	CodeNotFound     Code = 4 // the thing named does not exist
	CodeConflict     Code = 5 // the request clashes with existing state
	CodeTooLarge     Code = 6 // over a size limit
	CodeLimit        Code = 7 // over a count or rate limit
	CodeUnavailable  Code = 8 // the server is shutting down or overloaded
	CodeInternal     Code = 9 // a bug or an unexpected failure
)

var codeNames = [...]string{"ok", "invalid", "unauthorized", "forbidden", "not_found",
	"conflict", "too_large", "limit", "unavailable", "internal"}

// String returns the code's name, such as "not_found".
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Code(" + strconv.Itoa(int(c)) + ")"
}

// ResumeMode says where a subscription starts.
type ResumeMode uint8

// The resume modes.
const (
	ResumeNone   ResumeMode = 0 // live messages only
	ResumeLast   ResumeMode = 1 // replay the last N messages, then live
	ResumeOffset ResumeMode = 2 // continue after an offset within an epoch
	// ResumeDurable makes a QoS 2 subscription durable under the client's
	// session and the topic or pattern: it continues after the cursor the
	// server saved for it, live for a new one.
	ResumeDurable ResumeMode = 3
)
