// Package envelope is whispeer's payload format and crypto engine: the one
// byte format that the broker, its stores, the Go client and the
// WebAssembly client all read and write.
//
// An envelope is a short header (magic, version, compression, AEAD, key
// id, nonce) followed by the sealed body. The body is the payload,
// compressed first when that pays off. The AEAD's associated data binds the
// header, the topic and the message id, so an envelope moved to another
// topic or replayed under another id does not open. An envelope may also be
// unsealed (compression only, no AEAD) for plaintext deployments. The
// format is specified field by field in docs/envelope.md, with test vectors
// in testdata/vectors.json.
//
// An [Engine] seals and opens envelopes. Its keys come from a [Keyring]:
// master keys with uint32 ids, from which each topic's key is derived with
// HKDF-SHA256, plus keys set explicitly for a topic or a topic pattern.
// Rotating the keyring makes a new id current for sealing while older ids
// keep opening history. Keyrings are stored in key files ([LoadKeyFile],
// [WriteKeyFile], [GenerateKeyFile]).
//
// # Concurrency
//
// An [Engine] is safe for concurrent use; Seal and Open take no locks on
// the hot path (derived keys are cached in a bounded, lock-free cache). A
// [Keyring] is safe for concurrent use: readers load an immutable snapshot
// through an atomic pointer, and writers (Add, Rotate, SetTopicKey, ...)
// serialize on a mutex and publish a new snapshot. Engines sharing a
// keyring see a change on their next call.
//
// # Errors
//
// Every error wraps one of the package's sentinel errors (ErrNotEnvelope,
// ErrTruncated, ErrAuthFailed, ...); test for them with [errors.Is]. No
// input makes Seal, Open or ParseHeader panic.
package envelope
