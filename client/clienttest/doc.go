// Package clienttest provides a fake whispeer server for testing programs
// that use package client, the way net/http/httptest serves HTTP clients.
//
// A Server speaks the native protocol (docs/protocol-native.md) over TCP
// and WebSocket, optionally with TLS, on loopback addresses chosen when it
// starts (or on in-memory connections, see below). It is built from
// protocol/wire and an in-process whispeer.Broker, and implements what a
// client exercises: the handshake with optional token or password
// authentication, publishing at QoS 0 and 1 with PUBACKs, subscriptions
// with wildcards, QoS 1 deliveries that stay unacknowledged until the
// client acks them (Redeliver sends them again), replay of the last N
// messages and resumption from an offset within an epoch, PING and PONG. It
// is a fake: no ACLs, no rate limits, no persistence beyond the broker's
// in-memory history, and no session resumption.
//
// For tests of failure handling, a Server can be stopped and started
// again on the same addresses (Stop, Start), can cut every connection
// while keeping its listeners (Cut), shows every frame it receives to a
// callback (WithInspect), and can record every byte it receives
// (WithRecording, Received), so that a test can check that a sealed
// payload never reached it in plaintext.
//
// For tests that run in a testing/synctest bubble, so that keepalive,
// timeouts and reconnection backoff follow the bubble's clock instead of
// taking real time, WithInMemory serves on in-memory connections, which
// a client reaches through client.WithDialer(s.DialContext):
//
//	synctest.Test(t, func(t *testing.T) {
//		srv, err := clienttest.NewServer(clienttest.WithInMemory())
//		...
//		defer srv.Close()
//		c, err := client.Dial(ctx, srv.URL("tcp"), client.WithDialer(srv.DialContext))
//		...
//		defer c.Close()
//		srv.Stop() // the client reconnects with its backoff, on the bubble's clock
//	})
//
// # Concurrency
//
// A Server's methods are safe for concurrent use, the inspect callback
// included, which runs in the goroutine that reads the connection.
package clienttest
