package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// sealBody seals an arbitrary body under the header compression id comp,
// the way a sender holding the key could.
func sealBody(t *testing.T, e *Engine, topic, id string, comp Compression, body []byte) []byte {
	t.Helper()
	sk, err := e.sealKey(topic)
	if err != nil {
		t.Fatal(err)
	}
	alg := e.cfg.aead
	env := make([]byte, headerSize(alg))
	putFixedHeader(env, comp, alg, sk.id)
	if err := e.nonces.fill(env[headerSize(alg)-alg.NonceSize():]); err != nil {
		t.Fatal(err)
	}
	ad := appendAD(nil, env, topic, id)
	return sk.aead.Seal(env, env[headerSize(alg)-alg.NonceSize():], body, ad)
}

// zstdStream compresses n zero bytes with a streaming encoder, which
// writes no content size into the frame.
func zstdStream(t *testing.T, n int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(w, zeroReader{}, n); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func withLength(n uint64, data []byte) []byte {
	return append(binary.AppendUvarint(nil, n), data...)
}

func TestEngine_DecompressionBomb(t *testing.T) {
	const limit = 1 << 20
	e := newTestEngine(t, WithKeyring(newTestKeyring(t)), WithMaxDecompressed(limit))
	unsealed := newTestEngine(t, WithMaxDecompressed(limit))

	frame := zstdStream(t, 64<<20) // 64 MiB of zeros in a few KiB, size unknown
	sized, err := zstdEncoder()
	if err != nil {
		t.Fatal(err)
	}
	sizedFrame := sized.EncodeAll(make([]byte, 8<<20), nil) // declares 8 MiB in its header
	lz4Block := make([]byte, lz4.CompressBlockBound(8<<20))
	n, err := lz4.CompressBlock(make([]byte, 8<<20), lz4Block, nil)
	if err != nil {
		t.Fatal(err)
	}
	lz4Block = lz4Block[:n]

	tests := []struct {
		name string
		comp Compression
		body []byte
		want error
	}{
		{"zstd honest size", CompressZstd, withLength(64<<20, frame), ErrTooLarge},
		{"zstd claims small, unknown size", CompressZstd, withLength(1000, frame), ErrTooLarge},
		{"zstd claims limit, unknown size", CompressZstd, withLength(limit, frame), ErrTooLarge},
		{"zstd claims small, frame declares 8 MiB", CompressZstd, withLength(1000, sizedFrame), ErrTooLarge},
		{"zstd claims 2^63", CompressZstd, withLength(1<<63, frame), ErrTooLarge},
		{"zstd claim beyond any ratio", CompressZstd, withLength(limit, []byte{0x28, 0xb5}), ErrCorrupt},
		{"lz4 honest size", CompressLZ4, withLength(8<<20, lz4Block), ErrTooLarge},
		{"lz4 claims small", CompressLZ4, withLength(1000, lz4Block), ErrCorrupt},
		{"lz4 claim beyond any ratio", CompressLZ4, withLength(limit, lz4Block[:100]), ErrCorrupt},
		{"bad length prefix", CompressZstd, []byte{0xff, 0xff}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			env := sealBody(t, e, "t", "1", tt.comp, tt.body)
			if _, err := e.Open(nil, "t", "1", env); !errors.Is(err, tt.want) {
				t.Fatalf("sealed: Open = %v, want %v", err, tt.want)
			}
			raw := append([]byte{magic0, magic1, Version, byte(tt.comp), byte(Unsealed)}, tt.body...)
			if _, err := unsealed.Open(nil, "t", "1", raw); !errors.Is(err, tt.want) {
				t.Fatalf("unsealed: Open = %v, want %v", err, tt.want)
			}
			runtime.ReadMemStats(&after)
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
				t.Fatalf("opening allocated %d MiB", grew>>20)
			}
		})
	}
}
