// Package msgid generates unique message ids cheaply: a random prefix fixed
// per generator and a counter, both in base 62, like NUID. The broker and
// the Go client each keep one generator.
//
// A Gen is safe for concurrent use: Fill takes no lock and draws no
// randomness.
package msgid

import (
	"crypto/rand"
	"sync/atomic"
)

// Len is the length of an id: a 12-character prefix and a 10-character
// counter.
const (
	Len       = 22
	prefixLen = 12
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// Gen generates ids.
type Gen struct {
	prefix [prefixLen]byte
	n      atomic.Uint64
}

// New returns a generator with a random prefix and a random starting point
// for its counter, so that two generators sharing a prefix by chance still
// differ; 62^10 leaves room for 2^59 ids after the start.
func New() *Gen {
	g := new(Gen)
	var seed [prefixLen + 8]byte
	rand.Read(seed[:]) // never fails (crypto/rand)
	for i := range g.prefix {
		g.prefix[i] = base62[int(seed[i])%len(base62)]
	}
	var start uint64
	for _, c := range seed[prefixLen:] {
		start = start<<8 | uint64(c)
	}
	g.n.Store(start % (1 << 40))
	return g
}

// Fill writes the next id into b.
func (g *Gen) Fill(b *[Len]byte) {
	copy(b[:], g.prefix[:])
	n := g.n.Add(1)
	for i := Len - 1; i >= prefixLen; i-- {
		b[i] = base62[n%62]
		n /= 62
	}
}
