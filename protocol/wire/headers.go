package wire

import (
	"encoding/binary"
	"fmt"
	"iter"
	"maps"
	"slices"
)

// Headers are a message's headers in their wire form: a count and then,
// per entry, a uint16-prefixed key and a uint16-prefixed value. Parsing
// keeps the entries as one raw block, so reading headers allocates nothing
// and passing them from a PUB to a MSG copies one slice. Keys are
// case-sensitive bytes and may repeat; the zero value has no entries.
type Headers struct {
	raw []byte // the block, count included, validated; nil for none
	n   int    // how many entries
}

// MakeHeaders builds Headers from alternating keys and values, in order.
func MakeHeaders(kv ...string) (Headers, error) {
	if len(kv)%2 != 0 {
		return Headers{}, fmt.Errorf("%w: odd number of header keys and values", ErrHeader)
	}
	if len(kv) == 0 {
		return Headers{}, nil
	}
	if len(kv)/2 > maxUint16 {
		return Headers{}, fmt.Errorf("%w: %d headers", ErrTooLong, len(kv)/2)
	}
	size := 2
	for i := 0; i < len(kv); i += 2 {
		if err := checkHeader(kv[i], kv[i+1]); err != nil {
			return Headers{}, err
		}
		size += 4 + len(kv[i]) + len(kv[i+1])
	}
	h := Headers{raw: binary.BigEndian.AppendUint16(make([]byte, 0, size), uint16(len(kv)/2)), n: len(kv) / 2}
	for i := 0; i < len(kv); i += 2 {
		h.raw = appendStr16(h.raw, kv[i])
		h.raw = appendStr16(h.raw, kv[i+1])
	}
	return h, nil
}

// HeadersFromMap builds Headers from m, with the keys sorted so that equal
// maps encode to equal bytes. A nil or empty map gives no headers.
func HeadersFromMap(m map[string]string) (Headers, error) {
	if len(m) == 0 {
		return Headers{}, nil
	}
	kv := make([]string, 0, 2*len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kv = append(kv, k, m[k])
	}
	return MakeHeaders(kv...)
}

// checkHeader reports whether one entry can be encoded.
func checkHeader(k, v string) error {
	if k == "" {
		return fmt.Errorf("%w: empty key", ErrHeader)
	}
	if len(k) > maxUint16 || len(v) > maxUint16 {
		return fmt.Errorf("%w: header over %d bytes", ErrTooLong, maxUint16)
	}
	return nil
}

// Len returns the number of entries.
func (h Headers) Len() int { return h.n }

// Each calls fn with each key and value in order until fn returns false.
// The slices view the frame's buffer.
func (h Headers) Each(fn func(key, value []byte) bool) {
	if h.n == 0 {
		return
	}
	b := h.raw[2:]
	for range h.n {
		kl := int(binary.BigEndian.Uint16(b))
		k := b[2 : 2+kl : 2+kl]
		b = b[2+kl:]
		vl := int(binary.BigEndian.Uint16(b))
		v := b[2 : 2+vl : 2+vl]
		b = b[2+vl:]
		if !fn(k, v) {
			return
		}
	}
}

// All iterates over the keys and values in order, like [Headers.Each].
func (h Headers) All() iter.Seq2[[]byte, []byte] {
	return func(yield func(key, value []byte) bool) { h.Each(yield) }
}

// Get returns the value of the first entry whose key is key.
func (h Headers) Get(key string) (value []byte, ok bool) {
	h.Each(func(k, v []byte) bool {
		if string(k) == key {
			value, ok = v, true
		}
		return !ok
	})
	return value, ok
}

// Map copies the headers into a new map, the last of repeated keys
// winning; it returns nil when there are none.
func (h Headers) Map() map[string]string {
	if h.n == 0 {
		return nil
	}
	m := make(map[string]string, h.n)
	h.Each(func(k, v []byte) bool {
		m[string(k)] = string(v)
		return true
	})
	return m
}

// Clone returns a copy of h that views no frame buffer.
func (h Headers) Clone() Headers {
	if h.n == 0 {
		return Headers{}
	}
	return Headers{raw: slices.Clone(h.raw), n: h.n}
}

// Encoded returns the headers' wire form, count included, as a PUB or a
// MSG carries it; nil for none. It views the frame's buffer.
func (h Headers) Encoded() []byte { return h.raw }

// DecodeHeaders returns the Headers whose wire form is b, exactly, as
// [Headers.Encoded] returns it; an empty b is no headers. They view b.
func DecodeHeaders(b []byte) (Headers, error) {
	if len(b) == 0 {
		return Headers{}, nil
	}
	h, n, err := parseHeaders(b)
	if err != nil {
		return Headers{}, err
	}
	if n != len(b) {
		return Headers{}, fmt.Errorf("%w: %d bytes after the headers", ErrHeader, len(b)-n)
	}
	return h, nil
}

// size is the headers' length on the wire, count included.
func (h Headers) size() int { return max(2, len(h.raw)) }

// appendTo appends the wire form: the count, then the entries.
func (h Headers) appendTo(b []byte) []byte {
	if h.n == 0 {
		return append(b, 0, 0)
	}
	return append(b, h.raw...)
}

// parseHeaders reads and validates a header block at the front of b and
// returns it with the number of bytes it took.
func parseHeaders(b []byte) (Headers, int, error) {
	if len(b) < 2 {
		return Headers{}, 0, ErrTruncated
	}
	n := int(binary.BigEndian.Uint16(b))
	i := 2
	for range n {
		for kv := range 2 {
			if len(b)-i < 2 {
				return Headers{}, 0, ErrTruncated
			}
			l := int(binary.BigEndian.Uint16(b[i:]))
			if kv == 0 && l == 0 {
				return Headers{}, 0, fmt.Errorf("%w: empty key", ErrHeader)
			}
			if len(b)-i-2 < l {
				return Headers{}, 0, ErrTruncated
			}
			i += 2 + l
		}
	}
	if n == 0 {
		return Headers{}, i, nil
	}
	return Headers{raw: b[:i:i], n: n}, i, nil
}
