package envelope

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// nonceSource fills nonces for one engine.
//
// XChaCha20-Poly1305 nonces are 24 random bytes from crypto/rand: the
// chance that two of 2^64 random 192-bit nonces collide is below 2^-64, so
// any number of senders may share a key.
//
// 12-byte nonces (ChaCha20-Poly1305, AES-256-GCM) are too short to draw at
// random for long, so each engine builds them from a random 4-byte prefix
// and a 64-bit counter that starts at a random value: prefix || big-endian
// (start + n) for the engine's n-th seal. Within an engine a nonce never
// repeats, for any key: the engine refuses to seal after 2^63 nonces
// (ErrNonceExhausted) rather than wrap. Across engines (other processes,
// other publishers sharing a topic key) the random 96-bit starting points
// make an overlap negligible: P engines sealing M messages each under one
// key collide with probability below P²·M / 2^96.
type nonceSource struct {
	prefix [4]byte
	start  uint64
	n      atomic.Uint64
	fixed  func([]byte) error // test vectors only: the nonce for every seal
}

// counterLimit is the number of 12-byte nonces one engine hands out.
const counterLimit = 1 << 63

func newNonceSource() (*nonceSource, error) {
	var seed [12]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("nonce seed: %w", err)
	}
	s := &nonceSource{start: binary.BigEndian.Uint64(seed[4:])}
	copy(s.prefix[:], seed[:4])
	return s, nil
}

// fill writes a fresh nonce into b (24 or 12 bytes).
func (s *nonceSource) fill(b []byte) error {
	if s.fixed != nil {
		return s.fixed(b)
	}
	if len(b) != 12 {
		_, err := rand.Read(b)
		return err
	}
	n := s.n.Add(1)
	if n > counterLimit {
		return ErrNonceExhausted
	}
	copy(b, s.prefix[:])
	binary.BigEndian.PutUint64(b[4:], s.start+n)
	return nil
}
