package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// parseErrors are the errors Parse may return.
var parseErrors = []error{wire.ErrShort, wire.ErrTooLarge, wire.ErrUnknownType, wire.ErrTruncated,
	wire.ErrTrailing, wire.ErrQoS, wire.ErrVersion, wire.ErrMagic, wire.ErrEmptyTopic,
	wire.ErrMissingID, wire.ErrFlags, wire.ErrSID, wire.ErrResume, wire.ErrCode, wire.ErrHeader}

// isParseError reports whether err wraps one of parseErrors.
func isParseError(err error) bool {
	for _, e := range parseErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzParse checks that Parse never panics, never changes its input, fails
// only with the package's errors, and that whatever it parses encodes
// back to the same bytes.
func FuzzParse(f *testing.F) {
	for _, s := range samples(f) {
		f.Add(mustAppend(f, &s.f))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		var fr wire.Frame
		n, err := fr.Parse(data)
		if !bytes.Equal(in, data) {
			t.Fatal("Parse changed its input")
		}
		if err != nil {
			if !isParseError(err) {
				t.Fatalf("Parse error %v is none of the package's", err)
			}
			return
		}
		if n < wire.HeaderLen || n > len(data) || n != 4+int(binary.BigEndian.Uint32(data)) {
			t.Fatalf("Parse took %d bytes of %d", n, len(data))
		}
		again, err := wire.AppendFrame(nil, &fr)
		if err != nil {
			t.Fatalf("AppendFrame of a parsed %v: %v", fr.Type, err)
		}
		if !bytes.Equal(again, data[:n]) {
			t.Fatalf("%v re-encoded as %x\nwant %x", fr.Type, again, data[:n])
		}
	})
}

// chunkReader returns at most size bytes per read.
type chunkReader struct {
	data []byte
	size int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.size)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// FuzzReader reads a stream in chunks of 1 to 256 bytes, with a frame
// limit of up to 64 KiB and a buffer of 4 to 259 bytes (so that small
// inputs make the buffer grow and shrink), and checks the Reader against
// Parse: the same frames, then the error that Parse, the limit or the end
// of the stream gives.
func FuzzReader(f *testing.F) {
	all := samples(f)
	var stream []byte
	for _, s := range all {
		stream = append(stream, mustAppend(f, &s.f)...)
	}
	f.Add(stream, uint8(0), uint16(0xFFFF), uint8(0))
	f.Add(stream, uint8(7), uint16(100), uint8(60))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, limit uint16, size uint8) {
		max := int(limit) + 1
		rd := &chunkReader{data: bytes.Clone(data), size: int(chunk) + 1}
		r := wire.NewReaderSize(rd, max, 4+int(size))
		rest := data
		for {
			got, err := r.Next()
			want, n, wantErr := expectFrame(rest, max)
			if wantErr != nil {
				if err == nil || !errors.Is(err, wantErr) && err.Error() != wantErr.Error() {
					t.Fatalf("Next = %v, want %v", err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Next = %v, want a %v", err, want.Type)
			}
			if !sameFrame(got, &want) {
				t.Fatalf("Next = %+v, want %+v", member(got), member(&want))
			}
			rest = rest[n:]
		}
	})
}

// expectFrame is what a Reader with the frame limit max should return for
// the stream rest.
func expectFrame(rest []byte, max int) (wire.Frame, int, error) {
	switch {
	case len(rest) == 0:
		return wire.Frame{}, 0, io.EOF
	case len(rest) >= 4 && binary.BigEndian.Uint32(rest) > uint32(max):
		return wire.Frame{}, 0, wire.ErrTooLarge
	}
	f, n, err := wire.Parse(rest)
	if err == wire.ErrShort {
		err = io.ErrUnexpectedEOF
	}
	return f, n, err
}
