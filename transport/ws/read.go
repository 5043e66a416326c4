package ws

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"time"
	"unicode/utf8"

	gws "github.com/gobwas/ws"
	"github.com/whispeer-io/whispeer/transport/internal/netconn"
)

// maxHeaderSize is the longest header of a masked client frame.
const maxHeaderSize = 14

// reader is the reader goroutine's state. Its buffer is held only while it
// has bytes in hand: an idle connection holds none.
type reader struct {
	c     *Conn
	b     netconn.ReadBuffer
	skip  int64 // bytes of a refused frame still to discard
	drain bool  // the stream broke the protocol: discard everything

	msgOp byte   // opcode of the fragmented message being assembled, or 0
	msg   []byte // its payload so far

	batch netconn.Batch // the writes of the frames in hand
	at    time.Time     // when the frames in hand were read (ReadTime)
}

// run reads and handles frames until the connection ends, and returns why.
func (rd *reader) run() error {
	for {
		if err := rd.parse(); err != nil {
			return err
		}
		n, err := rd.b.Fill()
		if n > 0 {
			rd.c.act.Touch()
		}
		if err != nil {
			return err
		}
	}
}

// parse handles every complete frame in hand as one batch, whose writes, to
// this connection and to those its publishes reach, start together once it
// is handled; and makes room for the rest of a partial frame.
func (rd *reader) parse() error {
	b := &rd.b
	if b.R == b.W {
		b.Release()
		return nil
	}
	rd.c.q.Cork(&rd.batch)
	rd.at = time.Now()
	defer rd.batch.Flush()
	for b.R < b.W {
		if rd.drain {
			b.R = b.W
			break
		}
		if rd.skip > 0 {
			n := min(rd.skip, int64(b.W-b.R))
			b.R += int(n)
			rd.skip -= n
			continue
		}
		done, err := rd.next()
		if err != nil || !done {
			return err
		}
		rd.batch.Yield(&rd.c.q)
	}
	b.Release()
	return nil
}

// next handles the frame at r. It reports false when the frame is not all
// in hand yet.
func (rd *reader) next() (bool, error) {
	p := rd.b.Unread()
	h, ok, err := parseHeader(p)
	if err != nil {
		return false, rd.violation(err)
	}
	if !ok {
		rd.b.Room(maxHeaderSize)
		return false, nil
	}
	if limit := int64(rd.c.h.opts.MaxMessageBytes); h.length > limit || int64(len(rd.msg))+h.length > limit {
		rd.skip = int64(h.size) + h.length
		rd.msgOp, rd.msg = 0, nil
		return true, rd.violation(ErrMessageTooLarge)
	}
	need := h.size + int(h.length)
	if len(p) < need {
		rd.b.Room(need)
		return false, nil
	}
	payload := p[h.size:need]
	gws.Cipher(payload, h.mask, 0)
	rd.b.R += need
	return true, rd.frame(h, payload)
}

// frame handles one complete, unmasked frame.
func (rd *reader) frame(h header, payload []byte) error {
	switch h.op {
	case opPing:
		rd.c.Send(appendFrame(make([]byte, 0, 2+len(payload)), opPong, payload))
	case opPong:
	case opClose:
		return rd.closeFrame(payload)
	case opContinuation:
		if rd.msgOp == 0 {
			return rd.violation(errProtocol("continuation without a message"))
		}
		rd.msg = append(rd.msg, payload...)
		if h.fin {
			op, msg := rd.msgOp, rd.msg
			rd.msgOp, rd.msg = 0, nil
			return rd.deliver(op, msg)
		}
	default:
		if rd.msgOp != 0 {
			return rd.violation(errProtocol("new message inside a fragmented one"))
		}
		if !h.fin {
			rd.msgOp, rd.msg = h.op, append([]byte(nil), payload...)
			return nil
		}
		return rd.deliver(h.op, payload)
	}
	return nil
}

// deliver hands a complete message to the session, unless the connection
// is closing.
func (rd *reader) deliver(op byte, data []byte) error {
	if op == opText && !utf8.Valid(data) {
		return rd.violation(&ProtocolError{Code: CloseInvalidPayload, Reason: "text message is not UTF-8"})
	}
	if rd.c.closing() {
		return nil
	}
	rd.c.h.stats.messagesIn.Add(1)
	rd.c.session.Receive(MessageType(op), data)
	return nil
}

// closeFrame handles the client's close frame: it answers one the server
// did not start, and ends reading.
func (rd *reader) closeFrame(p []byte) error {
	ce := &CloseError{}
	switch {
	case len(p) == 1:
		return rd.fail(errProtocol("close frame of one byte"))
	case len(p) >= 2:
		ce.Code = CloseCode(binary.BigEndian.Uint16(p))
		ce.Reason = string(p[2:])
		if !validCloseCode(ce.Code) {
			return rd.fail(errProtocol("invalid close code"))
		}
		if !utf8.ValidString(ce.Reason) {
			return rd.fail(&ProtocolError{Code: CloseInvalidPayload, Reason: "close reason is not UTF-8"})
		}
	}
	code := ce.Code
	if code == 0 {
		code = CloseNormal
	}
	rd.c.Close(code, "", ce)
	return ce
}

// violation tells the session about a client's violation and starts a
// graceful close with the matching code. Reading goes on, discarding data,
// until the client answers the close or CloseTimeout passes; where the
// stream can no longer be parsed it is drained.
func (rd *reader) violation(err error) error {
	var pe *ProtocolError
	if errors.As(err, &pe) && pe.Code == CloseProtocolError {
		rd.drain = true
	}
	if rj, ok := rd.c.session.(Rejecter); ok && !rd.c.closing() {
		rj.Reject(err)
	}
	rd.c.Close(closeCode(err), err.Error(), err)
	rd.c.h.stats.violations.Add(1)
	return nil
}

// fail closes the connection because of err and ends reading.
func (rd *reader) fail(err error) error {
	rd.c.Close(closeCode(err), err.Error(), err)
	rd.c.h.stats.violations.Add(1)
	return err
}

// validCloseCode reports whether a client may send code (RFC 6455 section
// 7.4).
func validCloseCode(code CloseCode) bool {
	switch {
	case code >= 3000 && code <= 4999:
		return true
	case code < 1000 || code > 1014:
		return false
	case code == 1004 || code == 1005 || code == 1006:
		return false
	}
	return true
}

// readLoop is the reader goroutine.
func (c *Conn) readLoop() {
	defer c.h.wg.Done()
	err := c.read()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	c.teardown(err)
}

// read runs the reader. A panic, a bug in the session or here, ends only
// this connection, with 1011; it is logged with its stack.
func (c *Conn) read() (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.logger().Error("whispeer: panic serving a connection", "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("whispeer: panic serving a connection: %v", r)
			c.Close(CloseInternalError, "internal error", err)
		}
	}()
	return c.rd.run()
}
