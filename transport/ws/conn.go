package ws

import (
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// conn is one WebSocket connection: the connection core that
// transport/tcp shares (transport.Conn: its queue and writer, its batches,
// keepalive, counters), and the state of the WebSocket framing, which
// belongs to the connection's reader goroutine.
type conn struct {
	netconn.Conn
	h       *Handler
	session Session
	skip    int64 // bytes of a refused frame still to discard
	drain   bool  // the stream broke the protocol: discard everything

	msgOp byte   // opcode of the fragmented message being assembled, or 0
	msg   []byte // its payload so far
}

// close closes the connection gracefully with a close frame of code and
// reason, unless it is closing already.
func (c *conn) close(code CloseCode, reason string, err error) {
	if !c.Closing() {
		c.Close(CloseFrame(code, reason), err)
	}
}

// CloseFrame returns a close frame with code and reason, the last frame of
// a connection closed gracefully (transport.Conn.Close): the connection
// then waits up to CloseTimeout for the client's answer.
func CloseFrame(code CloseCode, reason string) []byte {
	return frame(opClose, append(make([]byte, HeaderRoom, HeaderRoom+maxControlPayload),
		closePayload(code, reason)...))
}
