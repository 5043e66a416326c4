package whispeer

import (
	"errors"
	"fmt"
)

// Code classifies an [Error] so that transports can map it to a wire
// error code without parsing messages.
type Code uint8

// The error codes. Transports map them to their own wire codes; the zero
// value is CodeInternal.
const (
	CodeInternal     Code = iota // a bug or an unexpected failure
	CodeInvalid                  // malformed input: a bad topic, pattern or option
	CodeUnauthorized             // missing or bad credentials
	CodeForbidden                // authenticated but not allowed
	CodeNotFound                 // the thing named does not exist
	CodeConflict                 // the request clashes with existing state
	CodeTooLarge                 // over a size limit
	CodeLimit                    // over a count or rate limit
	CodeUnavailable              // the broker is closed or shutting down
)

var codeNames = [...]string{
	CodeInternal:     "internal",
	CodeInvalid:      "invalid",
	CodeUnauthorized: "unauthorized",
	CodeForbidden:    "forbidden",
	CodeNotFound:     "not_found",
	CodeConflict:     "conflict",
	CodeTooLarge:     "too_large",
	CodeLimit:        "limit",
	CodeUnavailable:  "unavailable",
}

// String returns the code's name, such as "invalid".
func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("code(%d)", uint8(c))
}

// Error is whispeer's error type: a Code for machines and a Message for
// people. The sentinel errors below are *Error values; functions wrap them
// with context, so test for them with [errors.Is] and read the code with
// [ErrorCode].
type Error struct {
	Code    Code
	Message string
}

// Error returns the message.
func (e *Error) Error() string { return e.Message }

// ErrorCode returns the Code of the first [*Error] in err's chain, or
// CodeInternal when there is none. It returns CodeInternal for a nil error
// too; check err first.
func ErrorCode(err error) Code {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return CodeInternal
}

// Sentinel errors. Their messages start with "whispeer: ".
var (
	// ErrClosed is returned by operations on a closed broker or subscription.
	ErrClosed = &Error{CodeUnavailable, "whispeer: broker closed"}
	// ErrInvalidTopic wraps the reason a topic name was rejected.
	ErrInvalidTopic = &Error{CodeInvalid, "whispeer: invalid topic"}
	// ErrInvalidPattern wraps the reason a subscription pattern was rejected.
	ErrInvalidPattern = &Error{CodeInvalid, "whispeer: invalid pattern"}
	// ErrInvalidOption reports an option with an out-of-range value.
	ErrInvalidOption = &Error{CodeInvalid, "whispeer: invalid option"}
	// ErrDuplicateSubscription is returned when a subscriber subscribes to a
	// pattern it is already subscribed to.
	ErrDuplicateSubscription = &Error{CodeConflict, "whispeer: already subscribed"}
	// ErrPayloadTooLarge is returned for a payload over the broker's limit.
	ErrPayloadTooLarge = &Error{CodeTooLarge, "whispeer: payload too large"}
	// ErrTooManyTopics is returned when a publish would create a topic past
	// the broker's limit.
	ErrTooManyTopics = &Error{CodeLimit, "whispeer: too many topics"}
	// ErrTooManySubscriptions is returned when a subscribe would pass the
	// broker's limit.
	ErrTooManySubscriptions = &Error{CodeLimit, "whispeer: too many subscriptions"}
	// ErrTypeMismatch is returned when a payload does not decode into the
	// type bound to its topic.
	ErrTypeMismatch = &Error{CodeInvalid, "whispeer: payload does not match the topic's type"}
	// ErrDedupLimit is returned for an [ExactlyOnce] publish that would
	// make the broker hold more message ids than [Dedup] allows.
	ErrDedupLimit = &Error{CodeLimit, "whispeer: too many exactly-once messages held"}
	// ErrDuplicate is returned, wrapped, by the Append of a [Store] that
	// de-duplicates [ExactlyOnce] messages itself, as the Redis store
	// shared by the brokers of a cluster does, for a message whose
	// PublisherID and ID it already holds in its window: the message was
	// not appended again. A broker answers such a publish as a retry, as
	// if its own window held the id: acknowledged, not delivered again.
	ErrDuplicate = &Error{CodeConflict, "whispeer: exactly-once message already stored"}
	// ErrHandlerPanic wraps the value a panicking handler panicked with.
	ErrHandlerPanic = &Error{CodeInternal, "whispeer: handler panicked"}
)
