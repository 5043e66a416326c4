package envelope

import (
	"crypto/cipher"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
)

// Engine seals and opens envelopes. Create one with [NewEngine] (the zero
// value is not usable); it is safe for concurrent use, and Seal and Open
// take no locks.
type Engine struct {
	cfg    config
	kr     *Keyring
	nonces *nonceSource
	cache  atomic.Pointer[keyCache]
}

// NewEngine returns an engine configured by opts. Without options it writes
// unsealed envelopes compressed with zstd above 1 KiB; add [WithKeyring] to
// seal them.
func NewEngine(opts ...Option) (*Engine, error) {
	cfg := defaultConfig()
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.compression == CompressZstd {
		if _, err := zstdEncoder(); err != nil {
			return nil, fmt.Errorf("zstd encoder: %w", err)
		}
	}
	nonces, err := newNonceSource()
	if err != nil {
		return nil, err
	}
	nonces.fixed = cfg.fixedNonce
	e := &Engine{cfg: cfg, kr: cfg.keyring, nonces: nonces}
	var snap *snapshot
	if e.kr != nil {
		snap = e.kr.load()
	}
	e.cache.Store(newKeyCache(snap, cfg.cacheSize))
	return e, nil
}

// AEAD returns the cipher Seal uses, or Unsealed when the engine has no
// keyring.
func (e *Engine) AEAD() AEAD {
	if e.kr == nil {
		return Unsealed
	}
	return e.cfg.aead
}

// Compression returns the compressor Seal uses above the threshold.
func (e *Engine) Compression() Compression { return e.cfg.compression }

// Keyring returns the engine's keyring, or nil.
func (e *Engine) Keyring() *Keyring { return e.kr }

// SealBound returns the spare capacity dst needs for Seal to seal n bytes
// without allocating. The envelope itself is never longer than n plus the
// header and the tag; the extra room is scratch for the compressor.
func (e *Engine) SealBound(n int) int {
	alg := e.AEAD()
	extra := headerSize(alg)
	if alg != Unsealed {
		extra += tagSize
	}
	body := n
	if e.cfg.compression != CompressNone && n >= e.cfg.threshold {
		body = max(n, compressBound(e.cfg.compression, n))
	}
	return extra + body
}

// Seal appends the envelope of plaintext, published on topic under message
// id, to dst and returns the extended slice. It compresses the plaintext
// first when it is at least the compress threshold, the topic allows it,
// and that makes it shorter; then, if the engine has a keyring, it seals
// it with the topic's current key and a fresh nonce. The topic and id are
// authenticated but not stored: Open needs the same ones.
//
// dst must not overlap plaintext. When cap(dst)-len(dst) is at least
// SealBound(len(plaintext)), Seal does not allocate. On error it returns
// dst unchanged.
func (e *Engine) Seal(dst []byte, topic, id string, plaintext []byte) ([]byte, error) {
	if len(plaintext) > e.cfg.maxSize {
		return dst, fmt.Errorf("%w: plaintext is %d bytes, limit is %d", ErrTooLarge, len(plaintext), e.cfg.maxSize)
	}
	compress := e.cfg.compression != CompressNone && len(plaintext) >= e.cfg.threshold && len(plaintext) > 0
	var sk *sealKey
	if e.kr != nil || len(e.cfg.plainTopics) > 0 {
		var err error
		if sk, err = e.sealKey(topic); err != nil {
			return dst, err
		}
		compress = compress && sk.compress
	}
	alg, keyID, tag := Unsealed, uint32(0), 0
	if sk != nil && sk.aead != nil {
		if err := checkNames(topic, id); err != nil {
			return dst, err
		}
		alg, keyID, tag = e.cfg.aead, sk.id, tagSize
	}
	hdr := headerSize(alg)
	body := len(plaintext)
	if compress {
		body = max(body, compressBound(e.cfg.compression, len(plaintext)))
	}
	start := len(dst)
	out := slices.Grow(dst, hdr+body+tag)[:start+hdr]

	comp := CompressNone
	if compress {
		var ok bool
		if out, ok = appendCompressed(out, e.cfg.compression, plaintext); ok {
			comp = e.cfg.compression
		}
	}
	if comp == CompressNone {
		out = append(out, plaintext...)
	}
	header := out[start : start+hdr]
	putFixedHeader(header, comp, alg, keyID)
	if alg == Unsealed {
		return out, nil
	}
	nonce := header[hdr-alg.NonceSize():]
	if err := e.nonces.fill(nonce); err != nil {
		return dst, err
	}
	adBuf := getBuf(adSize(hdr, topic, id) + innerNonceSize)
	ad := appendAD(*adBuf, header, topic, id)
	inner := ad[len(ad) : len(ad)+innerNonceSize] // the AEAD's scratch, see sealWith
	sealed, err := sealWith(sk.aead, out[:start+hdr], nonce, out[start+hdr:], ad, inner)
	putBuf(adBuf, ad)
	if err != nil {
		return dst, err
	}
	return sealed, nil
}

// Open appends the plaintext of env, an envelope published on topic under
// message id, to dst and returns the extended slice. The algorithms come
// from the header; the engine's own choices do not matter, only its
// keyring and size limit. An envelope sealed for another topic or id, with
// another key, or modified in any way fails with ErrAuthFailed.
//
// An engine with a keyring refuses unsealed envelopes (ErrNotSealed)
// unless built with WithAcceptUnsealed; one without a keyring opens only
// unsealed envelopes.
//
// dst must not overlap env. When dst has room for the plaintext, Open
// does not allocate. On error it returns dst with the same length, though
// the bytes beyond it may have been overwritten.
func (e *Engine) Open(dst []byte, topic, id string, env []byte) ([]byte, error) {
	h, err := ParseHeader(env)
	if err != nil {
		return dst, err
	}
	body := env[h.Size:]
	if h.AEAD == Unsealed {
		if e.kr != nil && !e.cfg.allowUnsealed {
			return dst, ErrNotSealed
		}
		return e.appendBody(dst, h.Compression, body)
	}
	if e.kr == nil {
		return dst, fmt.Errorf("%w: %d (the engine has no keyring)", ErrUnknownKeyID, h.KeyID)
	}
	if err := checkNames(topic, id); err != nil {
		return dst, err
	}
	if h.Compression == CompressNone && len(body)-tagSize > e.cfg.maxSize {
		return dst, fmt.Errorf("%w: body is %d bytes, limit is %d", ErrTooLarge, len(body)-tagSize, e.cfg.maxSize)
	}
	a, err := e.openCipher(h.AEAD, h.KeyID, topic)
	if err != nil {
		return dst, err
	}
	adBuf := getBuf(adSize(h.Size, topic, id) + innerNonceSize)
	ad := appendAD(*adBuf, env[:h.Size], topic, id)
	inner := ad[len(ad) : len(ad)+innerNonceSize] // the AEAD's scratch, see sealWith
	if h.Compression == CompressNone {
		out, err := openWith(a, dst, h.Nonce, body, ad, inner)
		putBuf(adBuf, ad)
		if err != nil {
			return dst, ErrAuthFailed
		}
		return out, nil
	}
	scratch := getBuf(len(body) - tagSize)
	pt, err := openWith(a, *scratch, h.Nonce, body, ad, inner)
	putBuf(adBuf, ad)
	if err != nil {
		putBuf(scratch, nil)
		return dst, ErrAuthFailed
	}
	out, err := appendDecompressed(dst, h.Compression, pt, e.cfg.maxSize)
	putBuf(scratch, pt)
	return out, err
}

// appendBody appends a body (sealed or not, already opened) to dst.
func (e *Engine) appendBody(dst []byte, c Compression, body []byte) ([]byte, error) {
	if c != CompressNone {
		return appendDecompressed(dst, c, body, e.cfg.maxSize)
	}
	if len(body) > e.cfg.maxSize {
		return dst, fmt.Errorf("%w: body is %d bytes, limit is %d", ErrTooLarge, len(body), e.cfg.maxSize)
	}
	return append(dst, body...), nil
}

// keyCache returns the cache for the keyring's current snapshot, starting
// a new one when the keyring changed.
func (e *Engine) keyCache() *keyCache {
	var snap *snapshot
	if e.kr != nil {
		snap = e.kr.load()
	}
	c := e.cache.Load()
	if c.snap == snap {
		return c
	}
	nc := newKeyCache(snap, e.cfg.cacheSize)
	e.cache.CompareAndSwap(c, nc)
	return nc
}

// sealKey returns the cipher, key id and compression choice for topic.
func (e *Engine) sealKey(topic string) (*sealKey, error) {
	c := e.keyCache()
	if sk := c.lastSeal.Load(); sk != nil && sk.topic == topic {
		return sk, nil
	}
	if v, ok := c.seal.Load(topic); ok {
		sk := v.(*sealKey)
		c.lastSeal.Store(sk)
		return sk, nil
	}
	sk := &sealKey{topic: topic, compress: true}
	for i := range e.cfg.plainTopics {
		if e.cfg.plainTopics[i].match(topic) {
			sk.compress = false
			break
		}
	}
	if c.snap != nil {
		id, key, err := c.snap.sealKey(e.cfg.aead, topic)
		if err != nil {
			return nil, err
		}
		if sk.aead, err = newCipher(e.cfg.aead, key); err != nil {
			return nil, err
		}
		sk.id = id
	}
	c.store(&c.seal, topic, sk)
	return sk, nil
}

// openCipher returns the cipher that opens topic's envelopes sealed with
// alg under key id.
func (e *Engine) openCipher(alg AEAD, id uint32, topic string) (cipher.AEAD, error) {
	c := e.keyCache()
	k := openID{topic: topic, id: id, alg: alg}
	if ok := c.lastOpen.Load(); ok != nil && ok.openID == k {
		return ok.aead, nil
	}
	if v, ok := c.open.Load(k); ok {
		ok := v.(*openKey)
		c.lastOpen.Store(ok)
		return ok.aead, nil
	}
	key, err := c.snap.openKey(alg, id, topic)
	if err != nil {
		return nil, err
	}
	a, err := newCipher(alg, key)
	if err != nil {
		return nil, err
	}
	c.store(&c.open, k, &openKey{openID: k, aead: a})
	return a, nil
}

// checkNames refuses a topic or id too long for its length prefix.
func checkNames(topic, id string) error {
	if uint64(len(topic)) > math.MaxUint32 || uint64(len(id)) > math.MaxUint32 {
		return fmt.Errorf("%w: topic or id longer than 4 GiB", ErrTooLarge)
	}
	return nil
}

// String describes the engine's settings; key bytes never appear.
func (e *Engine) String() string {
	if e == nil {
		return "Engine(nil)"
	}
	kr := "none"
	if e.kr != nil {
		kr = e.kr.String()
	}
	return fmt.Sprintf("Engine{aead: %s, compression: %s, threshold: %d, max: %d, keyring: %s}",
		e.AEAD(), e.cfg.compression, e.cfg.threshold, e.cfg.maxSize, kr)
}

// GoString is String.
func (e *Engine) GoString() string { return e.String() }

// Format prints String for every verb, so no verb or flag reveals keys.
func (e *Engine) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(e.String())) }

// Scratch buffers for associated data and opened compressed bodies.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 256 << 10

// getBuf returns an empty buffer with capacity for n bytes.
func getBuf(n int) *[]byte {
	if n > maxPooled {
		b := make([]byte, 0, n)
		return &b
	}
	p := bufPool.Get().(*[]byte)
	if cap(*p) < n {
		*p = make([]byte, 0, max(n, 256))
	}
	return p
}

// putBuf returns p to the pool, keeping used's storage when it grew.
func putBuf(p *[]byte, used []byte) {
	if cap(used) > cap(*p) {
		*p = used
	}
	if cap(*p) > maxPooled {
		return
	}
	*p = (*p)[:0]
	bufPool.Put(p)
}
