package json

import (
	"encoding/base64"
	"strconv"
	"unicode/utf8"
)

// Encoding is how a payload's bytes are written in a frame: the value of
// its "encoding" field. The zero Encoding, EncodingJSON, is what a frame
// without the field means.
type Encoding uint8

// The payload encodings.
const (
	// EncodingJSON: the payload is the JSON value itself, byte for byte.
	EncodingJSON Encoding = iota
	// EncodingText: the payload is a JSON string; the bytes are its text
	// in UTF-8.
	EncodingText
	// EncodingBase64: the payload is {"base64":"…"}; the bytes are the
	// string's standard base64, with padding, decoded.
	EncodingBase64
)

// String returns the encoding's name in frames: "json", "text" or
// "base64".
func (e Encoding) String() string {
	switch e {
	case EncodingJSON:
		return "json"
	case EncodingText:
		return "text"
	case EncodingBase64:
		return "base64"
	}
	return "Encoding(" + strconv.Itoa(int(e)) + ")"
}

// parseEncoding returns the Encoding named name.
func parseEncoding(name []byte) (Encoding, bool) {
	switch string(name) {
	case "json":
		return EncodingJSON, true
	case "text":
		return EncodingText, true
	case "base64":
		return EncodingBase64, true
	}
	return EncodingJSON, false
}

// PayloadBytes appends to dst the bytes a publish carries, as its Encoding
// says: Payload itself for EncodingJSON, the string's text for
// EncodingText, the decoded base64 for EncodingBase64. A Payload of
// another shape than its Encoding asks for is an [*Error] of kind
// ErrFieldType about "payload".
func (f *Frame) PayloadBytes(dst []byte) ([]byte, error) {
	switch f.Encoding {
	case EncodingText:
		s, ok := stringValue(f.Payload)
		if !ok {
			return dst, fieldError(ErrFieldType, "payload", `field "payload" must be a string for "encoding":"text"`)
		}
		if r, lone := loneSurrogate(f.Payload[s.start:s.end]); lone {
			return dst, fieldError(ErrSurrogate, "payload", `field "payload" holds a lone UTF-16 surrogate \u%04x, which is no character`, r)
		}
		if !s.escaped {
			return append(dst, f.Payload[s.start:s.end]...), nil
		}
		return decodeString(dst, f.Payload[s.start:s.end]), nil
	case EncodingBase64:
		b, ok := base64Value(f.Payload)
		if !ok {
			return dst, fieldError(ErrFieldType, "payload", `field "payload" must be {"base64":"<standard base64>"} for "encoding":"base64"`)
		}
		out, err := base64.StdEncoding.AppendDecode(dst, b)
		if err != nil {
			return dst, fieldError(ErrFieldType, "payload", `field "payload" holds invalid base64: %v`, err)
		}
		return out, nil
	}
	return append(dst, f.Payload...), nil
}

// stringValue locates the contents of v when v, a value Parse accepted,
// is a JSON string.
func stringValue(v []byte) (rawString, bool) {
	if len(v) == 0 || v[0] != '"' {
		return rawString{}, false
	}
	p := parser{data: v, quiet: true}
	s, err := p.string()
	return s, err == nil && p.i == len(v)
}

// base64Value returns the base64 text of v when v, a value Parse
// accepted, is an object with the one member "base64", a string.
func base64Value(v []byte) ([]byte, bool) {
	p := parser{data: v, quiet: true}
	if p.peek() != '{' {
		return nil, false
	}
	p.i++
	p.ws()
	if p.peek() != '"' {
		return nil, false
	}
	key, err := p.string()
	if err != nil || string(p.name(key)) != "base64" {
		return nil, false
	}
	p.ws()
	if p.peek() != ':' {
		return nil, false
	}
	p.i++
	p.ws()
	if p.peek() != '"' {
		return nil, false
	}
	s, err := p.string()
	if err != nil {
		return nil, false
	}
	p.ws()
	if p.peek() != '}' || p.i+1 != len(v) {
		return nil, false
	}
	if s.escaped {
		return decodeString(nil, v[s.start:s.end]), true
	}
	return v[s.start:s.end], true
}

// Delivery is a message frame's fields for [AppendDelivery].
type Delivery struct {
	Topic     string
	Payload   []byte // the message's bytes, of any form
	Timestamp int64  // Unix seconds
	MessageID string
	QoS       uint8
	Offset    uint64 // written when not 0
	Sealed    bool   // the payload is an envelope: "sealed":true
}

// AppendDelivery appends a message frame for d, with d.Payload written as
// [AppendPayload] does and, when that is not the bytes as they are, an
// "encoding" saying how ("text" or "base64"), so that a client recovers
// the exact bytes (see [Frame.PayloadBytes], which reads the same
// encodings); then "sealed":true for an envelope:
//
//	{"type":"message",…,"qos":0,"encoding":"base64","sealed":true}
func AppendDelivery(dst []byte, d *Delivery) []byte {
	enc := EncodingJSON
	dst = appendMessageHead(dst, d.Topic)
	switch p := d.Payload; {
	case isExactValue(p):
		dst = append(dst, p...)
	case utf8.Valid(p):
		enc, dst = EncodingText, appendString(dst, p)
	default:
		enc = EncodingBase64
		dst = append(dst, `{"base64":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, p)
		dst = append(dst, `"}`...)
	}
	dst = appendMessageTail(dst, d.Timestamp, d.MessageID, d.QoS, d.Offset)
	if enc != EncodingJSON {
		dst = append(dst, `,"encoding":"`...)
		dst = append(dst, enc.String()...)
		dst = append(dst, '"')
	}
	if d.Sealed {
		dst = append(dst, `,"sealed":true`...)
	}
	return append(dst, '}')
}

// isExactValue reports whether b is one valid JSON value with nothing
// around it, which a message frame carries byte for byte.
func isExactValue(b []byte) bool {
	v, ok := trimmedValue(b)
	return ok && len(v) == len(b)
}
