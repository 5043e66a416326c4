package envelope

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Limits of the compressors, used to reject a body whose declared size it
// cannot possibly reach before anything is allocated for it.
const (
	// zstdWindow is the largest zstd window accepted, and the encoder's.
	zstdWindow = 8 << 20
	// zstdMaxRatio bounds zstd's expansion: the densest block (RLE) turns
	// 4 bytes into at most 128 KiB.
	zstdMaxRatio = 1 << 15
	// lz4MaxRatio bounds LZ4's expansion: each extra length byte of a
	// sequence adds at most 255 bytes of output.
	lz4MaxRatio = 256
)

// zstdEncoder returns the package's shared zstd encoder. Creating one is
// expensive and EncodeAll is safe for concurrent use, so every engine uses
// this one. Checksums are off: sealed bodies carry a tag.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault),
		zstd.WithEncoderConcurrency(0),
		zstd.WithEncoderCRC(false),
		zstd.WithWindowSize(zstdWindow),
	)
})

// zstdDecoder returns the package's shared zstd decoder. DecodeAll is
// bounded by the capacity of its destination (WithDecodeAllCapLimit), which
// Open sets to the declared, checked size of each body; that is how one
// decoder serves engines with different limits.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderMaxWindow(zstdWindow),
		zstd.WithDecoderMaxMemory(1<<40),
		zstd.IgnoreChecksum(false),
	)
})

// lz4Compressors pools LZ4 compressors, which hold a hash table and are not
// safe for concurrent use.
var lz4Compressors = sync.Pool{New: func() any { return new(lz4.Compressor) }}

// compressBound returns the most bytes a compressed body (length prefix
// included) of n plaintext bytes may need while it is being written.
func compressBound(c Compression, n int) int {
	if c == CompressZstd {
		if enc, err := zstdEncoder(); err == nil {
			return binary.MaxVarintLen64 + enc.MaxEncodedSize(n)
		}
	}
	return n
}

// appendCompressed appends the compressed body of src (its length as a
// uvarint, then the compressed data) to dst and reports whether it is
// shorter than src. When it is not, dst[len(dst):cap(dst)] may have been
// overwritten and the caller stores src instead. dst must have room for
// compressBound(c, len(src)) bytes so that nothing is reallocated.
func appendCompressed(dst []byte, c Compression, src []byte) ([]byte, bool) {
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(src)))
	switch c {
	case CompressZstd:
		enc, err := zstdEncoder()
		if err != nil {
			return dst[:start], false
		}
		dst = enc.EncodeAll(src, dst)
	case CompressLZ4:
		room := len(src) - (len(dst) - start) - 1 // only a strictly smaller body is kept
		if room <= 0 || cap(dst)-len(dst) < room {
			return dst[:start], false
		}
		lc := lz4Compressors.Get().(*lz4.Compressor)
		n, err := lc.CompressBlock(src, dst[len(dst):len(dst)+room])
		lz4Compressors.Put(lc)
		if err != nil || n == 0 {
			return dst[:start], false
		}
		dst = dst[:len(dst)+n]
	default:
		return dst[:start], false
	}
	if len(dst)-start >= len(src) {
		return dst[:start], false
	}
	return dst, true
}

// appendDecompressed decodes a compressed body (uvarint length, then the
// compressed data) and appends the result to dst. A declared length above
// limit is refused before anything is allocated, and so is one that the
// compressed data could not expand to; the decoder is then bounded to the
// declared length, so no input makes it write or allocate more.
func appendDecompressed(dst []byte, c Compression, body []byte, limit int) ([]byte, error) {
	size, k := binary.Uvarint(body)
	if k <= 0 {
		return dst, fmt.Errorf("%w: bad length prefix", ErrCorrupt)
	}
	src := body[k:]
	if size == 0 {
		// Seal never compresses an empty plaintext (it cannot shrink), and
		// the LZ4 decoder must not see an empty destination.
		return dst, fmt.Errorf("%w: compressed body declares 0 bytes", ErrCorrupt)
	}
	if size > uint64(limit) {
		return dst, fmt.Errorf("%w: body declares %d bytes, limit is %d", ErrTooLarge, size, limit)
	}
	n := int(size)
	ratio := lz4MaxRatio
	if c == CompressZstd {
		ratio = zstdMaxRatio
	}
	if uint64(n) > uint64(len(src))*uint64(ratio)+64 {
		return dst, fmt.Errorf("%w: %d compressed bytes cannot expand to %d", ErrCorrupt, len(src), n)
	}
	start := len(dst)
	if cap(dst)-start < n {
		grown := make([]byte, start, start+n)
		copy(grown, dst)
		dst = grown
	}
	switch c {
	case CompressZstd:
		dec, err := zstdDecoder()
		if err != nil {
			return dst[:start], fmt.Errorf("%w: zstd: %w", ErrUnsupportedAlgorithm, err)
		}
		out, err := dec.DecodeAll(src, dst[:start:start+n])
		if err != nil {
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
				return dst[:start], fmt.Errorf("%w: zstd data expands beyond the declared %d bytes", ErrTooLarge, n)
			}
			return dst[:start], fmt.Errorf("%w: zstd: %w", ErrCorrupt, err)
		}
		if len(out)-start != n {
			return dst[:start], fmt.Errorf("%w: zstd data is %d bytes, declared %d", ErrCorrupt, len(out)-start, n)
		}
		return out, nil
	case CompressLZ4:
		got, err := lz4.UncompressBlock(src, dst[start:start+n])
		if err != nil {
			return dst[:start], fmt.Errorf("%w: lz4: %w", ErrCorrupt, err)
		}
		if got != n {
			return dst[:start], fmt.Errorf("%w: lz4 data is %d bytes, declared %d", ErrCorrupt, got, n)
		}
		return dst[:start+n], nil
	}
	return dst[:start], fmt.Errorf("%w: compression %d", ErrUnsupportedAlgorithm, uint8(c))
}
