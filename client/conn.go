package client

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// maxIdleBuffer is the largest write buffer the writer keeps between
// batches; a larger one, grown by a burst, is left to the collector.
const maxIdleBuffer = 4 << 20

// The frames without fields, encoded once.
var (
	pingFrame = wire.AppendPing(nil)
	pongFrame = wire.AppendPong(nil)
)

// conn is one authenticated connection. Its reader and writer goroutines
// end when done is closed (by lost or terminate) or when its link fails.
type conn struct {
	link     *link
	rd       *wire.Reader
	gen      uint64        // the connection's number, from 1
	caps     wire.Caps     // granted by WELCOME
	maxFrame int           // the largest frame the server accepts
	ping     time.Duration // keep-alive interval; 0 for none
	server   string        // the server software, from WELCOME
	wake     chan struct{} // tells the writer that frames are queued
	done     chan struct{} // closed when the connection is given up
	rx       atomic.Uint64 // frames received, counted by the batch
	waiting  atomic.Bool   // the reader waits for room in a subscription's queue
	expires  int64         // of the credentials, from AUTHOK: ns since the epoch, 0 for never
	reauth   chan int64    // answers to a token refresh (tokens.go)

	// pongs, under Client.mu, holds one entry per PING sent and not yet
	// answered, oldest first: a Flush's channel, or nil for a keep-alive.
	pongs []chan struct{}
}

// readLoop reads and dispatches frames until the connection fails.
func (c *Client) readLoop(cn *conn) {
	defer c.wg.Done()
	var (
		a      = arrivals{cn: cn}
		frames uint64 // received since rx was last added to
	)
	for {
		f, err := cn.rd.Next()
		if err != nil {
			c.handOver(&a)
			c.lost(cn, readError("frame", err))
			return
		}
		frames++
		if err := c.dispatch(cn, f, &a); err != nil {
			c.lost(cn, err)
			return
		}
		if !cn.rd.Ready() {
			c.handOver(&a)
			cn.rx.Add(frames)
			frames = 0
		}
	}
}

// dispatch handles one frame from the server. A MSG joins the arrivals a;
// any other frame is handled after a is handed over. An error closes the
// connection.
func (c *Client) dispatch(cn *conn, f *wire.Frame, a *arrivals) error {
	if f.Type == wire.TypeMessage {
		c.onMessage(cn, a, &f.Message)
		return nil
	}
	c.handOver(a)
	switch f.Type {
	case wire.TypePubAck:
		if f.Ack.SID != 0 {
			return protocolError(fmt.Errorf("PUBACK for subscription %d", f.Ack.SID))
		}
		c.onPubAck(&f.Ack)
	case wire.TypePubRec, wire.TypePubRel, wire.TypePubComp:
		return c.exactlyOnce(cn, f.Type, &f.Ack)
	case wire.TypeSubAck:
		c.onSubAck(cn, &f.SubAck)
	case wire.TypePresenceInfo:
		c.onPresenceInfo(&f.PresenceInfo)
	case wire.TypeJoinLeave:
		c.onJoinLeave(&f.JoinLeave)
	case wire.TypePing:
		c.mu.Lock()
		c.queueLocked(cn, pongFrame)
		c.mu.Unlock()
	case wire.TypePong:
		c.onPong(cn)
	case wire.TypeAuthOK:
		cn.onReauth(f.AuthOK.Expires)
	case wire.TypeError:
		e := serverError(f.Error.Code, f.Error.Fatal, f.Error.Ref, f.Error.Text)
		if e.Fatal {
			return e
		}
		if f.Error.Ref == wire.TypeAuth {
			cn.onReauth(-1)
		}
		c.report(e)
	default:
		return protocolError(fmt.Errorf("unexpected %v frame", f.Type))
	}
	return nil
}

// onPong answers the oldest PING.
func (c *Client) onPong(cn *conn) {
	c.mu.Lock()
	if len(cn.pongs) > 0 {
		if ch := cn.pongs[0]; ch != nil {
			close(ch)
		}
		cn.pongs = cn.pongs[1:]
	}
	c.mu.Unlock()
}

// queueLocked queues control frames b on cn, if cn is still the current
// connection. c.mu is held.
func (c *Client) queueLocked(cn *conn, b []byte) {
	if c.cur != cn {
		return
	}
	if len(c.pend) == 0 {
		c.wakeLocked()
	}
	c.pend = append(c.pend, b...)
}

// wakeLocked tells the current connection's writer that frames are queued,
// unless it is writing a batch: then it looks at the queue again before it
// waits. c.mu is held.
func (c *Client) wakeLocked() {
	if c.cur != nil && !c.writing {
		select {
		case c.cur.wake <- struct{}{}:
		default:
		}
	}
}

// readError describes a failed read of the frame named what.
func readError(what string, err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: connection closed by the server", ErrDisconnected)
	case wire.ErrorCode(err) != wire.CodeInternal:
		return protocolError(fmt.Errorf("reading %s: %w", what, err))
	default:
		return fmt.Errorf("read %s: %w", what, err)
	}
}

// keepalive is the writer's view of a connection's liveness.
type keepalive struct {
	lastRx   uint64 // frames received at the previous tick
	rxAtPing uint64 // frames received when the last PING was sent
	pinged   bool   // a PING was sent at the previous tick
	wrote    bool   // frames were written since the previous tick
}

// tick runs once per ping interval: a PING sent at the previous tick with
// nothing received since means the connection is dead; a connection idle
// in either direction gets a PING. While the reader waits for room in a
// subscription's queue it reads nothing, and the connection counts as
// alive.
func (c *Client) tick(cn *conn, k *keepalive) error {
	rx := cn.rx.Load()
	if cn.waiting.Load() {
		k.pinged, k.lastRx = false, rx
		return nil
	}
	if k.pinged && rx == k.rxAtPing {
		return fmt.Errorf("%w: no answer to PING within %v", ErrTimeout, cn.ping)
	}
	k.pinged = false
	if rx == k.lastRx || !k.wrote {
		c.mu.Lock()
		if c.cur == cn {
			cn.pongs = append(cn.pongs, nil)
			c.queueLocked(cn, pingFrame)
		}
		c.mu.Unlock()
		k.pinged, k.rxAtPing = true, rx
	}
	k.lastRx = rx
	return nil
}

// writeLoop writes queued frames in batches until the connection fails or
// is given up, and keeps it alive.
func (c *Client) writeLoop(cn *conn) {
	defer c.wg.Done()
	var tick <-chan time.Time
	if cn.ping > 0 {
		t := time.NewTicker(cn.ping)
		defer t.Stop()
		tick = t.C
	}
	var (
		buf []byte
		k   keepalive
		err error
	)
	for {
		ticked := false
		select {
		case <-cn.wake:
		case <-tick:
			if err := c.tick(cn, &k); err != nil {
				c.lost(cn, err)
				return
			}
			k.wrote, ticked = false, true
		case <-cn.done:
			return
		}
		// Let the goroutines that are ready to publish queue their frames
		// first: with many publishers waiting on acknowledgements, the
		// frames that their wake-ups produce then leave in one write,
		// which costs the server one read, not one each. With nothing
		// else ready it returns at once.
		runtime.Gosched()
		wrote := false
		if buf, wrote, err = c.flushQueue(cn, buf); err != nil {
			c.lost(cn, err)
			return
		}
		// A keep-alive PING is not traffic that makes the next one needless.
		k.wrote = k.wrote || (wrote && !ticked)
	}
}

// flushQueue writes what is queued, batch after batch, until the queue is
// empty; each batch is what accumulated while the previous one was being
// written.
func (c *Client) flushQueue(cn *conn, buf []byte) (_ []byte, wrote bool, _ error) {
	for {
		c.mu.Lock()
		if c.cur != cn || len(c.pend) == 0 {
			if c.cur == cn {
				c.writing = false
				c.notifyLocked()
			}
			c.mu.Unlock()
			return buf, wrote, nil
		}
		buf, c.pend = c.pend, buf[:0]
		c.taken = c.qseq
		c.writing = true
		c.notifyLocked()
		c.mu.Unlock()
		if err := cn.link.write(buf); err != nil {
			return buf, wrote, fmt.Errorf("write: %w", err)
		}
		wrote = true
		if cap(buf) > maxIdleBuffer {
			buf = nil
		}
	}
}

// keepPublishes removes from b, frames queued for a lost connection, all
// but the PUB frames: acknowledgements, PINGs and PONGs belonged to that
// connection, and subscriptions are renewed by the next one.
func keepPublishes(b []byte) []byte {
	out := b[:0]
	for len(b) >= wire.HeaderLen {
		n := 4 + int(binary.BigEndian.Uint32(b))
		if wire.Type(b[4]) == wire.TypePublish {
			out = append(out, b[:n]...)
		}
		b = b[n:]
	}
	return out
}
