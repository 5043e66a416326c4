package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ReaderSize is the size of a [Reader]'s buffer between large frames.
const ReaderSize = 4 << 10

// maxEmptyReads is how many reads in a row may return no bytes and no
// error before the Reader gives up with io.ErrNoProgress.
const maxEmptyReads = 100

// Reader reads frames from a stream. It reads into a buffer of
// [ReaderSize] bytes, so that one read usually brings many small frames;
// a larger frame gets a buffer of its own size, dropped again once the
// frame has been returned. In steady state Next allocates nothing.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	rd    io.Reader
	max   int
	small []byte // the buffer of ReaderSize bytes, kept across large frames
	buf   []byte // small, or a larger buffer while a large frame passes
	r, w  int    // buf[r:w] holds bytes read but not yet returned as frames
	f     Frame  // the frame Next returns, reused
	err   error  // a parse or read error, returned by every later Next
	rerr  error  // a read error that came with bytes, returned once they run out
}

// NewReader returns a Reader of frames from rd that refuses frames whose
// length prefix is over maxFrame bytes, or over [DefaultMaxFrame] when
// maxFrame is 0 or less. A maxFrame over [MaxFrameSize] counts as that.
func NewReader(rd io.Reader, maxFrame int) *Reader {
	return NewReaderSize(rd, maxFrame, ReaderSize)
}

// NewReaderSize is NewReader with a buffer of size bytes (at least 4)
// between large frames in place of [ReaderSize]. A reader that would wrap
// rd in a bufio.Reader to read more per call should give the size here
// instead: the frames are then parsed where the read put them, with no
// copy between two buffers.
func NewReaderSize(rd io.Reader, maxFrame, size int) *Reader {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	b := make([]byte, max(size, 4))
	return &Reader{rd: rd, max: min(maxFrame, MaxFrameSize), small: b, buf: b}
}

// Reset discards the Reader's state and makes it read from rd, keeping
// its buffer and limit, so that Readers can be pooled across connections.
func (r *Reader) Reset(rd io.Reader) {
	*r = Reader{rd: rd, max: r.max, small: r.small, buf: r.small}
}

// Next returns the next frame. The frame, and every slice in it, is valid
// only until the next call to Next or Reset. At the end of the stream Next
// returns io.EOF, or io.ErrUnexpectedEOF inside a frame. A frame too large
// is refused with ErrTooLarge from its length prefix, before its body is
// read. Any error ends the stream: later calls return it again.
func (r *Reader) Next() (*Frame, error) {
	if r.err != nil {
		return nil, r.err
	}
	r.shrink()
	for {
		n, err := frameLen(r.buf[r.r:r.w], r.max)
		if err == nil {
			frame := r.buf[r.r+4 : r.r+n : r.r+n]
			r.r += n
			if err := r.f.decode(frame); err != nil {
				return nil, r.fail(err)
			}
			return &r.f, nil
		}
		if err != ErrShort {
			return nil, r.fail(err)
		}
		if err := r.fill(); err != nil {
			return nil, r.fail(err)
		}
	}
}

// Ready reports whether Next would return without reading: the next frame
// is already buffered (or its length prefix is already known to be bad). A server flushes what it has to write when the
// next frame is not ready, once per batch of frames read.
func (r *Reader) Ready() bool {
	_, err := frameLen(r.buf[r.r:r.w], r.max)
	return err != ErrShort
}

// fail records err as the Reader's final error.
func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// shrink returns to the small buffer after a large frame, once what is
// left to parse fits in it.
func (r *Reader) shrink() {
	if len(r.buf) == len(r.small) || r.w-r.r > len(r.small) {
		return
	}
	r.w = copy(r.small, r.buf[r.r:r.w])
	r.r, r.buf = 0, r.small
}

// fill reads at least one byte more. First it moves the bytes left to the
// front of the buffer or, for a frame larger than the buffer, to a buffer
// of the frame's size.
func (r *Reader) fill() error {
	if r.rerr != nil {
		return r.eof(r.rerr)
	}
	need := 4
	if r.w-r.r >= 4 {
		need = frameSize(r.buf[r.r:]) // at most r.max: frameLen checked it
	}
	if r.r > 0 || need > len(r.buf) {
		buf := r.buf
		if need > len(buf) {
			buf = make([]byte, need)
		}
		r.w = copy(buf, r.buf[r.r:r.w])
		r.r, r.buf = 0, buf
	}
	return r.read()
}

// frameSize returns the total length announced by the prefix at b's front.
func frameSize(b []byte) int {
	return 4 + int(binary.BigEndian.Uint32(b))
}

// read reads once into the free end of the buffer, retrying reads that
// return nothing.
func (r *Reader) read() error {
	for range maxEmptyReads {
		n, err := r.rd.Read(r.buf[r.w:])
		if n < 0 || n > len(r.buf)-r.w {
			return fmt.Errorf("whispeer: reader returned %d bytes: %w", n, io.ErrShortBuffer)
		}
		r.w += n
		if err != nil {
			if n > 0 {
				r.rerr = err
				return nil
			}
			return r.eof(err)
		}
		if n > 0 {
			return nil
		}
	}
	return io.ErrNoProgress
}

// eof turns io.EOF inside a frame into io.ErrUnexpectedEOF.
func (r *Reader) eof(err error) error {
	if errors.Is(err, io.EOF) && r.w > r.r {
		return io.ErrUnexpectedEOF
	}
	return err
}
