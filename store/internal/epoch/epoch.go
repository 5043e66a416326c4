// Package epoch makes the epochs of stores' topics: never 0, drawn at
// random when a history starts, and derived from a store's own id for a
// topic that has not lost its history, so that a topic has an epoch before
// its first message. It is safe for concurrent use.
package epoch

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
)

// New returns a random epoch, or a random store id.
func New() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand)
		if v := binary.LittleEndian.Uint64(b[:]); v != 0 {
			return v
		}
	}
}

// Derive returns the epoch of topic in the store with id store, for as long
// as the topic keeps its history.
func Derive(store uint64, topic string) uint64 {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], store)
	h.Write(b[:])
	h.Write([]byte(topic))
	v := binary.LittleEndian.Uint64(h.Sum(nil)[:8])
	if v == 0 {
		return 1
	}
	return v
}
