package ws

import (
	"encoding/binary"
	"errors"
	"io"
	"unicode/utf8"

	gws "github.com/gobwas/ws"
)

// maxHeaderSize is the longest header of a masked client frame.
const maxHeaderSize = 14

// framer is a conn seen as its reader's netconn.Framer.
type framer conn

// Frame handles the frame at the start of p, or discards bytes of a
// refused one.
func (rd *framer) Frame(p []byte) (n, need int, err error) {
	if rd.drain {
		return len(p), 0, nil
	}
	if rd.skip > 0 {
		n := min(rd.skip, int64(len(p)))
		rd.skip -= n
		return int(n), 0, nil
	}
	h, ok, err := parseHeader(p)
	if err != nil {
		return len(p), 0, rd.violation(err)
	}
	if !ok {
		return 0, maxHeaderSize, nil
	}
	if limit := int64(rd.h.opts.MaxMessageBytes); h.length > limit || int64(len(rd.msg))+h.length > limit {
		rd.msgOp, rd.msg = 0, nil
		err := rd.violation(ErrMessageTooLarge)
		rd.skip = int64(h.size) + h.length
		n := min(rd.skip, int64(len(p)))
		rd.skip -= n
		return int(n), 0, err
	}
	need = h.size + int(h.length)
	if len(p) < need {
		return 0, need, nil
	}
	payload := p[h.size:need]
	gws.Cipher(payload, h.mask, 0)
	return need, 0, rd.frame(h, payload)
}

// Rest has nothing to give back: a message being assembled is kept.
func (rd *framer) Rest() {}

// End reports a connection that ended without a close frame as ending
// unexpectedly.
func (rd *framer) End(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Closed tells the session.
func (rd *framer) Closed(err error) { rd.session.Closed(err) }

// frame handles one complete, unmasked frame.
func (rd *framer) frame(h header, payload []byte) error {
	switch h.op {
	case opPing:
		rd.Send(appendFrame(make([]byte, 0, 2+len(payload)), opPong, payload))
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
func (rd *framer) deliver(op byte, data []byte) error {
	if op == opText && !utf8.Valid(data) {
		return rd.violation(&ProtocolError{Code: CloseInvalidPayload, Reason: "text message is not UTF-8"})
	}
	if rd.Closing() {
		return nil
	}
	rd.h.hub.Counters.In.Add(1)
	rd.session.Receive(MessageType(op), data)
	return nil
}

// closeFrame handles the client's close frame: it answers one the server
// did not start, and ends reading.
func (rd *framer) closeFrame(p []byte) error {
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
	(*conn)(rd).close(code, "", ce)
	return ce
}

// violation tells the session about a client's violation and starts a
// graceful close with the matching code. Reading goes on, discarding data,
// until the client answers the close or CloseTimeout passes; where the
// stream can no longer be parsed it is drained.
func (rd *framer) violation(err error) error {
	var pe *ProtocolError
	if errors.As(err, &pe) && pe.Code == CloseProtocolError {
		rd.drain = true
	}
	if rj, ok := rd.session.(Rejecter); ok && !rd.Closing() {
		rj.Reject(err)
	}
	(*conn)(rd).close(closeCode(err), err.Error(), err)
	rd.h.hub.Counters.Violations.Add(1)
	return nil
}

// fail closes the connection because of err and ends reading.
func (rd *framer) fail(err error) error {
	(*conn)(rd).close(closeCode(err), err.Error(), err)
	rd.h.hub.Counters.Violations.Add(1)
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
