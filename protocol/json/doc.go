// Package json implements the PopSub JSON protocol, the text protocol that
// browser and PopSub clients speak to a whispeer server over WebSocket. It
// is a codec only: [Parse] turns a client frame into a [Frame], and the
// Append functions write server frames into a byte slice. Networking,
// sessions and authorization belong to the server.
//
// Every frame is one JSON object in one WebSocket text message, with a
// "type" field naming its kind. Field names are matched exactly (they are
// case-sensitive); fields a frame's type does not use are ignored, as are
// unknown fields, so clients may send extra fields.
//
// # Client frames
//
// login asks for a token. username must be non-empty; password must be
// present (the server decides whether an empty one can match):
//
//	{"type":"login","username":"admin","password":"password"}
//
// auth presents a token, from a login or from `whispeer token`; it must be
// done before subscribe, unsubscribe and publish:
//
//	{"type":"auth","token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…"}
//
// subscribe starts delivery of a topic or pattern ("+" or "*" for one
// level, a last "#" for a level and everything below it). Three optional
// fields ask for history: "last" (a non-negative integer) replays the last
// N messages; "offset" (a non-negative integer) resumes after that offset
// of the topic's history, and "epoch" (a string holding the decimal
// number the server sent in "subscribed") names the history the offset
// belongs to:
//
//	{"type":"subscribe","topic":"chat"}
//	{"type":"subscribe","topic":"chat","last":10}
//	{"type":"subscribe","topic":"chat","offset":42,"epoch":"9182736455463728190"}
//
// unsubscribe stops it:
//
//	{"type":"unsubscribe","topic":"chat"}
//
// publish sends a payload to a topic. payload is required and may be any
// JSON value — string, number, object, array, true, false or null — and is
// delivered to subscribers byte for byte as the publisher wrote it. qos is
// 0 (at most once, the default), 1 (at least once) or 2 (exactly once);
// message_id is optional at QoS 0 and required at QoS 1 and 2, where it
// names the message in acks and retries:
//
//	{"type":"publish","topic":"chat","payload":"Hello world!"}
//	{"type":"publish","topic":"my_critical_topic","payload":"Important message!",
//	 "message_id":"some_unique_message_id_123","qos":1}
//
// Two optional publish fields go beyond PopSub. "encoding" says how the
// payload holds its bytes: "json" (the default) the value itself, "text"
// a string's text, "base64" an object {"base64":"…"} ([Frame.PayloadBytes]
// decodes them). "sealed", a boolean, declares the payload a whispeer
// envelope sealed by its publisher:
//
//	{"type":"publish","topic":"secret","payload":{"base64":"wVcBAAEAAAAB…"},
//	 "encoding":"base64","sealed":true}
//
// ack confirms a QoS 1 delivery, by the message_id of the message frame:
//
//	{"type":"ack","message_id":"some_unique_message_id_123"}
//
// Exactly once (QoS 2) adds three frames, each naming a message_id: pubrel
// releases a publish the server answered with pubrec; pubrec and pubcomp,
// with the delivery's optional offset, are a subscriber's two steps of a
// QoS 2 delivery. An auth's optional "client_id" names the client across
// its connections, and a subscribe's optional "qos" (2) asks for QoS 2
// deliveries:
//
//	{"type":"pubrel","message_id":"o-9"}
//	{"type":"pubrec","message_id":"o-9","offset":43}
//	{"type":"pubcomp","message_id":"o-9","offset":43}
//
// ping asks for a pong, to keep the connection alive or measure latency:
//
//	{"type":"ping"}
//
// presence asks who is subscribed to a topic or pattern (the exact string
// subscribed to), presence_stats only how many clients and users; a
// subscribe's optional "presence" (a boolean) asks for the join and leave
// events of its topic's other clients ([AppendPresence],
// [AppendPresenceStats], [AppendJoin]):
//
//	{"type":"presence","topic":"chat"}
//	{"type":"presence_stats","topic":"chat"}
//	{"type":"subscribe","topic":"chat","presence":true}
//
// A field set to null counts as absent, except payload, where null is a
// value. A required string field that is empty counts as missing, except
// password.
//
// # Server frames
//
// The server answers with these frames, written by the Append functions.
// login_response carries the token ([AppendLoginResponse]):
//
//	{"type":"login_response","token":"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9…"}
//
// authenticated confirms an auth; "status" is there for clients written
// against PopSub's first README ([AppendAuthenticated]):
//
//	{"type":"authenticated","status":"authenticated"}
//
// error reports any failure, the text under both "error" and "message" so
// that either kind of client finds it ([AppendError]), and, answering a
// frame that named them, its "topic" and "message_id" ([AppendErrorFor]):
//
//	{"type":"error","error":"authentication failed","message":"authentication failed"}
//	{"type":"error","error":"permission denied: …","message":"permission denied: …",
//	 "topic":"chat/bob","message_id":"o-8"}
//
// message delivers a publication ([AppendDelivery], [AppendMessage],
// [AppendMessageOffset]): payload as published, timestamp in Unix seconds,
// the publisher's message_id or one the server generated, the delivery's
// qos, for a topic with history the message's offset in it, and, from
// AppendDelivery, the payload's "encoding" when it is not one JSON value
// and "sealed":true for an envelope:
//
//	{"type":"message","topic":"chat","payload":"Hello world!","timestamp":1689475200,
//	 "message_id":"generated_or_provided_id","qos":0}
//	{"type":"message","topic":"chat","payload":{"t":21.5},"timestamp":1689475200,
//	 "message_id":"m-7","qos":1,"offset":42}
//
// puback accepts a QoS 1 publish ([AppendPubAck]); pubrec a QoS 2 one, and
// pubcomp answers its pubrel ([AppendPubRec], [AppendPubComp]); pubrel
// releases a QoS 2 delivery ([AppendPubRel]); subscribed and
// unsubscribed confirm those requests ([AppendSubscribed],
// [AppendUnsubscribed]); pong answers a ping ([AppendPong]):
//
//	{"type":"puback","message_id":"some_unique_message_id_123"}
//	{"type":"subscribed","topic":"chat"}
//	{"type":"unsubscribed","topic":"chat"}
//	{"type":"pong"}
//
// # Payloads
//
// A payload parsed from a client is always one complete, valid JSON value
// in UTF-8, so a server can copy it into message frames unchanged. Bytes
// that reach the server another way, such as from a client of the binary
// protocol, may be anything; [AppendDelivery] writes them so the frame stays
// valid JSON and the client recovers them exactly: exactly one JSON value
// as it is, other UTF-8 text as a JSON string ("encoding":"text"), and
// anything else as {"base64":"<standard base64>"} ("encoding":"base64").
//
// # Errors
//
// Parse returns an [*Error] whose Kind is one of [ErrSyntax],
// [ErrNotObject], [ErrUnknownType], [ErrMissingField], [ErrFieldType],
// [ErrSurrogate], [ErrDuplicateField], [ErrQoS] and [ErrMessageIDRequired],
// and whose text
// can be sent back to the client as it is (it repeats no field value except
// a shortened unknown type name):
//
//	invalid JSON at byte 17: unexpected '}', want a JSON value
//	frame must be a JSON object, got an array
//	unknown frame type "publsh"
//	missing field "topic" (required by "subscribe")
//	field "qos" must be 0, 1 or 2, got 3
//	message_id required for qos 1
//
// Strings must be valid UTF-8, as WebSocket text requires; numbers and
// escapes follow RFC 8259 strictly; nesting is limited to [MaxDepth].
//
// # Performance
//
// Parse is a single pass over the frame that checks the whole of it,
// skips unknown fields without decoding them, and costs one allocation
// (the string fields share it); Payload is a sub-slice of the input, not a
// copy. The Append functions use no reflection and do not allocate beyond
// growing dst. BenchmarkParse_Publish128, BenchmarkParse_EncodingJSON (the
// encoding/json baseline) and BenchmarkAppendMessage measure them.
//
// # Concurrency
//
// All functions are safe for concurrent use; they keep no state between
// calls. A Frame's Payload shares memory with the data given to Parse,
// which the caller must not modify while the Frame is in use.
package json
