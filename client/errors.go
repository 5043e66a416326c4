package client

import (
	"errors"
	"fmt"
	"strings"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// Sentinel errors of the client. Each is a [*whispeer.Error], so that
// [whispeer.ErrorCode] classifies it; test for them with [errors.Is].
var (
	// ErrClosed is returned by operations on a closed or draining client,
	// and by a subscription's operations once it has ended.
	ErrClosed = &whispeer.Error{Code: whispeer.CodeUnavailable, Message: "whispeer: client closed"}
	// ErrDisconnected is returned by Publish while the client is
	// disconnected and publish buffering is off (WithPublishBuffer(0)), and
	// by Flush when the connection is lost before the server answered.
	ErrDisconnected = &whispeer.Error{Code: whispeer.CodeUnavailable, Message: "whispeer: disconnected"}
	// ErrBufferFull is returned by Publish while the client is disconnected
	// and the publish buffer has no room for the message.
	ErrBufferFull = &whispeer.Error{Code: whispeer.CodeLimit, Message: "whispeer: publish buffer full"}
	// ErrTimeout reports a server that did not answer in time: a handshake,
	// a SUBACK, a write, or a PING left without a PONG.
	ErrTimeout = &whispeer.Error{Code: whispeer.CodeUnavailable, Message: "whispeer: timed out"}
	// ErrAuth reports credentials the server refused.
	ErrAuth = &whispeer.Error{Code: whispeer.CodeUnauthorized, Message: "whispeer: authentication failed"}
	// ErrProtocol reports a frame from the server that does not parse, or
	// that the protocol does not allow at that point. The client closes
	// the connection (and reconnects) when it sees one.
	ErrProtocol = &whispeer.Error{Code: whispeer.CodeInvalid, Message: "whispeer: protocol error"}
	// ErrSlowConsumer reports a delivery dropped because its subscription's
	// queue was full and stayed full (see WithQueueSize and
	// WithSlowConsumerWait).
	ErrSlowConsumer = &whispeer.Error{Code: whispeer.CodeLimit, Message: "whispeer: slow consumer, message dropped"}
	// ErrGap reports a subscription that resumed after a reconnect (or
	// from WithResume) without recovering every message it missed: the
	// server's history no longer reached back far enough, or the topic's
	// epoch changed.
	ErrGap = &whispeer.Error{Code: whispeer.CodeNotFound, Message: "whispeer: resume incomplete, messages were missed"}
	// ErrUnsupported reports a feature this client or its server does
	// not offer, such as publishing at QoS 2 to a server that did not
	// grant qos2.
	ErrUnsupported = &whispeer.Error{Code: whispeer.CodeInvalid, Message: "whispeer: not supported by this client"}
)

// ServerError is an error the server reported: an ERROR frame, or a
// refusal in a SUBACK or PUBACK. It unwraps to the [whispeer] sentinel
// whose message its text starts with (whispeer.ErrPayloadTooLarge,
// whispeer.ErrInvalidTopic, ...), to ErrAuth for an unauthorized one, to
// whispeer.ErrPayloadTooLarge for a publish refused as too large, or else
// to a [*whispeer.Error] with its code, so that errors.Is and
// whispeer.ErrorCode work across the network.
type ServerError struct {
	// Code is the wire error code.
	Code wire.Code
	// Fatal reports that the server closes the connection after the error.
	Fatal bool
	// Ref is the type of the frame the error answers, or 0.
	Ref wire.Type
	// Text is the server's explanation, starting with "whispeer: ".
	Text string

	base error
}

// Error returns the server's text.
func (e *ServerError) Error() string { return e.Text }

// Unwrap returns the sentinel or [*whispeer.Error] the error stands for.
func (e *ServerError) Unwrap() error { return e.base }

// known are the broker's sentinels a server may report by name.
var known = []*whispeer.Error{
	whispeer.ErrInvalidTopic, whispeer.ErrInvalidPattern, whispeer.ErrInvalidOption,
	whispeer.ErrDuplicateSubscription, whispeer.ErrPayloadTooLarge, whispeer.ErrTooManyTopics,
	whispeer.ErrTooManySubscriptions, whispeer.ErrTypeMismatch, whispeer.ErrRejected,
	whispeer.ErrOpen, whispeer.ErrClosed,
}

// rootCode maps a wire code to the broker's: 1–8 are the same numbers,
// internal is 9 on the wire and 0 in the broker, and an unknown code counts
// as internal.
func rootCode(c wire.Code) whispeer.Code {
	if c >= wire.CodeInvalid && c <= wire.CodeUnavailable {
		return whispeer.Code(c)
	}
	return whispeer.CodeInternal
}

// serverError builds the error for a code and text the server sent.
func serverError(code wire.Code, fatal bool, ref wire.Type, text []byte) *ServerError {
	e := &ServerError{Code: code, Fatal: fatal, Ref: ref, Text: string(text)}
	if e.Text == "" {
		e.Text = "whispeer: server error: " + code.String()
	}
	rc := rootCode(code)
	for _, s := range known {
		if s.Code == rc && strings.HasPrefix(e.Text, s.Message) {
			e.base = s
			return e
		}
	}
	switch {
	case rc == whispeer.CodeUnauthorized:
		e.base = ErrAuth
	case rc == whispeer.CodeTooLarge && ref == wire.TypePublish:
		e.base = whispeer.ErrPayloadTooLarge
	default:
		e.base = &whispeer.Error{Code: rc, Message: e.Text}
	}
	return e
}

// DeliveryError is what the error handler receives for a message that
// reached a subscription but was not handled: one that did not open (a
// wrong key, a damaged envelope), did not decode into a typed topic's
// type, was dropped because the subscription's queue was full, or whose
// handler returned an error or panicked.
type DeliveryError struct {
	// Pattern is the subscription's pattern.
	Pattern string
	// Topic and ID identify the message.
	Topic, ID string
	// Err is the reason; it wraps whispeer.ErrOpen, whispeer.ErrTypeMismatch,
	// ErrSlowConsumer or the handler's error.
	Err error
}

// Error describes the failure with the message's topic and id.
func (e *DeliveryError) Error() string {
	return fmt.Sprintf("subscription %q: message %q on %q: %v", e.Pattern, e.ID, e.Topic, e.Err)
}

// Unwrap returns Err.
func (e *DeliveryError) Unwrap() error { return e.Err }

// protocolError wraps err, a parse failure or an unexpected frame, in
// ErrProtocol unless it already is one.
func protocolError(err error) error {
	if errors.Is(err, ErrProtocol) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrProtocol, err)
}
