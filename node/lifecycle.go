package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/server"
)

// Keyring returns the keyring that seals the Node's payloads, or nil when
// they are not encrypted. Clients that must read them need the same keys.
func (n *Node) Keyring() *envelope.Keyring { return n.keys }

// Open returns the plaintext of m's payload. The broker opens what it
// sealed itself before a subscriber sees it, but routes what a client
// sealed end to end untouched, to in-process subscribers too, with
// m.Sealed set: Open opens such a payload with the Node's keyring (without
// one, only an envelope that is merely compressed opens). An unsealed
// payload is returned as it is.
func (n *Node) Open(m *whispeer.Message) ([]byte, error) {
	if !m.Sealed {
		return m.Payload, nil
	}
	p, err := n.engine.Open(nil, m.Topic, m.ID, m.Payload)
	if err != nil {
		return nil, fmt.Errorf("open %q: %w", m.Topic, err)
	}
	return p, nil
}

// URL returns the WebSocket URL that the Node serves, such as
// "ws://127.0.0.1:8080" ("wss://…" with TLS), or "" without
// [WithWebSocket]. Clients may dial it as it is.
func (n *Node) URL() string { return listenerURL(n.scheme("ws", "wss"), n.ws) }

// TCPURL returns the native protocol's URL that the Node serves, such as
// "tcp://127.0.0.1:4250" ("tls://…" with TLS), or "" without [WithTCP].
func (n *Node) TCPURL() string { return listenerURL(n.scheme("tcp", "tls"), n.tcp) }

// scheme returns secure when the listeners speak TLS, plain otherwise.
func (n *Node) scheme(plain, secure string) string {
	if n.tls {
		return secure
	}
	return plain
}

// listenerURL returns scheme://host:port for ln, with a loopback host in
// place of an unspecified one (which a client cannot dial everywhere).
func listenerURL(scheme string, ln net.Listener) string {
	if ln == nil {
		return ""
	}
	addr := ln.Addr()
	if ta, ok := addr.(*net.TCPAddr); ok && ta.IP.IsUnspecified() {
		return scheme + "://" + net.JoinHostPort("localhost", fmt.Sprint(ta.Port))
	}
	return scheme + "://" + addr.String()
}

// Close is Shutdown bounded by server.DefaultShutdownTimeout for the
// connections; the broker then drains for its own drain timeout (see
// whispeer.WithDrainTimeout).
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), server.DefaultShutdownTimeout)
		defer cancel()
		errSrv := n.stopServing(ctx)
		n.closeErr = errors.Join(errSrv, n.Broker.Close())
	})
	return n.closeErr
}

// Shutdown stops the listeners, closes every connection after writing what
// is queued for it, and closes the broker and its store, giving up on what
// is left when ctx is done (see whispeer.Broker.Shutdown). Calling Close or
// Shutdown again returns the first call's result.
func (n *Node) Shutdown(ctx context.Context) error {
	n.closeOnce.Do(func() {
		errSrv := n.stopServing(ctx)
		n.closeErr = errors.Join(errSrv, n.Broker.Shutdown(ctx))
	})
	return n.closeErr
}

// stopServing shuts the server down and waits for its listeners' loops.
func (n *Node) stopServing(ctx context.Context) error {
	if n.srv == nil {
		for _, ln := range []net.Listener{n.ws, n.tcp} {
			if ln != nil {
				ln.Close() // opened, never served
			}
		}
		return nil
	}
	err := n.srv.Shutdown(ctx)
	for _, ln := range []net.Listener{n.ws, n.tcp} {
		if ln != nil {
			err = errors.Join(err, <-n.served)
		}
	}
	return err
}

// loadOrCreateKeyFile loads the key file at path, or creates it with one
// random master key (mode 0600, its directory 0700) when it does not exist.
func loadOrCreateKeyFile(path string) (*envelope.Keyring, error) {
	kr, err := envelope.LoadKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return kr, err
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(path)), 0o700); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	return envelope.GenerateKeyFile(path)
}
