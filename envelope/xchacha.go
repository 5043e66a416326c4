package envelope

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"sync/atomic"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
)

// xchacha is XChaCha20-Poly1305 that runs HChaCha20 once per nonce prefix
// instead of once per message.
//
// XChaCha20-Poly1305 under key K and nonce N is ChaCha20-Poly1305 under the
// subkey HChaCha20(K, N[0:16]) and the nonce 0^4 ‖ N[16:24]. An engine's
// nonces share their first 16 bytes (see nonceSource), so a sender needs
// one subkey per topic key, and a receiver one per sender. xchacha keeps
// the ChaCha20-Poly1305 ciphers of the last maxSubkeys prefixes it met and
// runs HChaCha20 only for a new one. Its output is byte for byte that of
// chacha20poly1305.NewX.
//
// The prefixes live in an immutable list behind an atomic pointer: a
// lookup takes no lock and writes nothing; a miss publishes a new list
// with the new prefix first and the oldest dropped (losing the race to
// another miss only skips the update). Open remembers a prefix only once
// an envelope under it authenticates, so envelopes forged without the key
// cannot push out the senders a receiver follows.
type xchacha struct {
	key     [chacha20poly1305.KeySize]byte
	subkeys atomic.Pointer[subkeyList]
}

// maxSubkeys is how many nonce prefixes one xchacha remembers: enough for
// the senders a receiver follows on one topic. With more senders than that
// interleaving, each open may cost one HChaCha20 again, as it did before
// the cache.
const maxSubkeys = 8

// innerNonceSize is the length of the ChaCha20-Poly1305 nonce inside.
const innerNonceSize = chacha20poly1305.NonceSize

// subkeyList is an immutable list of prefixes and their ciphers, most
// recently added first.
type subkeyList struct {
	n int
	e [maxSubkeys]subkey
}

type subkey struct {
	prefix [2]uint64 // nonce[0:16]
	aead   cipher.AEAD
}

// newXChaCha returns XChaCha20-Poly1305 under a 32-byte key. It fails
// where chacha20poly1305.NewX does (a bad key length, FIPS 140-only mode).
func newXChaCha(key []byte) (*xchacha, error) {
	if _, err := chacha20poly1305.NewX(key); err != nil {
		return nil, err
	}
	x := new(xchacha)
	copy(x.key[:], key)
	return x, nil
}

// NonceSize returns 24.
func (x *xchacha) NonceSize() int { return chacha20poly1305.NonceSizeX }

// Overhead returns the tag size, 16.
func (x *xchacha) Overhead() int { return chacha20poly1305.Overhead }

// Seal is cipher.AEAD's Seal. It allocates the inner nonce; the engine
// calls seal with a scratch buffer instead.
func (x *xchacha) Seal(dst, nonce, plaintext, additionalData []byte) []byte {
	out, err := x.seal(dst, nonce, plaintext, additionalData, make([]byte, innerNonceSize))
	if err != nil {
		panic(err) // newXChaCha checked what New could refuse
	}
	return out
}

// Open is cipher.AEAD's Open. It allocates the inner nonce; the engine
// calls open with a scratch buffer instead.
func (x *xchacha) Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error) {
	return x.open(dst, nonce, ciphertext, additionalData, make([]byte, innerNonceSize))
}

// seal is Seal with the inner nonce written to scratch, which must hold
// innerNonceSize bytes and overlap no other argument. Scratch on the heap
// keeps the call free of allocations (a stack array would escape into the
// cipher.AEAD call).
func (x *xchacha) seal(dst, nonce, plaintext, ad, scratch []byte) ([]byte, error) {
	p := noncePrefix(nonce)
	list := x.subkeys.Load()
	a := list.find(p)
	if a == nil {
		var err error
		if a, err = x.derive(nonce); err != nil {
			return nil, err
		}
		x.remember(list, p, a)
	}
	return a.Seal(dst, innerNonce(scratch, nonce), plaintext, ad), nil
}

// open is Open with the inner nonce written to scratch; see seal.
func (x *xchacha) open(dst, nonce, ciphertext, ad, scratch []byte) ([]byte, error) {
	p := noncePrefix(nonce)
	list := x.subkeys.Load()
	if a := list.find(p); a != nil {
		return a.Open(dst, innerNonce(scratch, nonce), ciphertext, ad)
	}
	a, err := x.derive(nonce)
	if err != nil {
		return nil, err
	}
	out, err := a.Open(dst, innerNonce(scratch, nonce), ciphertext, ad)
	if err == nil {
		x.remember(list, p, a)
	}
	return out, err
}

// derive returns ChaCha20-Poly1305 under HChaCha20(key, nonce[0:16]).
func (x *xchacha) derive(nonce []byte) (cipher.AEAD, error) {
	sub, err := chacha20.HChaCha20(x.key[:], nonce[:16])
	if err != nil {
		return nil, err
	}
	a, err := chacha20poly1305.New(sub)
	clear(sub)
	return a, err
}

// remember publishes a list with p first, unless the list changed since
// the caller loaded old.
func (x *xchacha) remember(old *subkeyList, p [2]uint64, a cipher.AEAD) {
	l := &subkeyList{n: 1}
	l.e[0] = subkey{prefix: p, aead: a}
	if old != nil {
		l.n += copy(l.e[1:], old.e[:old.n])
	}
	x.subkeys.CompareAndSwap(old, l)
}

// find returns the cipher for prefix p, or nil.
func (l *subkeyList) find(p [2]uint64) cipher.AEAD {
	if l == nil {
		return nil
	}
	for i := range l.e[:l.n] {
		if l.e[i].prefix == p {
			return l.e[i].aead
		}
	}
	return nil
}

// noncePrefix returns nonce[0:16] as two words; it panics, as
// chacha20poly1305 does, on a nonce that is not 24 bytes.
func noncePrefix(nonce []byte) [2]uint64 {
	if len(nonce) != chacha20poly1305.NonceSizeX {
		panic(fmt.Sprintf("envelope: %d-byte nonce passed to XChaCha20-Poly1305", len(nonce)))
	}
	return [2]uint64{binary.LittleEndian.Uint64(nonce[0:8]), binary.LittleEndian.Uint64(nonce[8:16])}
}

// innerNonce writes 0^4 ‖ nonce[16:24] to scratch and returns it.
func innerNonce(scratch, nonce []byte) []byte {
	n := scratch[:innerNonceSize]
	n[0], n[1], n[2], n[3] = 0, 0, 0, 0
	copy(n[4:], nonce[16:24])
	return n
}

// sealWith seals with a; XChaCha20-Poly1305 builds its inner nonce in
// scratch (innerNonceSize bytes, overlapping no other argument).
func sealWith(a cipher.AEAD, dst, nonce, plaintext, ad, scratch []byte) ([]byte, error) {
	if x, ok := a.(*xchacha); ok {
		return x.seal(dst, nonce, plaintext, ad, scratch)
	}
	return a.Seal(dst, nonce, plaintext, ad), nil
}

// openWith opens with a; see sealWith.
func openWith(a cipher.AEAD, dst, nonce, ciphertext, ad, scratch []byte) ([]byte, error) {
	if x, ok := a.(*xchacha); ok {
		return x.open(dst, nonce, ciphertext, ad, scratch)
	}
	return a.Open(dst, nonce, ciphertext, ad)
}

var _ cipher.AEAD = (*xchacha)(nil)
