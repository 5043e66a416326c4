package envelope

import "errors"

// Errors returned by the package. Every error it returns wraps one of them.
var (
	// ErrNotEnvelope reports bytes that do not start with the envelope magic.
	ErrNotEnvelope = errors.New("whispeer: not an envelope")
	// ErrUnsupportedVersion reports an envelope of a format version this
	// package does not know.
	ErrUnsupportedVersion = errors.New("whispeer: unsupported envelope version")
	// ErrUnsupportedAlgorithm reports an unknown compression or AEAD id in a
	// header, or an unknown algorithm in an option.
	ErrUnsupportedAlgorithm = errors.New("whispeer: unsupported envelope algorithm")
	// ErrTruncated reports an envelope shorter than its header says it
	// must be.
	ErrTruncated = errors.New("whispeer: truncated envelope")
	// ErrAuthFailed reports an envelope that does not authenticate: it was
	// sealed with another key, for another topic or message id, or it was
	// modified. An AEAD cannot tell these cases apart, so neither can this
	// package.
	ErrAuthFailed = errors.New("whispeer: envelope authentication failed (wrong key, topic or id, or tampered)")
	// ErrUnknownKeyID reports an envelope sealed under a key id that the
	// keyring does not hold (or that is not a key for the topic).
	ErrUnknownKeyID = errors.New("whispeer: unknown key id")
	// ErrNoKey reports a topic for which the keyring has no key to seal
	// with: no current master key and no explicit key matching the topic.
	ErrNoKey = errors.New("whispeer: no key for topic")
	// ErrNotSealed reports an unsealed envelope given to an engine that has
	// a keyring and does not accept unsealed envelopes.
	ErrNotSealed = errors.New("whispeer: envelope is not sealed")
	// ErrTooLarge reports a payload above the engine's size limit, or a
	// compressed body that expands beyond it (a decompression bomb).
	ErrTooLarge = errors.New("whispeer: payload too large")
	// ErrCorrupt reports a body that authenticates (or is unsealed) but
	// whose compressed data is malformed.
	ErrCorrupt = errors.New("whispeer: corrupt envelope body")
	// ErrNonceExhausted reports that an engine's 12-byte nonce counter ran
	// out (after 2^63 seals); the engine refuses to seal rather than repeat
	// a nonce.
	ErrNonceExhausted = errors.New("whispeer: nonce space exhausted")
	// ErrInvalidKey reports key material of the wrong length, a reserved
	// key id (0) or an invalid topic pattern.
	ErrInvalidKey = errors.New("whispeer: invalid key")
	// ErrDuplicateKeyID reports a key id that is already in the keyring
	// with different key material.
	ErrDuplicateKeyID = errors.New("whispeer: duplicate key id")
	// ErrKeyFilePermissions reports a key file readable or writable by its
	// group or by others.
	ErrKeyFilePermissions = errors.New("whispeer: key file permissions too open")
	// ErrInvalidOption reports an engine option with an invalid value.
	ErrInvalidOption = errors.New("whispeer: invalid envelope option")
	// ErrKeyFile reports a key file that cannot be parsed.
	ErrKeyFile = errors.New("whispeer: invalid key file")
)
