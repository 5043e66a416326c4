package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/envelope"
)

// WhispeerNative is `whispeer serve` speaking its native binary protocol,
// over TCP or in WebSocket binary messages, reached with whispeer's Go
// client (package client). With E2E every payload is sealed end to end by
// the publishing client (XChaCha20-Poly1305, the envelope's default; 128-byte
// payloads stay below the compression threshold) and opened by the
// subscribing one, with one keyring shared by every client of the run.
// AEAD, when set, replaces XChaCha20-Poly1305 (AES256GCM: the AEAD of
// processors with AES instructions).
//
// With Store set the server keeps every message in a store of that kind
// ("sqlite" or "file") under a temporary path, synced by the policy Sync
// ("batch", "always" or "never"), and the target runs only the durable
// workload: QoS 1 publishes over TCP, each returning once its PUBACK came,
// which the server sends only after the sync covering the message. Without
// Store the server keeps no log at all (store.kind = "none"), so that the
// other workloads neither write to disk nor wait for a sync.
type WhispeerNative struct {
	Build     *WhispeerBuild
	Transport string // "tcp" or "ws"
	E2E       bool
	AEAD      envelope.AEAD // of an E2E target; 0 for the envelope's default
	Store     string        // store.kind of a durable target; "" for none
	Sync      string        // store.sync of a durable target
	// QoS2 makes a durable target publish at QoS 2, each publish
	// returning once its PUBCOMP came, where it otherwise publishes at QoS 1.
	QoS2 bool
	// Queue is each subscription's queue in the client, in messages; 0
	// means nativeQueue. QueueFor sizes it from the publisher's window.
	Queue int

	srv     *server
	url     string
	token   string
	tcpAddr string // the native TCP listener, whatever the transport
	keys    *envelope.Keyring
	errors  atomic.Int64 // errors the clients reported asynchronously
	dropped atomic.Int64 // deliveries dropped by a full subscription queue
}

// Name implements Target.
func (w *WhispeerNative) Name() string { return w.name() + w.Build.suffix() }

// name is the target's name without the build's suffix.
func (w *WhispeerNative) name() string {
	if w.Store != "" && w.QoS2 {
		return "whispeer-durable-" + w.Store + "-" + w.Sync + "-qos2"
	}
	if w.Store != "" {
		return "whispeer-durable-" + w.Store + "-" + w.Sync
	}
	if w.E2E && w.AEAD == envelope.AES256GCM {
		return "whispeer-e2e-aes-" + w.Transport
	}
	if w.E2E {
		return "whispeer-e2e-" + w.Transport
	}
	return "whispeer-" + w.Transport
}

// Start implements Target: the server with both listeners on free ports,
// the configuration of the JSON target otherwise (no publish rate limit).
func (w *WhispeerNative) Start(ctx context.Context) (string, string, error) {
	bin, err := w.Build.binary()
	if err != nil {
		return "", "", err
	}
	port, err := freePort()
	if err != nil {
		return "", "", err
	}
	tcpPort, err := freePort()
	if err != nil {
		return "", "", err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-whispeer-")
	if err != nil {
		return "", "", err
	}
	conf := fmt.Sprintf(whispeerNativeConfig, port, tcpPort) + w.storeConfig(dir)
	if err := os.WriteFile(filepath.Join(dir, "whispeer.toml"), []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	addr := "127.0.0.1:" + strconv.Itoa(tcpPort)
	w.tcpAddr = addr
	w.url = "tcp://" + addr
	transport := "native over TCP"
	if w.Transport == "ws" {
		addr = "127.0.0.1:" + strconv.Itoa(port)
		w.url = "ws://" + addr + "/ws"
		transport = "native over WebSocket"
	}
	if w.Store != "" {
		transport += ", " + w.Store + " store, sync " + w.Sync
	}
	if w.E2E {
		w.keys = envelope.NewKeyring()
		if _, err := w.keys.Generate(); err != nil {
			os.RemoveAll(dir)
			return "", "", err
		}
		transport += ", sealed end to end (" + w.aead().String() + ")"
	}
	w.errors.Store(0)
	w.dropped.Store(0)
	w.srv, err = startServer(ctx, dir, addr, bin, "serve", "--config", filepath.Join(dir, "whispeer.toml"))
	if err != nil {
		return "", "", err
	}
	// One password login (over the JSON protocol, as for the JSON target),
	// whose token authenticates every connection: a password login costs a
	// deliberately slow hash, which 10,000 connections should not pay each.
	wsURL := "ws://127.0.0.1:" + strconv.Itoa(port) + "/"
	if w.token, err = wsLogin(ctx, wsURL, "admin", "password"); err != nil {
		return "", "", fmt.Errorf("login: %w", err)
	}
	return addr, "whispeer " + w.Build.revision() + ", " + transport + ", Go client of the working tree", nil
}

// StartDurable implements Durable: Start, whose configuration has the
// target's store.
func (w *WhispeerNative) StartDurable(ctx context.Context) (string, string, error) {
	if w.Store == "" {
		return "", "", fmt.Errorf("%w: durable runs use the whispeer-durable-* targets", ErrNotApplicable)
	}
	return w.Start(ctx)
}

// storeConfig is the [store] section of the configuration: the target's
// store in dir (removed with the server's directory at Stop), or none.
func (w *WhispeerNative) storeConfig(dir string) string {
	if w.Store == "" {
		return "\n[store]\nkind = \"none\"\n"
	}
	path := filepath.Join(dir, "store")
	if w.Store == "sqlite" {
		path = filepath.Join(dir, "store", "whispeer.db")
	}
	return fmt.Sprintf("\n[store]\nkind = %q\npath = %q\nsync = %q\n", w.Store, path, w.Sync)
}

// aead returns the AEAD an E2E target seals with.
func (w *WhispeerNative) aead() envelope.AEAD {
	if w.AEAD == 0 {
		return envelope.XChaCha20Poly1305
	}
	return w.AEAD
}

// Stop implements Target.
func (w *WhispeerNative) Stop() error {
	err := w.srv.stop()
	w.srv = nil
	return err
}

// Close removes the binary that Build built.
func (w *WhispeerNative) Close() error { return w.Build.Close() }

// PID implements Process.
func (w *WhispeerNative) PID() int { return w.srv.pid() }

// Skip implements Limiter.
func (w *WhispeerNative) Skip(workload string) error {
	switch {
	case w.Store != "" && workload != "durable":
		return fmt.Errorf("%w: a durable target runs the durable workload only", ErrNotApplicable)
	case w.Store == "" && workload == "durable":
		return fmt.Errorf("%w: durable runs use the whispeer-durable-* targets", ErrNotApplicable)
	}
	return nil
}

// ConnectDurable implements Durable: one client connection over which
// every publish is at QoS 1, or QoS 2 with QoS2. The workload's concurrent
// publishers are the in-flight window; the client's own bound (1,000) is
// above it.
func (w *WhispeerNative) ConnectDurable(ctx context.Context) (AckPublisher, error) {
	c, err := w.Connect(ctx)
	if err != nil {
		return nil, err
	}
	qos := client.AtLeastOnce
	if w.QoS2 {
		qos = client.ExactlyOnce
	}
	return &nativeDurable{c: c.(*nativeClient).c, qos: client.WithQoS(qos)}, nil
}

// nativeDurable publishes at QoS 1 and waits for each PUBACK, or at QoS 2
// and waits for each PUBCOMP.
type nativeDurable struct {
	c   *client.Client
	qos client.PublishOption
}

// PublishAck implements AckPublisher.
func (d *nativeDurable) PublishAck(ctx context.Context, topic string, p []byte) error {
	return d.c.Publish(ctx, topic, p, d.qos)
}

// Close implements AckPublisher.
func (d *nativeDurable) Close() error { return d.c.Close() }

// Connect implements Target: one client connection, authenticated with
// the token of the login made at Start, without reconnection (a lost connection is a failed run, as with the
// peers), its asynchronous errors counted rather than logged.
func (w *WhispeerNative) Connect(ctx context.Context) (Client, error) {
	var opts []client.Option
	if w.keys != nil {
		opts = append(opts, client.WithKeyring(w.keys), client.WithEngineOptions(envelope.WithAEAD(w.aead())))
	}
	return dialNative(ctx, w.url, w.token, w.Queue, &w.errors, opts...)
}

// dialNative opens one client connection to url, authenticated with
// token, without reconnection, its asynchronous errors counted in errs,
// each subscription with a queue of queue messages (0: nativeQueue), with
// further options.
func dialNative(ctx context.Context, url, token string, queue int, errs *atomic.Int64, extra ...client.Option) (*nativeClient, error) {
	lost := new(atomic.Bool)
	opts := append([]client.Option{
		client.WithToken(token),
		client.WithoutReconnect(),
		client.WithDisconnectHandler(func(error) { lost.Store(true) }),
		client.WithErrorHandler(func(err error) {
			errs.Add(1)
		}),
	}, extra...)
	c, err := client.Dial(ctx, url, opts...)
	if err != nil {
		return nil, err
	}
	if queue <= 0 {
		queue = nativeQueue
	}
	return &nativeClient{c: c, queue: queue, lost: lost}, nil
}

// nativeQueue is each subscription's queue, in messages, when the target
// was not given one: the client's own default.
const nativeQueue = client.DefaultQueueSize

// QueueFor returns a subscription queue for a publisher that stays at most
// window publishes ahead of the slowest subscriber: no subscription then
// has more than window messages waiting, so a queue a quarter larger is
// never what drops a message. It is not larger than that: the client
// allocates every queue whole when subscribing (8 bytes a message), and
// with 10,000 subscriptions (topics, idle) queues of 8,192 messages made
// 640 MiB that this process's garbage collector scanned while measuring.
func QueueFor(window int) int {
	return max(client.DefaultQueueSize, window+window/4)
}

// nativeClient is one whispeer client connection.
type nativeClient struct {
	c     *client.Client
	queue int          // each subscription's queue, in messages
	lost  *atomic.Bool // the connection ended
}

// SetQueue implements Queuer.
func (n *nativeClient) SetQueue(messages int) { n.queue = messages }

// Disconnected implements Disconnecter.
func (n *nativeClient) Disconnected() bool { return n.lost.Load() }

// Subscribe implements Client: a QoS 0 subscription that borrows its
// deliveries (client.WithBorrow), since a Handler keeps no payload.
func (n *nativeClient) Subscribe(ctx context.Context, topic string, h Handler) error {
	_, err := n.c.Subscribe(topic, func(_ context.Context, m *client.Message) error {
		h(m.Payload)
		return nil
	}, client.WithMaxQoS(client.AtMostOnce), client.WithQueueSize(n.queue), client.WithBorrow())
	return err
}

// Publish implements Client: a QoS 0 publish, queued for the connection's
// writer.
func (n *nativeClient) Publish(ctx context.Context, topic string, p []byte) error {
	return n.c.Publish(ctx, topic, p)
}

// Flush implements Flusher.
func (n *nativeClient) Flush(ctx context.Context) error { return n.c.Flush(ctx) }

// Close implements Client.
func (n *nativeClient) Close() error { return n.c.Close() }

// whispeerNativeConfig is whispeerConfig with the TCP listener on and
// without its [store] section, which storeConfig appends: the WebSocket
// port, then the native TCP port.
const whispeerNativeConfig = `[server]
host = "127.0.0.1"
port = %d
tcp_port = %d
max_connections = 20000
max_publish_rate = 0

[log]
level = "warn"
`

var (
	_ Target       = (*WhispeerNative)(nil)
	_ Process      = (*WhispeerNative)(nil)
	_ Limiter      = (*WhispeerNative)(nil)
	_ Durable      = (*WhispeerNative)(nil)
	_ io.Closer    = (*WhispeerNative)(nil)
	_ Client       = (*nativeClient)(nil)
	_ Flusher      = (*nativeClient)(nil)
	_ Disconnecter = (*nativeClient)(nil)
	_ AckPublisher = (*nativeDurable)(nil)
)
