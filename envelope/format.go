package envelope

import (
	"encoding/binary"
	"fmt"
)

// The fixed part of the header. See docs/envelope.md.
const (
	magic0 = 0xC1 // never the first byte of valid UTF-8, so no text payload looks like an envelope
	magic1 = 0x57 // 'W'

	// Version is the envelope format version this package writes and reads.
	Version = 1

	fixedHeaderSize = 5  // magic (2), version, compression id, AEAD id
	keyIDSize       = 4  // big-endian uint32, sealed envelopes only
	tagSize         = 16 // Poly1305 and GCM tags
)

// Header is the parsed header of an envelope.
type Header struct {
	Version     uint8
	Compression Compression
	AEAD        AEAD   // Unsealed for a compression-only envelope
	KeyID       uint32 // 0 when unsealed
	Nonce       []byte // aliases the parsed bytes; nil when unsealed
	Size        int    // header length in bytes: the body starts at env[Size:]
}

// Sealed reports whether the envelope is encrypted.
func (h Header) Sealed() bool { return h.AEAD != Unsealed }

// headerSize returns the header length of an envelope sealed with alg.
func headerSize(alg AEAD) int {
	if alg == Unsealed {
		return fixedHeaderSize
	}
	return fixedHeaderSize + keyIDSize + alg.NonceSize()
}

// IsEnvelope reports whether b starts like an envelope of this format
// version: it checks the magic, the version and the minimum length only.
func IsEnvelope(b []byte) bool {
	return len(b) >= fixedHeaderSize && b[0] == magic0 && b[1] == magic1 && b[2] == Version
}

// ParseHeader parses and validates the header at the start of env. It
// checks the magic, the version, the algorithm ids and that env is long
// enough to hold the header (and, for a sealed envelope, the tag). It
// neither decrypts nor allocates.
func ParseHeader(env []byte) (Header, error) {
	var h Header
	if len(env) < 2 {
		if len(env) == 0 || env[0] == magic0 {
			return h, fmt.Errorf("%w: %d bytes", ErrTruncated, len(env))
		}
		return h, ErrNotEnvelope
	}
	if env[0] != magic0 || env[1] != magic1 {
		return h, ErrNotEnvelope
	}
	if len(env) < fixedHeaderSize {
		return h, fmt.Errorf("%w: %d bytes, header needs %d", ErrTruncated, len(env), fixedHeaderSize)
	}
	h.Version = env[2]
	if h.Version != Version {
		return h, fmt.Errorf("%w: %d", ErrUnsupportedVersion, h.Version)
	}
	h.Compression = Compression(env[3])
	if !h.Compression.Valid() {
		return h, fmt.Errorf("%w: compression id %d", ErrUnsupportedAlgorithm, env[3])
	}
	h.AEAD = AEAD(env[4])
	if !h.AEAD.Valid() {
		return h, fmt.Errorf("%w: aead id %d", ErrUnsupportedAlgorithm, env[4])
	}
	h.Size = headerSize(h.AEAD)
	if h.AEAD == Unsealed {
		return h, nil
	}
	if len(env) < h.Size+tagSize {
		return h, fmt.Errorf("%w: %d bytes, a %s envelope needs at least %d", ErrTruncated, len(env), h.AEAD, h.Size+tagSize)
	}
	h.KeyID = binary.BigEndian.Uint32(env[fixedHeaderSize:])
	h.Nonce = env[fixedHeaderSize+keyIDSize : h.Size : h.Size]
	return h, nil
}

// putFixedHeader writes the fixed header and, when sealed, the key id into
// b, which must be at least headerSize(alg) long. The nonce is left to the
// caller.
func putFixedHeader(b []byte, c Compression, alg AEAD, keyID uint32) {
	b[0], b[1], b[2], b[3], b[4] = magic0, magic1, Version, byte(c), byte(alg)
	if alg != Unsealed {
		binary.BigEndian.PutUint32(b[fixedHeaderSize:], keyID)
	}
}

// adSize returns the length of the associated data for a header of
// hdrLen bytes, a topic and an id.
func adSize(hdrLen int, topic, id string) int {
	return hdrLen + 4 + len(topic) + 4 + len(id)
}

// appendAD appends the associated data of a sealed envelope to b: the
// header bytes, then the topic and the message id, each preceded by its
// length as a big-endian uint32. The header is self-delimiting (its length
// follows from its AEAD id), so it needs no length prefix.
func appendAD(b, header []byte, topic, id string) []byte {
	b = append(b, header...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(topic)))
	b = append(b, topic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(id)))
	return append(b, id...)
}
