package tcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// lengthLen is the size of a frame's length prefix.
const lengthLen = 4

// frames are the Frames that readers parse into, some 700 bytes each: a
// connection holds one only while it has bytes in hand.
var frames = sync.Pool{New: func() any { return new(wire.Frame) }}

// framer is a conn seen as its reader's netconn.Framer.
type framer conn

// Frame handles the frame at the start of p, or the first bytes of the
// connection.
func (fr *framer) Frame(p []byte) (n, need int, err error) {
	c := (*conn)(fr)
	if fr.drain || c.Closing() {
		fr.drain = true
		return len(p), 0, nil
	}
	if !fr.native {
		return fr.sniff(p)
	}
	need = wire.HeaderLen
	if len(p) >= lengthLen {
		size := binary.BigEndian.Uint32(p)
		if limit := fr.s.opts.MaxFrameBytes; size > uint32(limit) {
			return fr.reject(p, fmt.Errorf("%w: %d bytes, the limit is %d", wire.ErrTooLarge, size, limit))
		}
		need = lengthLen + int(size)
	}
	if fr.f == nil {
		fr.f = frames.Get().(*wire.Frame)
	}
	n, err = fr.f.Parse(p)
	if errors.Is(err, wire.ErrShort) {
		return 0, need, nil
	}
	if err != nil {
		return fr.reject(p, err)
	}
	fr.s.hub.Counters.In.Add(1)
	fr.session.ReceiveFrame(fr.f)
	return n, 0, nil
}

// Rest gives the Frame back to the pool; nothing views it any more.
func (fr *framer) Rest() {
	if fr.f != nil {
		frames.Put(fr.f)
		fr.f = nil
	}
}

// End reports a client that sent no preface within HandshakeTimeout as not
// native.
func (fr *framer) End(err error) error {
	if !fr.native && !fr.drain && isTimeout(err) {
		return fmt.Errorf("%w: no protocol preface within %v", wire.ErrNotNative, fr.s.opts.HandshakeTimeout)
	}
	return err
}

// Closed tells the session, if the connection got one.
func (fr *framer) Closed(err error) {
	if fr.session != nil {
		fr.session.Closed(err)
	}
}

// sniff classifies the connection's first bytes: a native client gets its
// session; any other gets wire.Refusal and is closed.
func (fr *framer) sniff(p []byte) (n, need int, err error) {
	c := (*conn)(fr)
	pre, err := wire.Sniff(p)
	if err != nil {
		return 0, len(p) + 1, nil // too few bytes yet
	}
	if pre == wire.PrefaceNative {
		netconn.NetConn(&c.Conn).SetReadDeadline(time.Time{})
		fr.native = true
		netconn.Live(&c.Conn)
		fr.session = fr.s.accept(&c.Conn)
		return fr.Frame(p)
	}
	fr.s.hub.Counters.Refused.Add(1)
	netconn.Logger(&c.Conn).Debug("whispeer: not a native client", "preface", pre.String())
	fr.drain = true
	c.Conn.Close(wire.Refusal(pre), fmt.Errorf("%w: %s", wire.ErrNotNative, pre))
	return len(p), 0, nil
}

// reject answers a frame that does not parse with a fatal ERROR and closes
// the connection; what arrives afterwards is discarded.
func (fr *framer) reject(p []byte, err error) (int, int, error) {
	fr.drain = true
	fr.s.hub.Counters.Violations.Add(1)
	if rj, ok := fr.session.(Rejecter); ok {
		rj.Reject(err)
	}
	fr.Conn.Close(mustError(wire.ErrorCode(err), err.Error()), err)
	return len(p), 0, nil
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
