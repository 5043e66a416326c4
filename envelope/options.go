package envelope

import "fmt"

// Defaults of [NewEngine].
const (
	// DefaultCompressThreshold is the smallest plaintext that is compressed.
	DefaultCompressThreshold = 1024
	// DefaultMaxSize is the largest plaintext an engine seals or opens.
	DefaultMaxSize = 16 << 20
	// DefaultKeyCacheSize is how many derived per-topic ciphers an engine
	// keeps.
	DefaultKeyCacheSize = 4096
)

// Option configures an [Engine].
type Option func(*config) error

type config struct {
	keyring       *Keyring
	aead          AEAD
	compression   Compression
	threshold     int
	maxSize       int
	cacheSize     int
	allowUnsealed bool
	plainTopics   []pattern
	fixedNonce    func([]byte) error // test vectors only
}

func defaultConfig() config {
	return config{
		aead:        XChaCha20Poly1305,
		compression: CompressZstd,
		threshold:   DefaultCompressThreshold,
		maxSize:     DefaultMaxSize,
		cacheSize:   DefaultKeyCacheSize,
	}
}

// WithKeyring seals and opens with the keys of kr. Without a keyring (or
// with a nil one) the engine writes unsealed, compression-only envelopes
// and cannot open sealed ones.
func WithKeyring(kr *Keyring) Option {
	return func(c *config) error {
		c.keyring = kr
		return nil
	}
}

// WithAEAD sets the cipher Seal uses; the default is XChaCha20Poly1305.
// Open reads the cipher from each envelope's header, whatever this is.
func WithAEAD(a AEAD) Option {
	return func(c *config) error {
		if a == Unsealed || !a.Valid() {
			return fmt.Errorf("%w: aead %s", ErrUnsupportedAlgorithm, a)
		}
		c.aead = a
		return nil
	}
}

// WithCompression sets the compressor Seal uses; the default is
// CompressZstd, and CompressNone turns compression off. Open reads the
// compressor from each envelope's header, whatever this is.
func WithCompression(comp Compression) Option {
	return func(c *config) error {
		if !comp.Valid() {
			return fmt.Errorf("%w: compression %s", ErrUnsupportedAlgorithm, comp)
		}
		c.compression = comp
		return nil
	}
}

// WithCompressThreshold sets the smallest plaintext, in bytes, that Seal
// compresses; the default is DefaultCompressThreshold (1 KiB). Smaller
// messages rarely shrink enough to pay for the compressor's fixed cost.
func WithCompressThreshold(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf("%w: compress threshold %d is negative", ErrInvalidOption, n)
		}
		c.threshold = n
		return nil
	}
}

// WithMaxDecompressed sets the largest plaintext, in bytes, that Open
// returns (and that Seal accepts, so that an engine with the same limit
// can always open what this one seals); the default is DefaultMaxSize
// (16 MiB). A compressed body declaring or expanding to more is refused
// with ErrTooLarge before the memory is allocated.
func WithMaxDecompressed(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: max decompressed size %d must be positive", ErrInvalidOption, n)
		}
		c.maxSize = n
		return nil
	}
}

// WithKeyCacheSize sets how many per-topic ciphers the engine caches
// (seal and open entries together); the default is DefaultKeyCacheSize.
// A miss costs one HKDF and one cipher setup, a few microseconds.
func WithKeyCacheSize(n int) Option {
	return func(c *config) error {
		if n <= 0 {
			return fmt.Errorf("%w: key cache size %d must be positive", ErrInvalidOption, n)
		}
		c.cacheSize = n
		return nil
	}
}

// WithUncompressedTopics turns compression off for topics matching any of
// the patterns. Use it for topics whose messages mix secrets with text an
// attacker chooses: compressed sizes would leak the secrets (see
// docs/security.md).
func WithUncompressedTopics(patterns ...string) Option {
	return func(c *config) error {
		for _, s := range patterns {
			p, err := parsePattern(s)
			if err != nil {
				return err
			}
			c.plainTopics = append(c.plainTopics, p)
		}
		return nil
	}
}

// WithAcceptUnsealed lets an engine that has a keyring open unsealed
// envelopes too. By default it refuses them with ErrNotSealed: anyone on
// the path (the broker included) can write an unsealed envelope, so
// accepting them gives up the authenticity that sealing provides.
func WithAcceptUnsealed() Option {
	return func(c *config) error {
		c.allowUnsealed = true
		return nil
	}
}

// withFixedNonces makes Seal take every nonce from fill. It exists to
// produce the test vectors: a nonce must never repeat under one key.
func withFixedNonces(fill func([]byte) error) Option {
	return func(c *config) error {
		c.fixedNonce = fill
		return nil
	}
}
