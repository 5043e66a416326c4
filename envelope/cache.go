package envelope

import (
	"crypto/cipher"
	"sync"
	"sync/atomic"
)

// keyCache holds the ciphers an engine built from one keyring snapshot:
// per topic for sealing, per (topic, key id, AEAD) for opening. It is
// bounded: when it holds more than max entries, the goroutine that noticed
// evicts about a quarter of them, in no particular order. A keyring change
// publishes a new snapshot, and the engine starts a new cache for it.
//
// In front of each map sits the entry used last, which serves a client
// sealing for one topic, or opening one sender's messages, without a map
// lookup.
type keyCache struct {
	snap     *snapshot // nil for an engine without a keyring
	seal     sync.Map  // topic string → *sealKey
	open     sync.Map  // openID → *openKey
	lastSeal atomic.Pointer[sealKey]
	lastOpen atomic.Pointer[openKey]
	size     atomic.Int64
	max      int64
	sweeping atomic.Bool
}

// sealKey is what Seal needs for one topic.
type sealKey struct {
	topic    string
	aead     cipher.AEAD // nil without a keyring
	id       uint32
	compress bool // false for topics under WithUncompressedTopics
}

// openKey is an opening cipher, with what it opens.
type openKey struct {
	openID
	aead cipher.AEAD
}

// openID identifies an opening cipher.
type openID struct {
	topic string
	id    uint32
	alg   AEAD
}

func newKeyCache(s *snapshot, max int) *keyCache {
	return &keyCache{snap: s, max: int64(max)}
}

// store adds v under k to m, keeping the cache bounded.
func (c *keyCache) store(m *sync.Map, k, v any) {
	if _, loaded := m.LoadOrStore(k, v); loaded {
		return
	}
	if c.size.Add(1) > c.max && c.sweeping.CompareAndSwap(false, true) {
		c.evict()
		c.sweeping.Store(false)
	}
}

// evict deletes entries until the cache is at three quarters of max.
func (c *keyCache) evict() {
	target := c.max - c.max/4
	for _, m := range []*sync.Map{&c.open, &c.seal} {
		m.Range(func(k, _ any) bool {
			if c.size.Load() <= target {
				return false
			}
			if _, ok := m.LoadAndDelete(k); ok {
				c.size.Add(-1)
			}
			return true
		})
	}
}
