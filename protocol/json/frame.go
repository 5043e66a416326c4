package json

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Type is the kind of a client frame, the value of its "type" field.
type Type uint8

// The client frame types. The zero Type is never returned by a successful
// [Parse].
const (
	TypeUnknown       Type = iota // not a valid frame type
	TypeLogin                     // "login": username and password for a token
	TypeAuth                      // "auth": present a token
	TypeSubscribe                 // "subscribe": start receiving a topic or pattern
	TypeUnsubscribe               // "unsubscribe": stop receiving it
	TypePublish                   // "publish": send a payload to a topic
	TypeAck                       // "ack": confirm a QoS 1 delivery
	TypePing                      // "ping": keep-alive, answered by "pong"
	TypePubRec                    // "pubrec": a QoS 2 delivery received
	TypePubRel                    // "pubrel": release a QoS 2 publish
	TypePubComp                   // "pubcomp": a QoS 2 delivery complete
	TypePresence                  // "presence": who is subscribed to a topic
	TypePresenceStats             // "presence_stats": how many are subscribed to a topic
)

// typeNames are the wire names of the types, indexed by Type.
var typeNames = [...]string{
	TypeUnknown:       "unknown",
	TypeLogin:         "login",
	TypeAuth:          "auth",
	TypeSubscribe:     "subscribe",
	TypeUnsubscribe:   "unsubscribe",
	TypePublish:       "publish",
	TypeAck:           "ack",
	TypePing:          "ping",
	TypePubRec:        "pubrec",
	TypePubRel:        "pubrel",
	TypePubComp:       "pubcomp",
	TypePresence:      "presence",
	TypePresenceStats: "presence_stats",
}

// String returns the type's name on the wire, such as "publish".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// parseType returns the Type named name, or TypeUnknown.
func parseType(name []byte) Type {
	switch string(name) {
	case "login":
		return TypeLogin
	case "auth":
		return TypeAuth
	case "subscribe":
		return TypeSubscribe
	case "unsubscribe":
		return TypeUnsubscribe
	case "publish":
		return TypePublish
	case "ack":
		return TypeAck
	case "ping":
		return TypePing
	case "pubrec":
		return TypePubRec
	case "pubrel":
		return TypePubRel
	case "pubcomp":
		return TypePubComp
	case "presence":
		return TypePresence
	case "presence_stats":
		return TypePresenceStats
	}
	return TypeUnknown
}

// Frame is a parsed client frame. Which fields are set depends on Type; see
// the package documentation. String fields are decoded (escapes resolved)
// copies; Payload is not a copy.
type Frame struct {
	Type Type

	Username string // login
	Password string // login; never printed by String or LogValue
	Token    string // auth; never printed by String or LogValue
	// ClientID is an auth's "client_id": the client's stable id, under
	// which the server de-duplicates its QoS 2 publishes.
	ClientID string

	Topic string // subscribe, unsubscribe, publish, presence, presence_stats

	// Payload is the publish payload exactly as the client sent it: one
	// complete JSON value of any kind, without surrounding whitespace. It
	// is a sub-slice of the data given to Parse, not a copy: use or copy it
	// before that buffer is reused.
	Payload json.RawMessage

	MessageID string // publish (required for QoS 1 and 2), ack, pubrec, pubrel, pubcomp
	QoS       uint8  // publish, subscribe: 0, 1 or 2; 0 when absent

	// Encoding is how a publish's Payload holds its bytes ("encoding"):
	// as the JSON value itself (the default), as a JSON string's text, or
	// as {"base64":"…"}. [Frame.PayloadBytes] decodes it.
	Encoding Encoding
	// Sealed is a publish's "sealed": its publisher declares the payload
	// a whispeer envelope (docs/envelope.md), sealed end to end.
	Sealed bool

	// Replay and resume requests on subscribe.
	Last      int    // replay the last Last messages; meaningful if HasLast
	HasLast   bool   // "last" was present
	Offset    uint64 // resume after this offset; meaningful if HasOffset
	HasOffset bool   // "offset" was present
	Epoch     string // the topic epoch the offset belongs to; "" if absent

	// Presence is a subscribe's "presence": the client asks for the join
	// and leave events of the topic's other clients.
	Presence bool
}

// masked replaces a secret in String and LogValue output.
func masked(s string) string {
	if s == "" {
		return ""
	}
	return "[REDACTED]"
}

// String returns a one-line description of f for logs and tests, with the
// password and token masked and the payload's length in place of its bytes.
func (f Frame) String() string {
	return fmt.Sprintf("%s{username:%q password:%q token:%q topic:%q payload:%dB encoding:%s sealed:%t message_id:%q qos:%d last:%d/%t offset:%d/%t epoch:%q presence:%t}",
		f.Type, f.Username, masked(f.Password), masked(f.Token), f.Topic, len(f.Payload), f.Encoding, f.Sealed,
		f.MessageID, f.QoS, f.Last, f.HasLast, f.Offset, f.HasOffset, f.Epoch, f.Presence)
}

// LogValue returns the frame's set fields for log/slog, with the password
// and token masked and the payload's length in place of its bytes.
func (f Frame) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", f.Type.String())}
	add := func(key, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(key, v))
		}
	}
	add("username", f.Username)
	add("password", masked(f.Password))
	add("token", masked(f.Token))
	add("client_id", f.ClientID)
	add("topic", f.Topic)
	if f.Payload != nil {
		attrs = append(attrs, slog.Int("payload_bytes", len(f.Payload)))
	}
	add("message_id", f.MessageID)
	if f.Type == TypePublish {
		attrs = append(attrs, slog.Int("qos", int(f.QoS)))
	}
	if f.HasLast {
		attrs = append(attrs, slog.Int("last", f.Last))
	}
	if f.HasOffset {
		attrs = append(attrs, slog.Uint64("offset", f.Offset))
	}
	add("epoch", f.Epoch)
	if f.Encoding != EncodingJSON {
		attrs = append(attrs, slog.String("encoding", f.Encoding.String()))
	}
	if f.Sealed {
		attrs = append(attrs, slog.Bool("sealed", true))
	}
	if f.Presence {
		attrs = append(attrs, slog.Bool("presence", true))
	}
	return slog.GroupValue(attrs...)
}

var (
	_ fmt.Stringer   = Frame{}
	_ slog.LogValuer = Frame{}
)
