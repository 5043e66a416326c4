// Package redistest runs real Redis servers for whispeer's tests: a single
// redis-server (Start), a Redis Cluster of masters (StartCluster), and a TCP
// proxy (NewProxy) that can cut a client off from Redis and heal it, the
// honest way to test a partition. Server.Contents and Server.Monitor show
// what Redis holds and what it was sent, for tests that look for bytes
// that must not be there.
//
// Every server listens on a free loopback port, keeps its files in its own
// temporary directory, persists nothing (--save "" --appendonly no), so a
// restart brings it back empty, and is killed when the test ends; on a
// failed test the end of its log is written to the test's log. A server
// that cannot bind its port because another process took it first is
// started again on another port. redis-server and redis-cli (Redis 7 or
// later) must be on PATH; without them the test fails and says how to
// install them.
//
// The functions and methods that take or keep a testing.TB (Start,
// StartCluster, NewProxy, Server.Restart, Server.Stop, Server.Kill,
// Cluster.WaitOK) report failures with t.Fatal and must be called from the
// test's goroutine. Server.Do, Server.Contents and the Proxy's methods are
// safe for concurrent use.
package redistest
