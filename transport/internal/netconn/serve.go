package netconn

import (
	"fmt"
	"runtime/debug"
	"time"
)

// Framer is a transport's framing of one connection's bytes: the part of
// its reader that the transports do not share. Its methods run in the
// connection's reader goroutine, one at a time.
type Framer interface {
	// Frame handles the frame at the start of p, the bytes in hand, and
	// returns how many bytes it took. It returns 0 and need, the bytes the
	// frame needs in hand (more than len(p)), when the frame is not all
	// there yet. An error ends reading. To discard what arrives, it takes
	// all of p.
	Frame(p []byte) (n, need int, err error)
	// Rest is called once the bytes of a read are handled, or wait for
	// more: the reader is about to read again.
	Rest()
	// End returns the reason to record for a reader that ends because of
	// err.
	End(err error) error
	// Closed is called once the connection has ended, with the reason it
	// reports.
	Closed(err error)
}

// Serve runs c's reader until the connection ends, handing its bytes to f,
// then tells f, and forgets c. It is the body of the reader goroutine that
// Add counted.
func (h *Hub) Serve(c *Conn, f Framer) {
	defer h.wg.Done()
	err := f.End(c.read(f))
	c.rb.Release()
	f.Closed(c.q.Teardown(err))
	h.remove(c)
}

// read runs the reader. A panic, a bug in the session or in the framing,
// ends only this connection, with the hub's Internal frame; it is logged
// with its stack.
func (c *Conn) read(f Framer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger().Error("whispeer: panic serving a connection", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("whispeer: panic serving a connection: %v", r)
			c.Close(c.hub.cfg.Internal, err)
		}
	}()
	for {
		if err := c.parse(f); err != nil {
			return err
		}
		n, err := c.rb.Fill()
		if n > 0 {
			c.act.Touch()
		}
		if err != nil {
			return err
		}
	}
}

// batchReads bounds the reads whose frames one batch handles, and
// batchBytes the bytes they bring, a full read of the largest buffer: a
// stream that arrives faster is flushed at least that often, in writes
// that a socket takes at once.
const (
	batchReads = 8
	batchBytes = 64 << 10
)

// A reader whose batches find nothing more to take in, missLimit of them
// in a row, such as one that gets a frame now and then, stops trying for
// its next coldBatches batches, so that a lone frame seldom costs a read
// more.
const (
	missLimit   = 4
	coldBatches = 16
)

// parse handles every complete frame in hand as one batch, whose writes, to
// this connection and to those its publishes reach, start together once it
// is handled; and makes room for the rest of a partial frame. A batch
// whose frames fanned out to other connections also takes in the bytes
// that arrived meanwhile, without waiting (extend), so that a publisher's
// stream reaches its subscribers in fewer, larger writes.
func (c *Conn) parse(f Framer) error {
	b := &c.rb
	if b.R == b.W {
		b.Release()
		return nil
	}
	c.q.Cork(&c.batch)
	c.at = time.Now()
	defer c.batch.Flush()
	defer f.Rest()
	taken := b.W - b.R
	for reads := 1; ; reads++ {
		if err := c.frames(f); err != nil {
			return err
		}
		if reads == batchReads || taken >= batchBytes {
			break
		}
		n := c.extend(reads == 1)
		if n == 0 {
			break
		}
		taken += n
	}
	if b.R == b.W {
		b.Release()
	}
	return nil
}

// frames handles the complete frames in hand, and makes room for the rest
// of a partial one.
func (c *Conn) frames(f Framer) error {
	b := &c.rb
	for b.R < b.W {
		n, need, err := f.Frame(b.Unread())
		if err != nil {
			return err
		}
		if n == 0 {
			b.Room(need)
			return nil
		}
		b.R += n
		c.batch.Yield(&c.q)
	}
	return nil
}

// extend reads, without waiting, what arrived while the batch was
// handled, when the batch has sent to two connections or more besides
// the reader's own: its flush then writes to each of them once for both
// reads. It returns the bytes it read. first marks the batch's first
// try, whose misses make the reader stop trying for a while.
func (c *Conn) extend(first bool) int {
	if !c.batch.fansOut() || c.q.Closing() {
		return 0
	}
	if c.cold > 0 {
		c.cold--
		return 0
	}
	n := c.rb.TryFill()
	if n == 0 {
		if first {
			if c.misses++; c.misses == missLimit {
				c.misses, c.cold = 0, coldBatches
			}
		}
		return 0
	}
	c.misses = 0
	c.act.Touch()
	c.at = time.Now()
	return n
}
