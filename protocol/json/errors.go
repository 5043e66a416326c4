package json

import (
	"errors"
	"fmt"
)

// Kinds of parse error. Every error returned by [Parse] is an [*Error]
// whose Kind is one of these, so errors.Is(err, ErrMissingField) works.
var (
	// ErrSyntax reports data that is not one well-formed JSON value in
	// UTF-8, or nests deeper than MaxDepth.
	ErrSyntax = errors.New("whispeer: invalid JSON")
	// ErrNotObject reports well-formed JSON that is not an object.
	ErrNotObject = errors.New("whispeer: frame is not a JSON object")
	// ErrUnknownType reports a "type" that names no client frame.
	ErrUnknownType = errors.New("whispeer: unknown frame type")
	// ErrMissingField reports a field that the frame's type requires but
	// that is absent, null or an empty string.
	ErrMissingField = errors.New("whispeer: missing field")
	// ErrFieldType reports a known field holding the wrong kind of value,
	// such as a number for "topic" or a string for "qos".
	ErrFieldType = errors.New("whispeer: wrong field type")
	// ErrSurrogate reports a string field holding a \u escape of a UTF-16
	// surrogate that is not half of a pair, such as "\ud800": no Unicode
	// character, so it is refused rather than replaced with U+FFFD.
	ErrSurrogate = errors.New("whispeer: lone UTF-16 surrogate")
	// ErrDuplicateField reports a known field given twice.
	ErrDuplicateField = errors.New("whispeer: duplicate field")
	// ErrQoS reports a "qos" other than 0, 1 or 2.
	ErrQoS = errors.New("whispeer: qos out of range")
	// ErrMessageIDRequired reports a QoS 1 or 2 publish without a
	// message_id.
	ErrMessageIDRequired = errors.New("whispeer: message_id required")
)

// Error is a parse error. Its message is meant for the client that sent
// the frame: it names the field or position at fault and never repeats a
// string value other than an unknown type name, shortened.
type Error struct {
	Kind   error  // one of the Err* kinds above
	Field  string // the field at fault, if any
	Offset int    // byte offset in the frame where a syntax error was found; -1 otherwise
	// Topic and MessageID are the frame's "topic" and "message_id", when
	// it is JSON that had them and they are not the field at fault.
	Topic, MessageID string
	msg              string
}

// Error returns the message for the client, such as
// `missing field "topic" (required by "subscribe")`.
func (e *Error) Error() string { return e.msg }

// Unwrap returns Kind.
func (e *Error) Unwrap() error { return e.Kind }

// syntaxError returns an ErrSyntax error at offset.
func syntaxError(offset int, format string, args ...any) *Error {
	return &Error{Kind: ErrSyntax, Offset: offset,
		msg: fmt.Sprintf("invalid JSON at byte %d: %s", offset, fmt.Sprintf(format, args...))}
}

// fieldError returns an error of kind about field.
func fieldError(kind error, field, format string, args ...any) *Error {
	return &Error{Kind: kind, Field: field, Offset: -1, msg: fmt.Sprintf(format, args...)}
}
