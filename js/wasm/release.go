//go:build js && wasm && !whispeer_vectors

package main

// This build has no test entries: the ones that reproduce the test vectors
// exist only in builds tagged whispeer_vectors (vectors.go).
