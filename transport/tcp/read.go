package tcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// lengthLen is the size of a frame's length prefix.
const lengthLen = 4

// reader is the reader goroutine's state. Its buffer, and the Frame that
// frames are parsed into, are held only while it has bytes in hand: an
// idle connection holds neither.
type reader struct {
	c     *Conn
	b     netconn.ReadBuffer
	f     *wire.Frame // from frames, while bytes are in hand
	drain bool        // the connection is closing: discard what arrives
	batch netconn.Batch
	at    time.Time // when the frames in hand were read (ReadTime)
}

// frames are the Frames that readers parse into, some 700 bytes each.
var frames = sync.Pool{New: func() any { return new(wire.Frame) }}

// readLoop is the reader goroutine.
func (c *Conn) readLoop() {
	defer c.s.wg.Done()
	c.teardown(c.read())
}

// read runs the reader. A panic, a bug in the session or here, ends only
// this connection, with a fatal ERROR "internal"; it is logged with its
// stack.
func (c *Conn) read() (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger().Error("whispeer: panic serving a connection", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("whispeer: panic serving a connection: %v", r)
			c.closeWith(mustError(wire.CodeInternal, "whispeer: internal error"), err)
		}
	}()
	return c.rd.run()
}

// run reads and handles frames until the connection ends, and returns why.
func (rd *reader) run() error {
	for {
		rd.parse()
		n, err := rd.b.Fill()
		if n > 0 {
			rd.c.act.Touch()
		}
		if err != nil {
			if !rd.c.native.Load() && !rd.drain && isTimeout(err) {
				return fmt.Errorf("%w: no protocol preface within %v", wire.ErrNotNative, rd.c.s.opts.HandshakeTimeout)
			}
			return err
		}
	}
}

// parse handles every complete frame in hand as one batch, whose writes,
// to this connection and to those its publishes reach, start together
// once it is handled; and makes room for the rest of a partial frame.
func (rd *reader) parse() {
	b := &rd.b
	if b.R == b.W {
		b.Release()
		return
	}
	q := &rd.c.q
	q.Cork(&rd.batch)
	rd.at = time.Now()
	defer rd.batch.Flush()
	rd.f = frames.Get().(*wire.Frame)
	defer rd.putFrame()
	for b.R < b.W {
		if rd.drain || q.Closing() {
			rd.drain = true
			b.R = b.W
			break
		}
		if !rd.next() {
			return
		}
		rd.batch.Yield(q)
	}
	b.Release()
}

// putFrame gives the Frame back to the pool; nothing views it any more.
func (rd *reader) putFrame() {
	frames.Put(rd.f)
	rd.f = nil
}

// next handles the frame at R, or the first bytes of the connection. It
// reports false when they are not all in hand yet.
func (rd *reader) next() bool {
	if !rd.c.native.Load() {
		return rd.sniff()
	}
	p := rd.b.Unread()
	need := wire.HeaderLen
	if len(p) >= lengthLen {
		size := binary.BigEndian.Uint32(p)
		if limit := rd.c.s.opts.MaxFrameBytes; size > uint32(limit) {
			rd.reject(fmt.Errorf("%w: %d bytes, the limit is %d", wire.ErrTooLarge, size, limit))
			return true
		}
		need = lengthLen + int(size)
	}
	n, err := rd.f.Parse(p)
	if errors.Is(err, wire.ErrShort) {
		rd.b.Room(need)
		return false
	}
	if err != nil {
		rd.reject(err)
		return true
	}
	rd.b.R += n
	rd.c.s.stats.framesIn.Add(1)
	rd.c.session.Receive(rd.f)
	return true
}

// sniff classifies the connection's first bytes: a native client gets its
// session; any other gets wire.Refusal and is closed.
func (rd *reader) sniff() bool {
	c := rd.c
	pre, err := wire.Sniff(rd.b.Unread())
	if err != nil {
		return false // too few bytes yet
	}
	if pre == wire.PrefaceNative {
		c.nc.SetReadDeadline(time.Time{})
		c.native.Store(true)
		c.session = c.s.accept(c)
		return true
	}
	c.s.stats.refused.Add(1)
	c.logger().Debug("whispeer: not a native client", "preface", pre.String())
	rd.drain = true
	c.closeWith(wire.Refusal(pre), fmt.Errorf("%w: %s", wire.ErrNotNative, pre))
	return true
}

// reject answers a frame that does not parse with a fatal ERROR and closes
// the connection; what arrives afterwards is discarded.
func (rd *reader) reject(err error) {
	c := rd.c
	rd.drain = true
	c.s.stats.violations.Add(1)
	if rj, ok := c.session.(Rejecter); ok {
		rj.Reject(err)
	}
	c.closeWith(mustError(wire.ErrorCode(err), err.Error()), err)
}

// isTimeout reports whether err is a deadline passing.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
