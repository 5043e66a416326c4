package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Mosquitto is the mosquitto MQTT broker, reached with the paho client,
// publishing and subscribing at QoS 0 or 1. At QoS 1 and 2 it has a durable
// mode: acknowledged publishes (PUBACK; PUBCOMP at QoS 2) with persistence
// turned on; a QoS 2 target runs the durable workload only.
type Mosquitto struct {
	QoS byte

	srv  *server
	addr string
}

// clientIDs makes MQTT client ids unique within this process.
var clientIDs atomic.Int64

// Name implements Target.
func (m *Mosquitto) Name() string { return "mosquitto-qos" + strconv.Itoa(int(m.QoS)) }

// Start implements Target.
func (m *Mosquitto) Start(ctx context.Context) (string, string, error) { return m.start(ctx, false) }

// StartDurable implements Durable: persistence to a file in a temporary
// directory (mosquitto writes it at its autosave interval and at exit).
func (m *Mosquitto) StartDurable(ctx context.Context) (string, string, error) {
	if m.QoS == 0 {
		return "", "", fmt.Errorf("%w: durable runs use QoS 1", ErrNotApplicable)
	}
	return m.start(ctx, true)
}

// start writes a configuration with a free port and runs mosquitto on it.
func (m *Mosquitto) start(ctx context.Context, persist bool) (string, string, error) {
	bin, err := lookBin("mosquitto")
	if err != nil {
		return "", "", err
	}
	port, err := freePort()
	if err != nil {
		return "", "", err
	}
	dir, err := os.MkdirTemp("", "whispeer-bench-mosquitto-")
	if err != nil {
		return "", "", err
	}
	m.addr = "127.0.0.1:" + strconv.Itoa(port)
	conf := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\nmax_queued_messages 10000\nset_tcp_nodelay true\n", port)
	if os.Geteuid() == 0 {
		conf += "user root\n" // stay able to write dir, which root owns
	}
	if persist {
		conf += "persistence true\npersistence_location " + dir + "/\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "mosquitto.conf"), []byte(conf), 0o600); err != nil {
		os.RemoveAll(dir)
		return "", "", err
	}
	m.srv, err = startServer(ctx, dir, m.addr, bin, "-c", filepath.Join(dir, "mosquitto.conf"))
	if err != nil {
		return "", "", err
	}
	v := "(unknown)"
	if f := strings.Fields(firstLine(commandOutput(bin, "-h"))); len(f) > 0 {
		v = f[len(f)-1]
	}
	return m.addr, "mosquitto " + v + ", paho " + modVersion("github.com/eclipse/paho.mqtt.golang"), nil
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// Stop implements Target.
func (m *Mosquitto) Stop() error {
	err := m.srv.stop()
	m.srv = nil
	return err
}

// PID implements Process.
func (m *Mosquitto) PID() int { return m.srv.pid() }

// Skip implements Limiter.
func (m *Mosquitto) Skip(workload string) error {
	switch {
	case workload == "durable" && m.QoS == 0:
		return fmt.Errorf("%w: durable runs use QoS 1", ErrNotApplicable)
	case workload != "durable" && m.QoS == 2:
		return fmt.Errorf("%w: a QoS 2 target runs the durable workload only", ErrNotApplicable)
	}
	return nil
}

// dial connects a paho client with a clean session.
func (m *Mosquitto) dial(ctx context.Context) (*mqttClient, error) {
	opts := mqtt.NewClientOptions().
		AddBroker("tcp://" + m.addr).
		SetClientID("whispeer-bench-" + strconv.FormatInt(clientIDs.Add(1), 10)).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return nil, fmt.Errorf("mqtt connect: %w", err)
	}
	return &mqttClient{c: c, qos: m.QoS}, nil
}

// Connect implements Target.
func (m *Mosquitto) Connect(ctx context.Context) (Client, error) { return m.dial(ctx) }

// ConnectDurable implements Durable.
func (m *Mosquitto) ConnectDurable(ctx context.Context) (AckPublisher, error) { return m.dial(ctx) }

// mqttClient is a paho connection at a fixed QoS.
type mqttClient struct {
	c   mqtt.Client
	qos byte
}

// Subscribe implements Client; it returns after the broker's SUBACK.
func (c *mqttClient) Subscribe(ctx context.Context, topic string, h Handler) error {
	return wait(ctx, c.c.Subscribe(topic, c.qos, func(_ mqtt.Client, msg mqtt.Message) {
		h(msg.Payload())
	}))
}

// Publish implements Client; it does not wait for a QoS 1 PUBACK.
func (c *mqttClient) Publish(ctx context.Context, topic string, p []byte) error {
	t := c.c.Publish(topic, c.qos, false, p)
	select {
	case <-t.Done():
		return t.Error()
	default:
		return nil
	}
}

// PublishAck implements AckPublisher: a publish at the client's QoS (1 at
// least) that waits for its PUBACK, or at QoS 2 for its PUBCOMP.
func (c *mqttClient) PublishAck(ctx context.Context, topic string, p []byte) error {
	return wait(ctx, c.c.Publish(topic, max(c.qos, 1), false, p))
}

// Close implements Client.
func (c *mqttClient) Close() error {
	c.c.Disconnect(0)
	return nil
}

// wait waits for a paho token, or for ctx to end.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return errors.Join(ctx.Err(), errors.New("mqtt: no answer"))
	}
}

var (
	_ Target       = (*Mosquitto)(nil)
	_ Durable      = (*Mosquitto)(nil)
	_ Process      = (*Mosquitto)(nil)
	_ Limiter      = (*Mosquitto)(nil)
	_ Client       = (*mqttClient)(nil)
	_ AckPublisher = (*mqttClient)(nil)
)
