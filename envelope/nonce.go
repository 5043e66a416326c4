package envelope

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// nonceSource fills nonces for one engine. Every nonce is a random prefix
// followed by a 64-bit counter that starts at a random value: prefix ‖
// big-endian (start + n) for the n-th nonce under that prefix. The prefix
// and the start come from crypto/rand; the counter is one atomic shared by
// every topic, key and goroutine of the engine, so within an engine a
// nonce never repeats, for any key.
//
// XChaCha20-Poly1305 nonces (24 bytes) have a 16-byte prefix. After 2^63
// nonces the engine draws a new prefix and start rather than wrap the
// counter. Two engines' nonces can only be equal if their prefixes are:
// the prefixes are independent uniform 128-bit values, so among P of them
// under one key (every engine sealing with the key, a re-drawn prefix
// counting as one more) two are equal with probability at most
// P(P-1)/2 · 2^-128 < P²/2^129, however many messages each engine seals —
// below 2^-69 for a billion engines. Distinct prefixes also give distinct
// HChaCha20 subkeys, which is what lets Seal and Open reuse one subkey
// for all the nonces of a prefix (see xchacha).
//
// 12-byte nonces (ChaCha20-Poly1305, AES-256-GCM) have a 4-byte prefix, too
// short to re-draw safely, so the engine refuses to seal after 2^63 nonces
// (ErrNonceExhausted). Across engines the random 96-bit starting points
// make an overlap negligible: P engines sealing M messages each under one
// key collide with probability below P²·M / 2^96.
type nonceSource struct {
	prefix [4]byte // 12-byte nonces
	start  uint64
	n      atomic.Uint64
	long   atomic.Pointer[longPrefix] // 24-byte nonces
	fixed  func([]byte) error         // test vectors only: the nonce for every seal
}

// longPrefix is the 16-byte prefix of 24-byte nonces and its counter.
type longPrefix struct {
	prefix [16]byte
	start  uint64
	n      atomic.Uint64
}

// counterLimit is the number of nonces one prefix hands out.
const counterLimit = 1 << 63

func newNonceSource() (*nonceSource, error) {
	var seed [12]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("nonce seed: %w", err)
	}
	s := &nonceSource{start: binary.BigEndian.Uint64(seed[4:])}
	copy(s.prefix[:], seed[:4])
	p, err := newLongPrefix()
	if err != nil {
		return nil, err
	}
	s.long.Store(p)
	return s, nil
}

// newLongPrefix draws a 16-byte prefix and a counter start.
func newLongPrefix() (*longPrefix, error) {
	var seed [24]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, fmt.Errorf("nonce seed: %w", err)
	}
	p := &longPrefix{start: binary.BigEndian.Uint64(seed[16:])}
	copy(p.prefix[:], seed[:16])
	return p, nil
}

// fill writes a fresh nonce into b (24 or 12 bytes).
func (s *nonceSource) fill(b []byte) error {
	if s.fixed != nil {
		return s.fixed(b)
	}
	switch len(b) {
	case 24:
		return s.fillLong(b)
	case 12:
		n := s.n.Add(1)
		if n > counterLimit {
			return ErrNonceExhausted
		}
		copy(b, s.prefix[:])
		binary.BigEndian.PutUint64(b[4:], s.start+n)
		return nil
	}
	return fmt.Errorf("%w: %d-byte nonce", ErrUnsupportedAlgorithm, len(b))
}

// fillLong writes a 24-byte nonce, drawing a new prefix when the current
// one has handed out counterLimit nonces. Goroutines that find it spent
// all draw one; the first to publish its prefix wins and the others use it.
func (s *nonceSource) fillLong(b []byte) error {
	for {
		p := s.long.Load()
		if n := p.n.Add(1); n <= counterLimit {
			copy(b, p.prefix[:])
			binary.BigEndian.PutUint64(b[16:], p.start+n)
			return nil
		}
		np, err := newLongPrefix()
		if err != nil {
			return err
		}
		s.long.CompareAndSwap(p, np)
	}
}
