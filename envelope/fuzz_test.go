package envelope

import (
	"bytes"
	"errors"
	"testing"
)

// openErrors are the errors Open may return for bad input.
var openErrors = []error{ErrNotEnvelope, ErrUnsupportedVersion, ErrUnsupportedAlgorithm, ErrTruncated,
	ErrAuthFailed, ErrUnknownKeyID, ErrTooLarge, ErrCorrupt, ErrNotSealed}

// FuzzOpen opens arbitrary bytes with the keys of the test vectors, so the
// seed corpus (the vectors and damaged copies) reaches past the tag check.
func FuzzOpen(f *testing.F) {
	for _, v := range vectorCases() {
		f.Add(unhex(v.Plaintext)) // arbitrary bytes, too
	}
	kr := NewKeyring()
	if err := kr.Add(1, testKey(0x00)); err != nil {
		f.Fatal(err)
	}
	if err := kr.SetTopicKey("billing/#", 9, testKey(0x80)); err != nil {
		f.Fatal(err)
	}
	const limit = 1 << 20
	e, err := NewEngine(WithKeyring(kr), WithAcceptUnsealed(), WithMaxDecompressed(limit))
	if err != nil {
		f.Fatal(err)
	}
	topics := [][2]string{{"sensors/kitchen", "42"}, {"chat/room1", "msg-1"}, {"billing/invoices", "inv-2024-001"}, {"t", ""}}
	f.Fuzz(func(t *testing.T, env []byte) {
		in := bytes.Clone(env)
		for _, tid := range topics {
			pt, err := e.Open(nil, tid[0], tid[1], env)
			if !bytes.Equal(in, env) {
				t.Fatal("Open modified its input")
			}
			if err != nil {
				if !isOneOf(err, openErrors) {
					t.Fatalf("Open returned an error wrapping no sentinel: %v", err)
				}
				continue
			}
			if len(pt) > limit {
				t.Fatalf("Open returned %d bytes, above the %d limit", len(pt), limit)
			}
			if !IsEnvelope(env) {
				t.Fatal("Open accepted bytes that IsEnvelope rejects")
			}
		}
	})
}

// FuzzParseHeader checks that ParseHeader accepts only what it can
// describe, and that the header it describes is the bytes it parsed.
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, env []byte) {
		h, err := ParseHeader(env)
		if err != nil {
			if !isOneOf(err, openErrors) {
				t.Fatalf("error wrapping no sentinel: %v", err)
			}
			return
		}
		if !IsEnvelope(env) || h.Size > len(env) || h.Size != headerSize(h.AEAD) {
			t.Fatalf("header %+v of %d bytes", h, len(env))
		}
		re := make([]byte, h.Size)
		putFixedHeader(re, h.Compression, h.AEAD, h.KeyID)
		copy(re[h.Size-len(h.Nonce):], h.Nonce)
		if !bytes.Equal(re, env[:h.Size]) {
			t.Fatalf("header %+v re-encodes as %x, parsed from %x", h, re, env[:h.Size])
		}
		if h.Sealed() && len(env) < h.Size+tagSize {
			t.Fatalf("sealed header accepted without room for the tag")
		}
	})
}

func isOneOf(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
