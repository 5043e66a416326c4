package json

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// AppendLoginResponse appends {"type":"login_response","token":…}.
func AppendLoginResponse(dst []byte, token string) []byte {
	dst = append(dst, `{"type":"login_response","token":`...)
	dst = AppendString(dst, token)
	return append(dst, '}')
}

// AppendAuthenticated appends {"type":"authenticated","status":"authenticated"}.
func AppendAuthenticated(dst []byte) []byte {
	return append(dst, `{"type":"authenticated","status":"authenticated"}`...)
}

// AppendError appends {"type":"error","error":msg,"message":msg}: msg twice,
// under the two names that PopSub clients read.
func AppendError(dst []byte, msg string) []byte {
	return AppendErrorFor(dst, msg, "", "")
}

// AppendErrorFor is AppendError for an error about a frame that named a
// topic or a message id, or both, which it repeats, so that a client with
// many frames in flight can tell which one failed; an empty one is left
// out:
//
//	{"type":"error","error":msg,"message":msg,"topic":…,"message_id":…}
func AppendErrorFor(dst []byte, msg, topic, messageID string) []byte {
	dst = append(dst, `{"type":"error","error":`...)
	dst = AppendString(dst, msg)
	dst = append(dst, `,"message":`...)
	dst = AppendString(dst, msg)
	if topic != "" {
		dst = append(dst, `,"topic":`...)
		dst = AppendString(dst, topic)
	}
	if messageID != "" {
		dst = append(dst, `,"message_id":`...)
		dst = AppendString(dst, messageID)
	}
	return append(dst, '}')
}

// AppendMessage appends a delivery:
//
//	{"type":"message","topic":…,"payload":…,"timestamp":…,"message_id":…,"qos":…}
//
// payload is written as it is and must be one valid JSON value, as
// [Parse] guarantees for a client's payload; pass bytes of unknown form
// through [AppendPayload] first. An empty payload is written as null.
// timestamp is in Unix seconds.
func AppendMessage(dst []byte, topic string, payload []byte, timestamp int64, messageID string, qos uint8) []byte {
	return AppendMessageOffset(dst, topic, payload, timestamp, messageID, qos, 0)
}

// AppendMessageOffset is AppendMessage with the message's offset in its
// topic's history, written as a last field "offset" when it is not 0
// (offsets start at 1).
func AppendMessageOffset(dst []byte, topic string, payload []byte, timestamp int64, messageID string, qos uint8, offset uint64) []byte {
	dst = appendMessageHead(dst, topic)
	if len(payload) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, payload...)
	}
	return append(appendMessageTail(dst, timestamp, messageID, qos, offset), '}')
}

// appendMessageHead appends a message frame up to its payload.
func appendMessageHead(dst []byte, topic string) []byte {
	dst = append(dst, `{"type":"message","topic":`...)
	dst = AppendString(dst, topic)
	return append(dst, `,"payload":`...)
}

// appendMessageTail appends the fields of a message frame after its
// payload, without the closing brace.
func appendMessageTail(dst []byte, timestamp int64, messageID string, qos uint8, offset uint64) []byte {
	dst = append(dst, `,"timestamp":`...)
	dst = strconv.AppendInt(dst, timestamp, 10)
	dst = append(dst, `,"message_id":`...)
	dst = AppendString(dst, messageID)
	dst = append(dst, `,"qos":`...)
	dst = strconv.AppendUint(dst, uint64(qos), 10)
	if offset != 0 {
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, offset, 10)
	}
	return dst
}

// AppendPubAck appends {"type":"puback","message_id":…}, the answer to an
// accepted QoS 1 publish.
func AppendPubAck(dst []byte, messageID string) []byte {
	dst = append(dst, `{"type":"puback","message_id":`...)
	dst = AppendString(dst, messageID)
	return append(dst, '}')
}

// AppendPubRec appends {"type":"pubrec","message_id":…}, the answer to an
// accepted QoS 2 publish.
func AppendPubRec(dst []byte, messageID string) []byte {
	dst = append(dst, `{"type":"pubrec","message_id":`...)
	dst = AppendString(dst, messageID)
	return append(dst, '}')
}

// AppendPubComp appends {"type":"pubcomp","message_id":…}, the answer to a
// pubrel, with "reason":"not_found" when the server did not hold the id.
func AppendPubComp(dst []byte, messageID string, notFound bool) []byte {
	dst = append(dst, `{"type":"pubcomp","message_id":`...)
	dst = AppendString(dst, messageID)
	if notFound {
		dst = append(dst, `,"reason":"not_found"`...)
	}
	return append(dst, '}')
}

// AppendPubRel appends {"type":"pubrel","message_id":…}, the release of a
// QoS 2 delivery the client received, with its "offset" when not 0.
func AppendPubRel(dst []byte, messageID string, offset uint64) []byte {
	dst = append(dst, `{"type":"pubrel","message_id":`...)
	dst = AppendString(dst, messageID)
	if offset != 0 {
		dst = append(dst, `,"offset":`...)
		dst = strconv.AppendUint(dst, offset, 10)
	}
	return append(dst, '}')
}

// AppendSubscribed appends {"type":"subscribed","topic":…}.
func AppendSubscribed(dst []byte, topic string) []byte {
	dst = append(dst, `{"type":"subscribed","topic":`...)
	dst = AppendString(dst, topic)
	return append(dst, '}')
}

// AppendUnsubscribed appends {"type":"unsubscribed","topic":…}.
func AppendUnsubscribed(dst []byte, topic string) []byte {
	dst = append(dst, `{"type":"unsubscribed","topic":`...)
	dst = AppendString(dst, topic)
	return append(dst, '}')
}

// AppendPong appends {"type":"pong"}, the answer to a ping.
func AppendPong(dst []byte) []byte {
	return append(dst, `{"type":"pong"}`...)
}

// AppendPayload appends b as a JSON value that never breaks the frame
// around it, by this rule:
//
//  1. b that is one valid JSON value in UTF-8 (surrounding whitespace
//     allowed) is written as it is, whitespace trimmed: the bytes `42`,
//     `"hi"` and `{"a":1}` stay a number, a string and an object;
//  2. other valid UTF-8 is written as a JSON string: the bytes `hello`
//     become "hello";
//  3. anything else is written as {"base64":"…"}, b in standard base64
//     with padding.
//
// Payloads from JSON clients are valid by rule 1 already; the rule
// matters for bytes published by a binary client.
func AppendPayload(dst []byte, b []byte) []byte {
	if v, ok := trimmedValue(b); ok {
		return append(dst, v...)
	}
	if utf8.Valid(b) {
		return appendString(dst, b)
	}
	dst = append(dst, `{"base64":"`...)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, `"}`...)
}

// Valid reports whether b is one valid JSON value in UTF-8, nested at most
// MaxDepth deep, with optional whitespace around it: the payloads that
// AppendPayload writes as they are.
func Valid(b []byte) bool {
	_, ok := trimmedValue(b)
	return ok
}

// trimmedValue returns b without surrounding whitespace if b is one valid
// JSON value.
func trimmedValue(b []byte) ([]byte, bool) {
	p := parser{data: b, quiet: true}
	p.ws()
	start := p.i
	if p.value(0) != nil {
		return nil, false
	}
	end := p.i
	if p.end() != nil {
		return nil, false
	}
	return b[start:end], true
}

// AppendString appends s as a JSON string. It escapes '"', '\\', the
// control characters (as \n, \r, \t, \b, \f or \u00XX) and U+2028 and
// U+2029 (which break JavaScript string literals); it replaces each byte
// of invalid UTF-8 with \ufffd. '<', '>' and '&' are left as they are.
func AppendString(dst []byte, s string) []byte {
	return appendString(dst, s)
}

// safe marks the ASCII bytes that AppendString copies unescaped.
var safe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString is AppendString for strings and byte slices.
func appendString[S ~string | ~[]byte](dst []byte, s S) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if safe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
