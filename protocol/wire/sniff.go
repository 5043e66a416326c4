package wire

import (
	"bytes"
	"strconv"
	"strings"
)

// Preface is what the first bytes of a TCP connection look like.
type Preface uint8

// The prefaces [Sniff] tells apart.
const (
	PrefaceUnknown Preface = iota // none of the others
	PrefaceNative                 // a HELLO frame: length, type, magic
	PrefaceHTTP                   // an HTTP/1 request line or the HTTP/2 preface
	PrefaceTLS                    // a TLS handshake, on a port without TLS
	PrefaceJSON                   // a JSON object or array, such as a PopSub frame
)

var prefaceNames = [...]string{"unknown", "native", "http", "tls", "json"}

// String returns the preface's name, such as "http".
func (p Preface) String() string {
	if int(p) < len(prefaceNames) {
		return prefaceNames[p]
	}
	return prefaceNames[PrefaceUnknown]
}

// SniffLen is the most bytes [Sniff] needs to decide.
const SniffLen = 9

// httpMethods are the starts of HTTP/1 request lines and of the HTTP/2
// connection preface.
var httpMethods = [...]string{"GET ", "POST ", "PUT ", "HEAD ", "DELETE ", "OPTIONS ",
	"PATCH ", "CONNECT ", "TRACE ", "PRI * HTTP/2"}

// Sniff classifies the first bytes a client sent on a TCP connection. It
// returns ErrShort while b is too short to decide (never more than
// [SniffLen] bytes are needed); otherwise the error is nil. A native
// client's first frame is a HELLO, which starts with a length prefix whose
// first byte is 0, the type 0x01 and [Magic]; none of HTTP, TLS or JSON
// can start that way.
func Sniff(b []byte) (Preface, error) {
	if len(b) == 0 {
		return PrefaceUnknown, ErrShort
	}
	switch c := b[0]; {
	case c == 0:
		return sniffNative(b)
	case c == 0x16: // a TLS handshake record
		if len(b) < 2 {
			return PrefaceUnknown, ErrShort
		}
		if b[1] == 0x03 {
			return PrefaceTLS, nil
		}
	case c >= 'A' && c <= 'Z':
		return sniffHTTP(b)
	default:
		return sniffJSON(b)
	}
	return PrefaceUnknown, nil
}

// sniffNative checks the length's first byte, the HELLO type and the magic.
func sniffNative(b []byte) (Preface, error) {
	want := [SniffLen]byte{0, 0, 0, 0, byte(TypeHello), Magic[0], Magic[1], Magic[2], Magic[3]}
	for i := 4; i < min(len(b), SniffLen); i++ {
		if b[i] != want[i] {
			return PrefaceUnknown, nil
		}
	}
	if len(b) < SniffLen {
		return PrefaceUnknown, ErrShort
	}
	return PrefaceNative, nil
}

// sniffHTTP matches the HTTP methods.
func sniffHTTP(b []byte) (Preface, error) {
	short := false
	for _, m := range httpMethods {
		if len(b) >= len(m) {
			if string(b[:len(m)]) == m {
				return PrefaceHTTP, nil
			}
		} else if strings.HasPrefix(m, string(b)) {
			short = true
		}
	}
	if short {
		return PrefaceUnknown, ErrShort
	}
	return PrefaceUnknown, nil
}

// sniffJSON looks for '{' or '[' after white space.
func sniffJSON(b []byte) (Preface, error) {
	t := bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(t) == 0 && len(b) < SniffLen:
		return PrefaceUnknown, ErrShort
	case len(t) > 0 && (t[0] == '{' || t[0] == '['):
		return PrefaceJSON, nil
	}
	return PrefaceUnknown, nil
}

// Refusal returns what a server writes, before closing, to a TCP client
// whose preface is p and not native: an HTTP 400 response to HTTP, a
// PopSub error object to JSON, nothing to TLS (which cannot read it) and
// a fatal ERROR frame otherwise. It returns nil for PrefaceNative.
func Refusal(p Preface) []byte {
	const text = "whispeer: this port speaks the native protocol (docs/protocol-native.md); " +
		"use the WebSocket endpoint for JSON"
	switch p {
	case PrefaceNative, PrefaceTLS:
		return nil
	case PrefaceHTTP:
		return []byte("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n" +
			"Connection: close\r\nContent-Length: " + strconv.Itoa(len(text)+1) + "\r\n\r\n" + text + "\n")
	case PrefaceJSON:
		return []byte(`{"type":"error","error":"` + text + `","message":"` + text + `"}` + "\n")
	}
	b, _ := AppendError(nil, &Error{Code: CodeInvalid, Fatal: true, Text: []byte(text)})
	return b
}
