// Package clustertest runs whispeer nodes as processes for system tests:
// it builds the whispeer binary once per test binary (with the race
// detector when the tests have it), starts `whispeer serve` processes on
// free loopback ports with their own configuration and directory, waits
// until each answers /readyz, and kills (SIGKILL), stops and restarts them
// on the same ports. With WithRedis the nodes join a cluster on that
// Redis; package redistest starts one.
//
// A test package that uses it calls Main (or Wrap) from its TestMain, which
// removes the binary when the tests end.
//
// The package's own tests are the system tests of a cluster: three nodes
// as processes on a redis-server and on a 3-master Redis Cluster
// (package redistest), with delivery across nodes over PopSub JSON,
// native TCP and native WebSocket, wildcards, resume on another node, a
// sealed topic whose plaintext never reaches Redis, a node killed under
// QoS 1 load, Redis restarted empty, and a node cut from Redis (connections
// reset or blackholed through a redistest.Proxy) and healed. The functions and the Node methods that
// take or keep a testing.TB report failures with t.Fatal and must be called
// from the test's goroutine; the other methods are safe for concurrent use.
package clustertest
