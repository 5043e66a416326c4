package ws

import (
	"errors"
	"fmt"

	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// Errors a connection reports to its Session, and that Conn.Send returns.
var (
	// ErrClosed is returned by Send on a connection that is closing or
	// closed.
	ErrClosed = netconn.ErrClosed
	// ErrSlowConsumer reports a client that did not read fast enough: its
	// queued frames passed MaxPendingBytes or one write took longer than
	// WriteTimeout.
	ErrSlowConsumer = netconn.ErrSlowConsumer
	// ErrMessageTooLarge reports a message over MaxMessageBytes.
	ErrMessageTooLarge = errors.New("whispeer: message too large")
	// ErrIdle reports a client that sent nothing, not even a pong, for two
	// ping intervals.
	ErrIdle = netconn.ErrIdle
	// ErrShutdown reports a connection closed because the server is shutting
	// down.
	ErrShutdown = netconn.ErrShutdown
)

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
	case errors.Is(err, ErrShutdown):
		return CloseGoingAway
	case errors.Is(err, ErrSlowConsumer):
		return CloseTryAgainLater
	}
	return CloseInternalError
}
