// Package killtest holds the kill -9 campaigns of the stores behind
// `whispeer serve`. Their tests build the whispeer binary and run the
// server on a SQLite or file store. The QoS 1 campaign, under the batch and
// always sync policies, kills it with SIGKILL while a client keeps QoS 1
// publishes in flight, and checks after each kill that every message the
// server acknowledged is in the store; it runs only when asked. The
// exactly-once campaign kills and restarts it under a QoS 2 publisher and
// a QoS 2 subscriber that reconnect, and counts the duplicates and gaps
// among the completed publishes; it runs a few kills in every test run and
// as many as asked (see docs/persistence.md):
//
//	WHISPEER_CRASH_CYCLES=50 go test -run Campaign -timeout 60m ./store/killtest
//
// The package has no code of its own besides the test.
package killtest
