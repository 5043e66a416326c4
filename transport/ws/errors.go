package ws

import (
	"errors"
	"fmt"

	"github.com/whispeer-io/whispeer/transport"
)

// ErrMessageTooLarge reports a message over MaxMessageBytes. The other
// errors a connection reports to its Session, and that its sends return,
// are transport's (transport.ErrClosed, ErrSlowConsumer, ErrIdle,
// ErrShutdown).
var ErrMessageTooLarge = errors.New("whispeer: message too large")

// ProtocolError reports a frame that breaks RFC 6455, or a message the
// connection cannot take; Code is the close code the connection is closed
// with.
type ProtocolError struct {
	Code   CloseCode
	Reason string
}

// Error returns the reason.
func (e *ProtocolError) Error() string { return "whispeer: websocket: " + e.Reason }

func errProtocol(reason string) *ProtocolError {
	return &ProtocolError{Code: CloseProtocolError, Reason: reason}
}

// CloseError reports that the peer closed the connection with a close frame.
type CloseError struct {
	Code   CloseCode // 0 when the frame had no code
	Reason string
}

// Error describes the close.
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("whispeer: closed by peer (%d)", e.Code)
	}
	return fmt.Sprintf("whispeer: closed by peer (%d %s)", e.Code, e.Reason)
}

// closeCode returns the code to close a connection with because of err.
func closeCode(err error) CloseCode {
	var pe *ProtocolError
	switch {
	case errors.As(err, &pe):
		return pe.Code
	case errors.Is(err, ErrMessageTooLarge):
		return CloseTooBig
	case errors.Is(err, transport.ErrShutdown):
		return CloseGoingAway
	case errors.Is(err, transport.ErrSlowConsumer):
		return CloseTryAgainLater
	}
	return CloseInternalError
}
