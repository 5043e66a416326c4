package client

import (
	"crypto/rand"
	"sync/atomic"
	"unsafe"
)

// A generated message id, like the broker's: a 12-character random prefix
// fixed per client and a 10-character counter, both in base 62 (as NUID).
const (
	idLen       = 22
	idPrefixLen = 12
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// idGen generates unique message ids without locks or per-id randomness.
type idGen struct {
	prefix [idPrefixLen]byte
	n      atomic.Uint64
}

func newIDGen() *idGen {
	g := new(idGen)
	var seed [idPrefixLen + 8]byte
	rand.Read(seed[:]) // never fails (crypto/rand)
	for i := range g.prefix {
		g.prefix[i] = base62[int(seed[i])%len(base62)]
	}
	var start uint64
	for _, c := range seed[idPrefixLen:] {
		start = start<<8 | uint64(c)
	}
	// Start the counter at a random point so that two clients sharing a
	// prefix by chance still differ; 62^10 leaves room for 2^59 ids.
	g.n.Store(start % (1 << 40))
	return g
}

// fill writes the next id into b.
func (g *idGen) fill(b *[idLen]byte) {
	copy(b[:], g.prefix[:])
	n := g.n.Add(1)
	for i := idLen - 1; i >= idPrefixLen; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
}

// bytesOf views s as bytes without copying. The bytes must not be modified;
// the wire encoders and the envelope engine only read them.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringOf views b as a string without copying; b must not change while
// the string is in use.
func stringOf(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
