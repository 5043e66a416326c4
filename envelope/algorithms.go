package envelope

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"

	"golang.org/x/crypto/chacha20poly1305"
)

// Compression identifies the compressor recorded in an envelope header.
type Compression uint8

// Compressions. The values are the ids written in the header.
const (
	// CompressNone stores the body as is.
	CompressNone Compression = 0
	// CompressZstd compresses the body into one zstd frame (RFC 8878).
	CompressZstd Compression = 1
	// CompressLZ4 compresses the body into one LZ4 block.
	CompressLZ4 Compression = 2
)

// String returns the compression's name: "none", "zstd" or "lz4".
func (c Compression) String() string {
	switch c {
	case CompressNone:
		return "none"
	case CompressZstd:
		return "zstd"
	case CompressLZ4:
		return "lz4"
	}
	return fmt.Sprintf("compression(%d)", uint8(c))
}

// Valid reports whether c is a compression this package implements.
func (c Compression) Valid() bool { return c <= CompressLZ4 }

// MarshalText encodes c as its name.
func (c Compression) MarshalText() ([]byte, error) {
	if !c.Valid() {
		return nil, fmt.Errorf("%w: compression %d", ErrUnsupportedAlgorithm, uint8(c))
	}
	return []byte(c.String()), nil
}

// UnmarshalText decodes a compression name; see [ParseCompression].
func (c *Compression) UnmarshalText(text []byte) error {
	v, err := ParseCompression(string(text))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseCompression returns the compression named s ("none", "zstd" or "lz4").
func ParseCompression(s string) (Compression, error) {
	for c := CompressNone; c.Valid(); c++ {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("%w: compression %q", ErrUnsupportedAlgorithm, s)
}

// AEAD identifies the authenticated cipher recorded in an envelope header.
type AEAD uint8

// AEADs. The values are the ids written in the header.
const (
	// Unsealed marks an envelope without encryption (compression only).
	Unsealed AEAD = 0
	// XChaCha20Poly1305 is XChaCha20-Poly1305 with 24-byte nonces (a random
	// 16-byte prefix per engine and a counter), the default: safe for any
	// number of messages and publishers under one key.
	XChaCha20Poly1305 AEAD = 1
	// ChaCha20Poly1305 is ChaCha20-Poly1305 (RFC 8439) with 12-byte nonces.
	ChaCha20Poly1305 AEAD = 2
	// AES256GCM is AES-256 in GCM mode with 12-byte nonces.
	AES256GCM AEAD = 3
)

// String returns the AEAD's name: "xchacha20-poly1305",
// "chacha20-poly1305", "aes-256-gcm" or "unsealed".
func (a AEAD) String() string {
	switch a {
	case Unsealed:
		return "unsealed"
	case XChaCha20Poly1305:
		return "xchacha20-poly1305"
	case ChaCha20Poly1305:
		return "chacha20-poly1305"
	case AES256GCM:
		return "aes-256-gcm"
	}
	return fmt.Sprintf("aead(%d)", uint8(a))
}

// Valid reports whether a is an AEAD id this package implements
// (Unsealed included).
func (a AEAD) Valid() bool { return a <= AES256GCM }

// NonceSize returns the nonce length a uses in a header: 24 for
// XChaCha20-Poly1305, 12 for ChaCha20-Poly1305 and AES-256-GCM, 0 otherwise.
func (a AEAD) NonceSize() int {
	switch a {
	case XChaCha20Poly1305:
		return chacha20poly1305.NonceSizeX
	case ChaCha20Poly1305, AES256GCM:
		return 12
	}
	return 0
}

// MarshalText encodes a as its name.
func (a AEAD) MarshalText() ([]byte, error) {
	if !a.Valid() {
		return nil, fmt.Errorf("%w: aead %d", ErrUnsupportedAlgorithm, uint8(a))
	}
	return []byte(a.String()), nil
}

// UnmarshalText decodes an AEAD name; see [ParseAEAD].
func (a *AEAD) UnmarshalText(text []byte) error {
	v, err := ParseAEAD(string(text))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAEAD returns the AEAD named s ("xchacha20-poly1305",
// "chacha20-poly1305", "aes-256-gcm" or "unsealed").
func ParseAEAD(s string) (AEAD, error) {
	for a := Unsealed; a.Valid(); a++ {
		if a.String() == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%w: aead %q", ErrUnsupportedAlgorithm, s)
}

// newCipher returns the cipher.AEAD for alg under a 32-byte key.
func newCipher(alg AEAD, key []byte) (cipher.AEAD, error) {
	switch alg {
	case XChaCha20Poly1305:
		return newXChaCha(key)
	case ChaCha20Poly1305:
		return chacha20poly1305.New(key)
	case AES256GCM:
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(block)
	}
	return nil, fmt.Errorf("%w: aead %d", ErrUnsupportedAlgorithm, uint8(alg))
}
