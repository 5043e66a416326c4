package wire

// Frame is one parsed frame: its Type and, in the member named after the
// type, its fields. Only that member is meaningful; PING and PONG have none
// and the four acknowledgement types share Ack. Every []byte in a Frame,
// Headers included, views the buffer it was parsed from: it is valid only
// until that buffer is reused, and must be copied to be kept.
type Frame struct {
	Type         Type // the frame's type; it names the member that is set
	Hello        Hello
	Welcome      Welcome
	Auth         Auth
	Login        Login
	AuthOK       AuthOK
	Error        Error
	Subscribe    Subscribe
	Unsubscribe  Unsubscribe
	SubAck       SubAck
	Presence     Presence
	PresenceInfo PresenceInfo
	JoinLeave    JoinLeave
	Publish      Publish
	Message      Message
	Ack          Ack // PUBACK, PUBREC, PUBREL and PUBCOMP
}

// Hello is the HELLO frame, the first frame a client sends. Its first
// fields (magic and version) keep their place in every protocol version.
type Hello struct {
	// Version is the highest protocol version the client speaks, from 1.
	Version uint8
	// Caps are the capabilities the client supports.
	Caps Caps
	// MaxFrame is the largest frame the client accepts; 0 leaves it to the
	// server's default.
	MaxFrame uint32
	// Session names a session to resume, or is empty for a new one.
	Session []byte
	// Name identifies the client software, such as "whispeer-go/1.0".
	Name []byte
	// Ext holds the fields a later protocol version appends to HELLO,
	// unparsed; it is empty unless Version is above this package's.
	Ext []byte
}

// Welcome is the WELCOME frame, the server's reply to HELLO.
type Welcome struct {
	// Version is the protocol version chosen for the connection.
	Version uint8
	// Resumed reports that the session named in HELLO was found.
	Resumed bool
	// Caps are the capabilities granted: those of HELLO the server has.
	Caps Caps
	// MaxFrame is the largest frame the server accepts from the client.
	MaxFrame uint32
	// PingInterval is how often, in milliseconds, the server expects
	// traffic from an idle client; 0 means never.
	PingInterval uint32
	// Session is the session's id, to name in a later HELLO.
	Session []byte
	// Server identifies the server software, such as "whispeer/1.0".
	Server []byte
}

// Auth is the AUTH frame: a JWT.
type Auth struct {
	Token []byte // a JWT
}

// Login is the LOGIN frame: a username and password, answered with a
// token in AUTHOK.
type Login struct {
	User     []byte // the username
	Password []byte // the password, in clear: send it over TLS only
}

// AuthOK is the AUTHOK frame: the connection is authenticated.
type AuthOK struct {
	// Expires is when the credentials expire, in nanoseconds since the Unix
	// epoch; 0 means unknown or never.
	Expires int64
	// Token is the JWT a LOGIN earned; empty after AUTH.
	Token []byte
}

// Error is the ERROR frame. It is not a Go error: its Text views the
// frame's buffer, so a receiver that returns it as one copies it first.
type Error struct {
	// Code is the error class; never CodeOK.
	Code Code
	// Fatal reports that the sender closes the connection after this frame.
	Fatal bool
	// Ref is the type of the frame the error answers, or 0.
	Ref Type
	// Text says what went wrong, for people.
	Text []byte
}

// Subscribe is the SUB frame.
type Subscribe struct {
	// SID is the client's id for the subscription, never 0.
	SID uint32
	// QoS is the highest QoS the client wants deliveries at.
	QoS QoS
	// Presence asks for the join and leave events of the topic's other
	// clients (JOINLEAVE frames), on a connection granted CapPresence.
	Presence bool
	// Resume says where the subscription starts.
	Resume Resume
	// Topic is a topic or pattern, not empty.
	Topic []byte
}

// Resume is a subscription's starting point.
type Resume struct {
	// Mode says which of the other fields count.
	Mode ResumeMode
	// Last is the number of messages ResumeLast replays.
	Last uint32
	// Epoch is the topic's epoch when the client received Offset
	// (ResumeOffset only).
	Epoch uint64
	// Offset is the last offset the client received, 0 for none
	// (ResumeOffset only): delivery continues at Offset+1.
	Offset uint64
}

// Unsubscribe is the UNSUB frame.
type Unsubscribe struct {
	SID uint32 // the subscription's id, from its SUB
}

// SubAck is the SUBACK frame, the result of a SUB.
type SubAck struct {
	// SID is the subscription's id, from the SUB.
	SID uint32
	// Code is CodeOK when the subscription is active.
	Code Code
	// Recovered reports that a resume found every message after the
	// requested offset: no gap. It is false when the history no longer
	// reaches back or the epoch changed.
	Recovered bool
	// Epoch is the topic's current epoch; 0 for patterns.
	Epoch uint64
	// Offset is the topic's newest offset when the subscription took
	// effect; 0 for patterns.
	Offset uint64
	// Text explains a failure; empty on success.
	Text []byte
}

// Publish is the PUB frame.
type Publish struct {
	// QoS is the delivery guarantee.
	QoS QoS
	// Envelope reports that Payload is a whispeer envelope
	// (docs/envelope.md), sealed end to end or compressed.
	Envelope bool
	// Dup marks a retransmission of a QoS 1 or 2 publish.
	Dup bool
	// Topic is the topic, not empty.
	Topic []byte
	// ID is the message id, required for QoS 1 and 2.
	ID []byte
	// Headers are the message's headers.
	Headers Headers
	// Payload is the message body: the rest of the frame.
	Payload []byte
}

// Message is the MSG frame, a delivery. Its first three fields travel in
// the per-subscriber head; the rest is the same for every subscriber.
type Message struct {
	// QoS is the delivery's guarantee.
	QoS QoS
	// Envelope reports that Payload is a whispeer envelope.
	Envelope bool
	// Dup marks a redelivery.
	Dup bool
	// Replay marks a message delivered from history, not live.
	Replay bool
	// SID is the subscription's id.
	SID uint32
	// Offset is the message's sequence number within its topic, from 1.
	Offset uint64
	// Time is when the broker accepted the message, in nanoseconds since
	// the Unix epoch.
	Time int64
	// Topic is the concrete topic the message was published to.
	Topic []byte
	// ID is the message id.
	ID []byte
	// Headers are the message's headers.
	Headers Headers
	// Payload is the message body: the rest of the frame.
	Payload []byte
}

// Ack is the body of the four acknowledgement frames, PUBACK, PUBREC,
// PUBREL and PUBCOMP. SID 0 acknowledges a publish; a subscription's id
// acknowledges a delivery to it.
type Ack struct {
	// SID is 0 for a publish, else the delivery's subscription id.
	SID uint32
	// Code is CodeOK or, answering a publish, why it was refused.
	Code Code
	// ID is the message id, not empty.
	ID []byte
	// Text is why a publish was refused, for people, starting with
	// "whispeer: ": only with a Code other than CodeOK, and only to a peer
	// granted CapReasons; empty otherwise. An encoder cuts it to 65 535
	// bytes, as an ERROR's.
	Text []byte
	// Offset, when not 0, is the offset of the delivery acknowledged (the
	// MSG's), which names it among deliveries on the subscription that
	// share its id: only in a client's acknowledgement of a delivery (SID
	// not 0, CodeOK) on a connection granted CapAckOffset.
	Offset uint64
}
