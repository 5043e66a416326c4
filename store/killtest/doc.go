// Package killtest holds the kill -9 campaign of the stores behind
// `whispeer serve`: its test builds the whispeer binary, runs the server on
// a SQLite or file store under the batch and always sync policies, kills
// it with SIGKILL while a client keeps QoS 1 publishes in flight, and
// checks after each kill that every message the server acknowledged is in
// the store. It runs only when asked (see docs/persistence.md):
//
//	WHISPEER_CRASH_CYCLES=50 go test -run Campaign -timeout 60m ./store/killtest
//
// The package has no code of its own besides the test.
package killtest
