package ws

import (
	"encoding/binary"
	"unicode/utf8"
)

// MessageType is the kind of a data message: text or binary.
type MessageType uint8

// The data message types, with their WebSocket opcodes as values.
const (
	Text   MessageType = 0x1
	Binary MessageType = 0x2
)

// String returns "text" or "binary".
func (t MessageType) String() string {
	if t == Binary {
		return "binary"
	}
	return "text"
}

// CloseCode is a WebSocket close status code (RFC 6455 section 7.4).
type CloseCode uint16

// The close codes this package sends.
const (
	CloseNormal          CloseCode = 1000 // the session is over
	CloseGoingAway       CloseCode = 1001 // the server is shutting down
	CloseProtocolError   CloseCode = 1002 // a frame broke RFC 6455
	CloseUnsupported     CloseCode = 1003 // a data type the endpoint cannot take
	CloseInvalidPayload  CloseCode = 1007 // a text message that is not UTF-8
	ClosePolicyViolation CloseCode = 1008 // the peer broke a rule of the server
	CloseTooBig          CloseCode = 1009 // a message over the size limit
	CloseInternalError   CloseCode = 1011 // the server failed
	CloseTryAgainLater   CloseCode = 1013 // overloaded: a slow consumer, too many connections
)

// Opcodes of the frames the reader and writer handle.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// HeaderRoom is the number of bytes to leave free at the front of a buffer
// passed to [Frame]: the longest header of an unmasked server frame.
const HeaderRoom = 10

// maxControlPayload is the largest payload of a control frame.
const maxControlPayload = 125

// Frame turns buf into a complete, unmasked, final frame of type t without
// copying the payload: buf[:HeaderRoom] is reserved and buf[HeaderRoom:] is
// the payload. Frame writes the header right-aligned into the reserved bytes
// and returns the frame, a subslice of buf. Encoders append the payload
// after HeaderRoom bytes, then call Frame once, so that a message bound for
// many connections is framed once and its bytes shared.
func Frame(t MessageType, buf []byte) []byte {
	return frame(byte(t), buf)
}

// AppendFrame appends to dst a complete, unmasked, final frame of type t
// carrying payload, and returns the extended slice.
func AppendFrame(dst []byte, t MessageType, payload []byte) []byte {
	return appendFrame(dst, byte(t), payload)
}

// AppendHeader appends to dst the header of an unmasked, final frame of
// type t whose payload, n bytes, the caller writes after it: with
// transport.Conn.SendHead, the header and a per-connection prefix of the payload make
// the head, and the rest of the payload, shared by many connections, the
// body.
func AppendHeader(dst []byte, t MessageType, n int) []byte {
	var hdr [HeaderRoom]byte
	h := headerSize(n)
	putHeader(hdr[:h], byte(t), n)
	return append(dst, hdr[:h]...)
}

func frame(op byte, buf []byte) []byte {
	n := len(buf) - HeaderRoom
	h := headerSize(n)
	start := HeaderRoom - h
	putHeader(buf[start:HeaderRoom], op, n)
	return buf[start:]
}

func appendFrame(dst []byte, op byte, payload []byte) []byte {
	var hdr [HeaderRoom]byte
	h := headerSize(len(payload))
	putHeader(hdr[:h], op, len(payload))
	dst = append(dst, hdr[:h]...)
	return append(dst, payload...)
}

// headerSize returns the length of an unmasked header for n payload bytes.
func headerSize(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	}
	return HeaderRoom
}

// putHeader writes an unmasked final header into h, len(h) ==
// headerSize(n).
func putHeader(h []byte, op byte, n int) {
	h[0] = 0x80 | op
	switch len(h) {
	case 2:
		h[1] = byte(n)
	case 4:
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
}

// closePayload returns the payload of a close frame: code and reason, the
// reason cut to fit a control frame on a UTF-8 boundary.
func closePayload(code CloseCode, reason string) []byte {
	if len(reason) > maxControlPayload-2 {
		reason = reason[:maxControlPayload-2]
		for len(reason) > 0 && !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	p := make([]byte, 2, 2+len(reason))
	binary.BigEndian.PutUint16(p, uint16(code))
	return append(p, reason...)
}

// header is a parsed client frame header.
type header struct {
	fin    bool
	op     byte
	masked bool
	mask   [4]byte
	length int64
	size   int // header bytes
}

// parseHeader parses a frame header at the start of p. It returns ok false
// when p holds only part of the header.
func parseHeader(p []byte) (h header, ok bool, err error) {
	if len(p) < 2 {
		return h, false, nil
	}
	b0, b1 := p[0], p[1]
	h.fin = b0&0x80 != 0
	h.op = b0 & 0x0f
	h.masked = b1&0x80 != 0
	h.size = 2
	switch l := b1 & 0x7f; l {
	case 126:
		h.size += 2
	case 127:
		h.size += 8
	default:
		h.length = int64(l)
	}
	if h.masked {
		h.size += 4
	}
	if len(p) < h.size {
		return h, false, nil
	}
	switch b1 & 0x7f {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(p[2:]))
	case 127:
		u := binary.BigEndian.Uint64(p[2:])
		if u > 1<<63-1 {
			return h, false, errProtocol("frame length overflows")
		}
		h.length = int64(u)
	}
	if h.masked {
		copy(h.mask[:], p[h.size-4:h.size])
	}
	return h, true, checkHeader(b0, h)
}

// checkHeader applies the rules of RFC 6455 section 5 that do not depend
// on earlier frames.
func checkHeader(b0 byte, h header) error {
	switch {
	case b0&0x70 != 0:
		return errProtocol("reserved bits set")
	case !h.masked:
		return errProtocol("client frame not masked")
	case h.op > opBinary && h.op < opClose, h.op > opPong:
		return errProtocol("reserved opcode")
	case h.op >= opClose && !h.fin:
		return errProtocol("fragmented control frame")
	case h.op >= opClose && h.length > maxControlPayload:
		return errProtocol("control frame too long")
	}
	return nil
}
