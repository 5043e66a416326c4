package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/testcert"
	"github.com/whispeer-io/whispeer/node"
	"github.com/whispeer-io/whispeer/server/config"
)

// marker is a payload that must never be seen outside the process in the
// clear when the Node encrypts.
const marker = "MARKER-plaintext-4c1d"

// build returns a Node made by mk, closed at the end of the test.
func build(t *testing.T, mk func() (*node.Node, error)) *node.Node {
	t.Helper()
	n, err := mk()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// subscribe subscribes to pattern on n and returns the payloads received.
func subscribe(t *testing.T, n *node.Node, pattern string, opts ...whispeer.SubscribeOption) <-chan string {
	t.Helper()
	got := make(chan string, 16)
	_, err := n.Subscribe(pattern, func(_ context.Context, m *whispeer.Message) error {
		got <- string(m.Payload)
		return nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// recv returns the next value of ch, or fails the test after a generous
// bound (a guard against hanging, not a timing assertion).
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("nothing received")
		panic("unreachable")
	}
}

func TestBuild_NoOptionsIsAPlainInMemoryBroker(t *testing.T) {
	n := build(t, func() (*node.Node, error) { return node.Build() })
	if n.Keyring() != nil || n.URL() != "" || n.TCPURL() != "" {
		t.Fatalf("keyring %v, URL %q, TCP URL %q: want none", n.Keyring(), n.URL(), n.TCPURL())
	}
	got := subscribe(t, n, "a/#")
	if err := n.Publish(t.Context(), "a/b", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if p := recv(t, got); p != "hello" {
		t.Fatalf("received %q", p)
	}
}

func TestDefault_EncryptsWithAKeyInMemory(t *testing.T) {
	n := build(t, func() (*node.Node, error) { return node.Default() })
	if n.Keyring() == nil || len(n.Keyring().IDs()) != 1 {
		t.Fatalf("keyring %v: want one generated key", n.Keyring())
	}
	events, err := whispeer.NewTopic[map[string]int](n.Broker, "some-event")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan map[string]int, 1)
	if _, err := events.Subscribe(func(_ context.Context, d map[string]int, _ *whispeer.Message) error {
		got <- d
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := events.Publish(t.Context(), map[string]int{"id": 123}); err != nil {
		t.Fatal(err)
	}
	if d := recv(t, got); d["id"] != 123 {
		t.Fatalf("received %v", d)
	}
}

// dialWS connects a Go client to n over WebSocket as the default user.
func dialWS(t *testing.T, n *node.Node, opts ...client.Option) *client.Client {
	t.Helper()
	if !strings.HasPrefix(n.URL(), "ws://127.0.0.1:") {
		t.Fatalf("URL %q: want ws://127.0.0.1:port", n.URL())
	}
	opts = append([]client.Option{client.WithCredentials("admin", "password")}, opts...)
	c, err := client.Dial(t.Context(), n.URL(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// clientSubscribe subscribes c to pattern and returns what it receives.
func clientSubscribe(t *testing.T, c *client.Client, pattern string, opts ...client.SubscribeOption) <-chan *client.Message {
	t.Helper()
	got := make(chan *client.Message, 16)
	if _, err := c.Subscribe(pattern, func(_ context.Context, m *client.Message) error {
		got <- m.Clone()
		return nil
	}, opts...); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestDefaultWithWS_ServesGoClientsSealed(t *testing.T) {
	n := build(t, func() (*node.Node, error) { return node.DefaultWithWS("127.0.0.1:0") })
	keyed := dialWS(t, n, client.WithKeyring(n.Keyring()))
	fromNode := clientSubscribe(t, keyed, "chat/a")
	raw := clientSubscribe(t, dialWS(t, n), "chat/a", client.WithRawPayload())
	local := make(chan *whispeer.Message, 2)
	if _, err := n.Subscribe("chat/#", func(_ context.Context, m *whispeer.Message) error {
		local <- m
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	if err := n.Publish(t.Context(), "chat/a", []byte(marker)); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, fromNode); string(m.Payload) != marker {
		t.Errorf("client with the keyring received %q", m.Payload)
	}
	m := recv(t, raw)
	h, err := envelope.ParseHeader(m.Payload)
	if err != nil || !h.Sealed() || !m.Envelope || bytes.Contains(m.Payload, []byte(marker)) {
		t.Errorf("the wire carried %q (header %+v, %v): want a sealed envelope", m.Payload, h, err)
	}
	if m := recv(t, local); string(m.Payload) != marker || m.Sealed {
		t.Errorf("in-process subscriber received %q (sealed %v)", m.Payload, m.Sealed)
	}

	// Sealed end to end by the client: routed as it is, opened with the
	// Node's keyring.
	if err := keyed.Publish(t.Context(), "chat/b", []byte("from the client"), client.WithQoS(client.AtLeastOnce)); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, local); !m.Sealed || string(m.Payload) == "from the client" {
		t.Errorf("in-process subscriber received %q (sealed %v): want the client's envelope", m.Payload, m.Sealed)
	} else if p, err := n.Open(m); err != nil || string(p) != "from the client" {
		t.Errorf("Open = %q, %v", p, err)
	}
}

func TestWithWebSocket_AddressForms(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "http://127.0.0.1:0", "ws://127.0.0.1:0/"} {
		n := build(t, func() (*node.Node, error) { return node.Build(node.WithWebSocket(addr)) })
		if u := n.URL(); !strings.HasPrefix(u, "ws://127.0.0.1:") || strings.HasSuffix(u, ":0") {
			t.Errorf("WithWebSocket(%q): URL %q", addr, u)
		}
	}
	for _, addr := range []string{"https://127.0.0.1:0", "wss://127.0.0.1:0", "ftp://127.0.0.1:0"} {
		if n, err := node.Build(node.WithWebSocket(addr)); !errors.Is(err, whispeer.ErrInvalidOption) {
			if n != nil {
				n.Close()
			}
			t.Errorf("WithWebSocket(%q): error %v, want ErrInvalidOption", addr, err)
		}
	}
}

func TestDefaultWithWS_RefusesPlainPasswordsBeyondLoopback(t *testing.T) {
	n, err := node.DefaultWithWS(":0") // every interface, with the default user's plain password
	if err == nil {
		n.Close()
		t.Fatal("served every interface with a plain-text password")
	}
	if !strings.Contains(err.Error(), "plain-text password") {
		t.Fatalf("error %q does not name the plain-text password", err)
	}
}

// persistences are the stores a Node keeps its messages in, by path.
var persistences = map[string]func(dir string) node.Persistence{
	"sqlite": func(dir string) node.Persistence { return node.SQLite(filepath.Join(dir, "data", "whispeer.db")) },
	"file":   func(dir string) node.Persistence { return node.File(filepath.Join(dir, "data", "log")) },
}

func TestDefaultWithPersistence_SurvivesReopen(t *testing.T) {
	for name, mk := range persistences {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			p := mk(dir)
			n, err := node.DefaultWithPersistence(p)
			if err != nil {
				t.Fatal(err)
			}
			orders := []string{marker + " 1", marker + " 2"}
			for _, s := range orders {
				if err := n.Publish(t.Context(), "orders", []byte(s), whispeer.WithQoS(whispeer.AtLeastOnce)); err != nil {
					t.Fatal(err)
				}
			}
			if err := n.Close(); err != nil {
				t.Fatal(err)
			}
			checkKeyFile(t, p.Path()+".key")
			checkNoPlaintext(t, dir)

			n = build(t, func() (*node.Node, error) { return node.DefaultWithPersistence(p) })
			got := subscribe(t, n, "orders", whispeer.WithReplay(10))
			for _, want := range orders {
				if p := recv(t, got); p != want {
					t.Fatalf("replayed %q, want %q", p, want)
				}
			}
		})
	}
}

// checkKeyFile checks that the key file at path exists, readable by its
// owner only.
func checkKeyFile(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("key file: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", fi.Mode().Perm())
	}
}

// checkNoPlaintext checks that no file under dir holds the marker.
func checkNoPlaintext(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if bytes.Contains(b, []byte(marker)) {
			t.Errorf("%s holds a payload in the clear", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestDefaultWithPersistenceWS_ClientPublishesSurviveReopen(t *testing.T) {
	p := node.SQLite(filepath.Join(t.TempDir(), "whispeer.db"))
	n, err := node.DefaultWithPersistenceWS("127.0.0.1:0", p)
	if err != nil {
		t.Fatal(err)
	}
	c := dialWS(t, n, client.WithKeyring(n.Keyring()))
	if err := c.Publish(t.Context(), "orders", []byte(marker), client.WithQoS(client.AtLeastOnce)); err != nil {
		t.Fatal(err) // acknowledged once durable
	}
	c.Close()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n = build(t, func() (*node.Node, error) { return node.DefaultWithPersistenceWS("127.0.0.1:0", p) })
	got := clientSubscribe(t, dialWS(t, n, client.WithKeyring(n.Keyring())), "orders", client.WithLast(10))
	if m := recv(t, got); string(m.Payload) != marker {
		t.Fatalf("replayed %q", m.Payload)
	}
}

func TestBuild_EveryOption(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys", "whispeer.key")
	n := build(t, func() (*node.Node, error) {
		return node.Build(
			node.WithKeyFile(keyFile),
			node.WithCompression(envelope.CompressLZ4),
			node.WithWebSocket("127.0.0.1:0"),
			node.WithTCP("127.0.0.1:0"),
			node.WithPersistence(node.File(filepath.Join(dir, "log"))),
			node.WithBrokerOptions(whispeer.WithMaxPayload(1<<16)),
		)
	})
	checkKeyFile(t, keyFile)
	if _, err := os.Stat(filepath.Join(dir, "log.key")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a key file beside the store (%v) though WithKeyFile names another", err)
	}
	keys, err := envelope.LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.Dial(t.Context(), n.TCPURL(), client.WithCredentials("admin", "password"), client.WithKeyring(keys))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got := clientSubscribe(t, c, "a")
	big := strings.Repeat("compressible ", 200)
	if err := n.Publish(t.Context(), "a", []byte(big)); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); string(m.Payload) != big {
		t.Fatalf("received %d bytes", len(m.Payload))
	}
	if err := n.Publish(t.Context(), "a", make([]byte, 1<<16+1)); !errors.Is(err, whispeer.ErrPayloadTooLarge) {
		t.Fatalf("publish past WithMaxPayload: %v", err)
	}
}

func TestBuild_PersistenceWithoutPath(t *testing.T) {
	for _, p := range []node.Persistence{{}, node.SQLite("")} {
		if n, err := node.Build(node.WithPersistence(p)); !errors.Is(err, whispeer.ErrInvalidOption) {
			if n != nil {
				n.Close()
			}
			t.Errorf("persistence %+v: error %v, want ErrInvalidOption", p, err)
		}
	}
}

func TestWithServerConfig_ServesTLS(t *testing.T) {
	certFile, keyFile, pool, err := testcert.Files(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.TLS.CertFile, cfg.TLS.KeyFile = certFile, keyFile
	n := build(t, func() (*node.Node, error) {
		return node.Build(node.WithServerConfig(cfg), node.WithWebSocket("wss://127.0.0.1:0"), node.WithTCP("127.0.0.1:0"))
	})
	if !strings.HasPrefix(n.URL(), "wss://") || !strings.HasPrefix(n.TCPURL(), "tls://") {
		t.Fatalf("URLs %q and %q: want wss:// and tls://", n.URL(), n.TCPURL())
	}
	for _, u := range []string{n.URL(), n.TCPURL()} {
		c, err := client.Dial(t.Context(), u, client.WithCredentials("admin", "password"),
			client.WithTLSConfig(&tls.Config{RootCAs: pool}))
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		got := clientSubscribe(t, c, "a")
		if err := n.Publish(t.Context(), "a", []byte(u)); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, got); string(m.Payload) != u {
			t.Errorf("%s: received %q", u, m.Payload)
		}
		c.Close()
	}
}
