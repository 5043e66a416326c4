// Package node wires a whispeer broker, its store and its listeners into
// one value, a Node, in one call: the builder of whispeer's plan in Go.
//
//	n, err := node.Build(
//		node.WithEncryption(nil),                      // Encryption::new()
//		node.WithCompression(envelope.CompressZstd),   // Compression::new()
//		node.WithWebSocket("localhost:8080"),          // WebSocket::new("http://localhost:8080")
//		node.WithPersistence(node.SQLite("data/db")),  // Persistence::sqlite(Path::new("data/db"))
//	)
//	n, err := node.Default()                                          // build_default
//	n, err := node.DefaultWithWS("localhost:8080")                    // build_default_with_ws
//	n, err := node.DefaultWithPersistence(node.SQLite("data/db"))     // build_default_with_persistence
//	n, err := node.DefaultWithPersistenceWS("localhost:8080", node.SQLite("data/db"))
//
// A Node is a *whispeer.Broker (embedded: n.Publish, n.Subscribe,
// whispeer.NewTopic[T](n.Broker, …)) plus what serves it. The root package
// stays free of drivers and of the server; this package is where they meet.
//
// # Defaults
//
// The Default constructors turn on encryption and compression:
//
//   - Compression is zstd, applied to payloads of 1 KiB and more, where it
//     pays for itself (see docs/envelope.md).
//   - Encryption needs a keyring, and where it comes from is the honest
//     part of "default". Without persistence the Node generates one random
//     master key, held in memory only: its messages die with the process,
//     and so does the key. With persistence the key must outlive the
//     process, or the stored envelopes could never be opened again: the Node
//     keeps it in the key file path+".key" beside the store, created with
//     mode 0600 on the first run and loaded on every later one. A key beside
//     the data does not protect the data from whoever can read both; give
//     the key file a place of its own with [WithKeyFile], or your own keyring
//     with [WithEncryption].
//
// Payloads are sealed inside the process (see docs/security.md, "Embedded
// mode"): the store, plugins and every network client see envelopes only.
// A Go client reads them with the same keyring: client.WithKeyring(
// n.Keyring()), or the CLI with --key-file. What such a client seals
// itself is routed end to end untouched, to in-process subscribers too
// (m.Sealed set); [Node.Open] opens it.
//
// # Listeners
//
// [WithWebSocket] serves the PopSub JSON protocol and the native protocol
// over WebSocket, [WithTCP] the native protocol over TCP, both through the
// server package. Unless [WithServerConfig] gives a configuration, the
// server runs on config.Default() with a random JWT secret made for this
// Node (the tokens it issues do not outlive it; the Go client logs in
// again): the user "admin" with the password "password", which the server
// accepts on a loopback address only. To listen on another address, give
// a configuration whose passwords are hashed (`whispeer passwd`); one that
// names a certificate and a key (tls.cert_file, tls.key_file) makes both
// listeners speak TLS (wss://, tls://). An address of port 0 picks a free
// port; [Node.URL] and [Node.TCPURL] tell which.
//
// # Concurrency
//
// A Node is safe for concurrent use, as its broker is. Close and Shutdown
// stop the listeners, close every connection after writing what is queued
// for it, then close the broker and its store.
package node
