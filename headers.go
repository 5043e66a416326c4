package whispeer

import (
	"encoding/binary"
	"fmt"
	"iter"
	"maps"
	"slices"
	"unsafe"
)

// Headers are a message's headers, kept in the encoded form in which they
// travel in the native protocol (docs/protocol-native.md, PUB): a
// count and then, per entry, a key and a value each prefixed with its
// length. A native client's headers reach every subscriber as the bytes
// it sent, never decoded on the way; reading them parses them in place
// and allocates nothing. Keys are case-sensitive and may repeat, in the
// order the publisher gave them. The zero value has no entries. Like the
// rest of a [Message], Headers are read-only once published: the strings
// Get and All return view the encoded bytes, and those of a message lent
// for the length of a call (see [Message.Clone]) only during it.
type Headers struct {
	s string // the encoded block, count included, viewing its bytes; "" for none
}

// headersOf returns the Headers whose encoded block is b, viewing it.
func headersOf(b []byte) Headers { return Headers{s: unsafe.String(unsafe.SliceData(b), len(b))} }

// bytes returns the encoded block, viewing it: not to be written.
func (h Headers) bytes() []byte { return unsafe.Slice(unsafe.StringData(h.s), len(h.s)) }

// NewHeaders returns Headers of alternating keys and values, in order. No
// key or value may be longer than 65535 bytes. A key should not be empty:
// the native protocol cannot carry such a header, and a message that has
// one is not delivered to its clients.
func NewHeaders(kv ...string) (Headers, error) {
	if len(kv)%2 != 0 {
		return Headers{}, fmt.Errorf("%w: headers: odd number of keys and values", ErrInvalidOption)
	}
	if len(kv) == 0 {
		return Headers{}, nil
	}
	if len(kv)/2 > maxHeaderLen {
		return Headers{}, fmt.Errorf("%w: %d headers", ErrInvalidOption, len(kv)/2)
	}
	size := 2
	for i := 0; i < len(kv); i += 2 {
		if len(kv[i]) > maxHeaderLen || len(kv[i+1]) > maxHeaderLen {
			return Headers{}, fmt.Errorf("%w: header over %d bytes", ErrInvalidOption, maxHeaderLen)
		}
		size += 4 + len(kv[i]) + len(kv[i+1])
	}
	b := binary.BigEndian.AppendUint16(make([]byte, 0, size), uint16(len(kv)/2))
	for _, s := range kv {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	return headersOf(b), nil
}

// HeadersOf returns Headers holding m's entries, the keys sorted so that
// equal maps give equal bytes; none for a nil or empty map.
func HeadersOf(m map[string]string) (Headers, error) {
	if len(m) == 0 {
		return Headers{}, nil
	}
	kv := make([]string, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, k, m[k])
	}
	return NewHeaders(kv...)
}

// DecodeHeaders returns the Headers whose encoded form is b, exactly, as
// [Headers.Encoded] returns it: what a transport that parsed a client's
// frame passes on. The Headers view b, which must not change while they
// are in use.
func DecodeHeaders(b []byte) (Headers, error) {
	if len(b) == 0 {
		return Headers{}, nil
	}
	if len(b) < 2 {
		return Headers{}, fmt.Errorf("%w: headers truncated", ErrInvalidOption)
	}
	n, i := int(binary.BigEndian.Uint16(b)), 2
	for range 2 * n {
		if len(b)-i < 2 {
			return Headers{}, fmt.Errorf("%w: headers truncated", ErrInvalidOption)
		}
		l := int(binary.BigEndian.Uint16(b[i:]))
		if len(b)-i-2 < l {
			return Headers{}, fmt.Errorf("%w: headers truncated", ErrInvalidOption)
		}
		i += 2 + l
	}
	if i != len(b) {
		return Headers{}, fmt.Errorf("%w: %d bytes after the headers", ErrInvalidOption, len(b)-i)
	}
	if n == 0 {
		return Headers{}, nil
	}
	return headersOf(b[:i]), nil
}

// maxHeaderLen is the longest key or value, and the most entries, that
// the encoding holds.
const maxHeaderLen = 1<<16 - 1

// Len returns the number of entries.
func (h Headers) Len() int {
	if len(h.s) < 2 {
		return 0
	}
	return int(h.s[0])<<8 | int(h.s[1])
}

// Encoded returns the headers' encoded form, nil for none: a view of
// their bytes, which must not be changed.
func (h Headers) Encoded() []byte {
	if h.s == "" {
		return nil
	}
	return h.bytes()
}

// All iterates over the keys and values in order, repeated keys included.
func (h Headers) All() iter.Seq2[string, string] {
	return func(yield func(key, value string) bool) {
		b := h.bytes()
		if len(b) < 2 {
			return
		}
		b = b[2:]
		for range h.Len() {
			var k, v string
			k, b = str16(b)
			v, b = str16(b)
			if !yield(k, v) {
				return
			}
		}
	}
}

// str16 returns the length-prefixed string at the front of b, viewing b,
// and what follows it.
func str16(b []byte) (string, []byte) {
	l := int(binary.BigEndian.Uint16(b))
	return unsafe.String(unsafe.SliceData(b[2:]), l), b[2+l:]
}

// Get returns the value of key, the last entry's when the key repeats, as
// a map built from the headers would hold.
func (h Headers) Get(key string) (value string, ok bool) {
	for k, v := range h.All() {
		if k == key {
			value, ok = v, true
		}
	}
	return value, ok
}

// Map returns the headers as a new map of copied strings, the last of
// repeated keys winning; nil when there are none.
func (h Headers) Map() map[string]string {
	if h.Len() == 0 {
		return nil
	}
	m := make(map[string]string, h.Len())
	for k, v := range h.All() {
		m[string([]byte(k))] = string([]byte(v))
	}
	return m
}

// With returns headers holding h's entries followed by the given
// alternating keys and values, each key given replacing h's entries of
// that key.
func (h Headers) With(kv ...string) (Headers, error) {
	if len(kv)%2 != 0 {
		return Headers{}, fmt.Errorf("%w: headers: odd number of keys and values", ErrInvalidOption)
	}
	all := make([]string, 0, 2*h.Len()+len(kv))
	for k, v := range h.All() {
		replaced := false
		for i := 0; i < len(kv) && !replaced; i += 2 {
			replaced = kv[i] == k
		}
		if !replaced {
			all = append(all, k, v)
		}
	}
	return NewHeaders(append(all, kv...)...)
}

// size returns the bytes of the keys and values together.
func (h Headers) size() int {
	if h.s == "" {
		return 0
	}
	return len(h.s) - 2 - 4*h.Len()
}
