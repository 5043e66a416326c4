package node

import "github.com/whispeer-io/whispeer/envelope"

// Default returns a Node with the default engines, encryption and
// compression (see the package documentation for where the key comes
// from), then opts: whispeer's build_default.
func Default(opts ...Option) (*Node, error) {
	return Build(append([]Option{WithEncryption(nil), WithCompression(envelope.CompressZstd)}, opts...)...)
}

// DefaultWithWS returns Default served over WebSocket on addr, such as
// "localhost:8080" or "http://localhost:8080": whispeer's
// build_default_with_ws.
func DefaultWithWS(addr string, opts ...Option) (*Node, error) {
	return Default(append([]Option{WithWebSocket(addr)}, opts...)...)
}

// DefaultWithPersistence returns Default keeping its messages in p, such as
// node.SQLite("data/whispeer.db"), and its key in p's path + ".key":
// whispeer's build_default_with_persistence.
func DefaultWithPersistence(p Persistence, opts ...Option) (*Node, error) {
	return Default(append([]Option{WithPersistence(p)}, opts...)...)
}

// DefaultWithPersistenceWS returns DefaultWithPersistence served over
// WebSocket on addr: whispeer's build_default_with_persistence_ws.
func DefaultWithPersistenceWS(addr string, p Persistence, opts ...Option) (*Node, error) {
	return Default(append([]Option{WithWebSocket(addr), WithPersistence(p)}, opts...)...)
}
