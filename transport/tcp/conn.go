package tcp

import (
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// conn is one TCP connection: the connection core that transport/ws
// shares (transport.Conn: its queue and writer, its batches, keepalive,
// counters), and the state of the native framing, which belongs to the
// connection's reader goroutine.
type conn struct {
	netconn.Conn
	s       *Server
	session Session     // set by the reader once the connection is native
	native  bool        // the first bytes were a HELLO's
	drain   bool        // the connection is closing: discard what arrives
	f       *wire.Frame // from frames, while bytes are in hand
}
