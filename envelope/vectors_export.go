//go:build whispeer_vectors

package envelope

// WithFixedNonces makes Seal take every nonce from fill. It exists only in
// builds tagged whispeer_vectors, so that another build of this package
// (the WebAssembly one of the JavaScript client) can reproduce
// testdata/vectors.json byte for byte. A nonce must never repeat under one
// key: nothing else may use it.
func WithFixedNonces(fill func([]byte) error) Option { return withFixedNonces(fill) }
