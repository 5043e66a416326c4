package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// NATS is nats-server, reached with the nats.go client over TCP or, with
// WebSocket set, over its WebSocket listener.
type NATS struct {
	WebSocket bool

	srv     *server
	url     string
	tcpAddr string // the client port, whatever the transport
}

// Name implements Target.
func (n *NATS) Name() string {
	if n.WebSocket {
		return "nats-ws"
	}
	return "nats-tcp"
}

// Start implements Target.
func (n *NATS) Start(ctx context.Context) (string, string, error) { return n.start(ctx, false) }

// StartDurable implements Durable: the same server with JetStream file
// storage.
func (n *NATS) StartDurable(ctx context.Context) (string, string, error) {
	if n.WebSocket {
		return "", "", fmt.Errorf("%w: durable runs use nats-tcp", ErrNotApplicable)
	}
	return n.start(ctx, true)
}

// start writes a configuration with free ports and runs nats-server on it.
func (n *NATS) start(ctx context.Context, jetStream bool) (string, string, error) {
	bin, err := lookBin("nats-server")
	if err != nil {
		return "", "", err
	}
	port, err := freePort()
	if err != nil {
		return "", "", err
	}
	wsPort, err := freePort()
	if err != nil {
		return "", "", err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-nats-")
	if err != nil {
		return "", "", err
	}
	conf := fmt.Sprintf("listen: \"127.0.0.1:%d\"\n", port)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	n.url, n.tcpAddr = "nats://"+addr, addr
	if n.WebSocket {
		conf += fmt.Sprintf("websocket { listen: \"127.0.0.1:%d\", no_tls: true }\n", wsPort)
		addr = "127.0.0.1:" + strconv.Itoa(wsPort)
		n.url = "ws://" + addr
	}
	if jetStream {
		conf += fmt.Sprintf("jetstream { store_dir: %q }\n", filepath.Join(dir, "js"))
	}
	if err := os.WriteFile(filepath.Join(dir, "nats.conf"), []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	n.srv, err = startServer(ctx, dir, addr, bin, "-c", "nats.conf")
	if err != nil {
		return "", "", err
	}
	v := strings.TrimPrefix(commandOutput(bin, "--version"), "nats-server: ")
	return addr, "nats-server " + v + ", nats.go v" + nats.Version, nil
}

// Stop implements Target.
func (n *NATS) Stop() error {
	err := n.srv.stop()
	n.srv = nil
	return err
}

// PID implements Process.
func (n *NATS) PID() int { return n.srv.pid() }

// Connect implements Target.
func (n *NATS) Connect(ctx context.Context) (Client, error) {
	nc, err := nats.Connect(n.url, nats.NoReconnect(), nats.Name("whispeer-bench"))
	if err != nil {
		return nil, err
	}
	return &natsClient{nc: nc}, nil
}

// ConnectDurable implements Durable: a JetStream publisher on a stream of
// the "durable" subject with file storage, at most 100 acks pending.
func (n *NATS) ConnectDurable(ctx context.Context) (AckPublisher, error) {
	nc, err := nats.Connect(n.url, nats.NoReconnect())
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(100))
	if err == nil {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name: "BENCH", Subjects: []string{"durable"}, Storage: jetstream.FileStorage,
		})
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &natsDurable{nc: nc, js: js}, nil
}

// Skip implements Limiter.
func (n *NATS) Skip(workload string) error {
	if workload == "durable" && n.WebSocket {
		return fmt.Errorf("%w: durable runs use nats-tcp", ErrNotApplicable)
	}
	return nil
}

// natsClient is a nats.go connection.
type natsClient struct{ nc *nats.Conn }

// Disconnected implements Disconnecter: without reconnection, a lost
// connection is closed.
func (c *natsClient) Disconnected() bool { return c.nc.IsClosed() }

// Subscribe implements Client.
func (c *natsClient) Subscribe(ctx context.Context, topic string, h Handler) error {
	sub, err := c.nc.Subscribe(topic, func(m *nats.Msg) { h(m.Data) })
	if err != nil {
		return err
	}
	sub.SetPendingLimits(-1, -1)
	return c.nc.FlushWithContext(ctx)
}

// Publish implements Client.
func (c *natsClient) Publish(ctx context.Context, topic string, p []byte) error {
	return c.nc.Publish(topic, p)
}

// Flush implements Flusher.
func (c *natsClient) Flush(ctx context.Context) error { return c.nc.FlushWithContext(ctx) }

// Close implements Client.
func (c *natsClient) Close() error {
	c.nc.Close()
	return nil
}

// natsDurable publishes to JetStream and waits for each ack.
type natsDurable struct {
	nc *nats.Conn
	js jetstream.JetStream
}

// PublishAck implements AckPublisher.
func (d *natsDurable) PublishAck(ctx context.Context, topic string, p []byte) error {
	f, err := d.js.PublishAsync(topic, p)
	if err != nil {
		return err
	}
	select {
	case <-f.Ok():
		return nil
	case err := <-f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close implements AckPublisher.
func (d *natsDurable) Close() error {
	d.nc.Close()
	return nil
}

var (
	_ Target       = (*NATS)(nil)
	_ Durable      = (*NATS)(nil)
	_ Process      = (*NATS)(nil)
	_ Limiter      = (*NATS)(nil)
	_ Client       = (*natsClient)(nil)
	_ Flusher      = (*natsClient)(nil)
	_ AckPublisher = (*natsDurable)(nil)
)
