package server

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// spy is a plugin that records what every hook saw, and refuses the
// connections, users and topics it is told to.
type spy struct {
	refuseAddr, refuseUser, refuseTopic string

	mu     sync.Mutex
	events []string
	conns  map[string]hook.Conn // by event
	gone   chan hook.Conn       // disconnections
}

func newSpy() *spy {
	return &spy{conns: make(map[string]hook.Conn), gone: make(chan hook.Conn, 8)}
}

func (p *spy) Name() string { return "spy" }

func (p *spy) record(event string, c hook.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.events = append(p.events, event)
	p.conns[event] = c
}

func (p *spy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.events)
}

func (p *spy) conn(event string) hook.Conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns[event]
}

func (p *spy) OnConnect(c hook.Conn) error {
	p.record("connect", c)
	if host, _, _ := net.SplitHostPort(c.RemoteAddr); host == p.refuseAddr {
		return errors.New("address banned")
	}
	return nil
}

func (p *spy) OnAuthenticate(c hook.Conn) error {
	p.record("auth "+c.User, c)
	if c.User == p.refuseUser {
		return errors.New("user suspended")
	}
	return nil
}

func (p *spy) OnSubscribe(s *whispeer.Subscription) error {
	p.record("subscribe "+s.Pattern(), hook.Conn{ID: s.Subscriber()})
	return nil
}

func (p *spy) OnPublish(ctx context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	c, _ := hook.PublisherConn(m.Publisher())
	p.record("publish "+m.Topic, c)
	if m.Topic == p.refuseTopic {
		return nil, errors.New("topic frozen")
	}
	return m, nil
}

func (p *spy) OnAck(c hook.Conn, id string) { p.record("ack "+id, c) }

func (p *spy) OnDisconnect(c hook.Conn, err error) {
	p.record("disconnect", c)
	p.gone <- c
}

var (
	_ hook.Connect           = (*spy)(nil)
	_ hook.Auth              = (*spy)(nil)
	_ whispeer.SubscribeHook = (*spy)(nil)
	_ whispeer.PublishHook   = (*spy)(nil)
	_ hook.Ack               = (*spy)(nil)
	_ hook.Disconnect        = (*spy)(nil)
)

// spiedServer returns a test server whose broker runs p.
func spiedServer(t *testing.T, p *spy, edit func(*config.Config)) *testServer {
	t.Helper()
	b, err := whispeer.New(whispeer.WithPlugin(p), whispeer.WithHistory(10))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return newTestServer(t, edit, WithBroker(b))
}

func TestPlugins_ConnectionHooksSeeTheConnection(t *testing.T) {
	p := newSpy()
	ts := spiedServer(t, p, nil)
	alice := ts.authed(t, "alice")
	alice.subscribe("chat/#")
	bob := ts.authed(t, "bob")
	bob.send(`{"type":"publish","topic":"chat/bob","payload":"hi","message_id":"m1","qos":1}`)
	bob.expect("puback")
	alice.expectMessage("chat/bob", `"hi"`)
	alice.send(`{"type":"ack","message_id":"m1"}`)
	alice.sync()
	alice.c.Close(websocket.StatusNormalClosure, "bye")
	gone := <-p.gone

	want := []string{"connect", "auth alice", "subscribe chat/#", "connect", "auth bob", "publish chat/bob", "ack m1", "disconnect"}
	if got := p.seen(); !slices.Equal(got, want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	aliceID := alice.sess.id
	if c := p.conn("auth alice"); c.ID != aliceID || c.Transport != "ws" || !strings.HasPrefix(c.RemoteAddr, "127.0.0.1:") {
		t.Errorf("auth saw %+v, want alice's connection", c)
	}
	if c := p.conn("subscribe chat/#"); c.ID != aliceID {
		t.Errorf("subscribe saw subscriber %q, want %q", c.ID, aliceID)
	}
	if c := p.conn("publish chat/bob"); c.ID != bob.sess.id || c.User != "bob" {
		t.Errorf("publish saw %+v, want bob's connection", c)
	}
	if c := p.conn("ack m1"); c.ID != aliceID || c.User != "alice" {
		t.Errorf("ack saw %+v, want alice", c)
	}
	if gone.ID != aliceID || gone.User != "alice" {
		t.Errorf("disconnect saw %+v, want alice", gone)
	}
}

func TestPlugins_NativeConnectionHooks(t *testing.T) {
	p := newSpy()
	ts := spiedServer(t, p, nil)
	c := ts.nativeAuthed(t, "tcp", "bob")
	c.publish(wire.Publish{Topic: []byte("chat/bob"), Payload: []byte("x")})
	c.sync()
	c.nc.Close()
	gone := <-p.gone
	if gone.Transport != "tcp" || gone.User != "bob" || gone.ID != c.sess.id {
		t.Errorf("disconnect saw %+v", gone)
	}
	if got := p.seen(); !slices.Equal(got, []string{"connect", "auth bob", "publish chat/bob", "disconnect"}) {
		t.Errorf("events %q", got)
	}
}

func TestPlugins_WithPluginJoinsTheServersBroker(t *testing.T) {
	p := newSpy()
	p.refuseTopic = "chat/frozen"
	ts := newTestServer(t, nil, WithPlugin(p))
	bob := ts.authed(t, "bob")
	bob.send(`{"type":"publish","topic":"chat/bob","payload":"hi","message_id":"m1","qos":1}`)
	bob.expect("puback")
	bob.send(`{"type":"publish","topic":"chat/frozen","payload":"hi","message_id":"m2","qos":1}`)
	bob.expect("error")
	if got := p.seen(); !slices.Contains(got, "publish chat/bob") || !slices.Contains(got, "publish chat/frozen") {
		t.Errorf("events %q, want both publishes", got)
	}
}

func TestPlugins_ConnectRefused(t *testing.T) {
	p := newSpy()
	p.refuseAddr = "127.0.0.1"
	ts := spiedServer(t, p, nil)

	c := ts.dial(t)
	ctx, cancel := readCtx()
	defer cancel()
	_, _, err := c.c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusPolicyViolation || !strings.Contains(err.Error(), "rejected by spy: address banned") {
		t.Errorf("WebSocket client saw %v, want close 1008 with the plugin's reason", err)
	}
	<-p.gone

	nc, err := net.Dial("tcp", ts.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hello, _ := wire.AppendFrame(nil, &wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: wire.Version}})
	nc.Write(hello)
	f, err := wire.NewReader(bufio.NewReader(nc), wire.MaxFrameSize).Next()
	if err != nil || f.Type != wire.TypeError || !f.Error.Fatal || f.Error.Code != wire.CodeForbidden ||
		!strings.Contains(string(f.Error.Text), "address banned") {
		t.Errorf("TCP client got %v, %v; want a fatal forbidden ERROR", describe(f), err)
	}
	nc.Close() // as a client does after a fatal ERROR; the server would wait for it
	<-p.gone
	if got := p.seen(); !slices.Equal(got, []string{"connect", "disconnect", "connect", "disconnect"}) {
		t.Errorf("events %q", got)
	}
}

func TestPlugins_AuthRefused(t *testing.T) {
	p := newSpy()
	p.refuseUser = "bob"
	ts := spiedServer(t, p, nil)
	token, _ := ts.issuer.Issue("bob")
	c := ts.dial(t)
	c.send(`{"type":"auth","token":"` + token + `"}`)
	c.expectError("rejected by spy: user suspended")
	c.send(`{"type":"subscribe","topic":"chat/bob"}`)
	c.expectError("not authenticated")

	n := ts.dialNative(t, "tcp", nil, 0)
	n.send(&wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: []byte("bob"), Password: []byte("bob-pw")}})
	if text := n.expectError(wire.CodeForbidden, false, wire.TypeLogin); !strings.Contains(text, "user suspended") {
		t.Errorf("native login refused with %q", text)
	}
}

func TestPlugins_PublishRejectedWithReason(t *testing.T) {
	p := newSpy()
	p.refuseTopic = "chat/bob"
	ts := spiedServer(t, p, nil)
	bob := ts.authed(t, "bob")
	bob.send(`{"type":"publish","topic":"chat/bob","payload":"x","message_id":"m","qos":1}`)
	bob.expectError("rejected by spy: topic frozen")
}

func TestPlugins_FromConfig(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) {
		c.Plugins.Enabled = []string{"stamp", "typecheck", "logging"}
		c.Plugins.Node = "node-7"
		c.Plugins.Typecheck = []config.TypeRule{{Pattern: "chat/#", Type: "object", Fields: map[string]string{"text": "string"}}}
	})
	got := make(chan *whispeer.Message, 1)
	if _, err := ts.Broker().Subscribe("chat/#", func(_ context.Context, m *whispeer.Message) error {
		got <- m
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	bob := ts.authed(t, "bob")
	bob.publish("chat/bob", `{"text":7}`)
	bob.expectError(`rejected by typecheck: topic "chat/bob" expects an object {text: string}: field "text" is an integer, want a string`)
	bob.publish("chat/bob", `{"text":"hello"}`)
	m := <-got
	if h := m.Headers.Map(); h["x-whispeer-node"] != "node-7" || h["x-whispeer-received-at"] == "" {
		t.Errorf("headers %v, want the stamp", m.Headers)
	}
	if !strings.Contains(ts.logs.String(), "whispeer: rejected") {
		t.Errorf("the logging plugin did not log the rejection:\n%s", ts.logs)
	}
}

func TestPlugins_UnknownName(t *testing.T) {
	cfg := testConfig()
	cfg.Plugins.Enabled = []string{"metrics", "metrix"}
	_, err := New(cfg)
	if err == nil || !strings.Contains(err.Error(), `plugins.enabled: unknown plugin "metrix" (the built-in ones are logging, metrics, stamp, typecheck)`) {
		t.Errorf("New = %v", err)
	}
	cfg.Plugins.Enabled = []string{"typecheck"}
	cfg.Plugins.Typecheck = []config.TypeRule{{Pattern: "a", Type: "float"}}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), `plugins.typecheck: typecheck: rule 0: type: unknown kind "float"`) {
		t.Errorf("New = %v", err)
	}
}

// panicky is a plugin whose every hook panics.
type panicky struct{}

func (panicky) Name() string                                        { return "panicky" }
func (panicky) OnConnect(hook.Conn) error                           { panic("connect") }
func (panicky) OnAuthenticate(hook.Conn) error                      { panic("auth") }
func (panicky) OnSubscribe(*whispeer.Subscription) error            { panic("subscribe") }
func (panicky) OnDeliver(*whispeer.Subscription, *whispeer.Message) { panic("deliver") }
func (panicky) OnAck(hook.Conn, string)                             { panic("ack") }
func (panicky) OnDisconnect(hook.Conn, error)                       { panic("disconnect") }
func (panicky) OnPublish(context.Context, *whispeer.Message) (*whispeer.Message, error) {
	panic("publish")
}

func TestPlugins_PanickingPluginIsIsolated(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	b, err := whispeer.New(whispeer.WithPlugin(panicky{}), whispeer.WithLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ts := newTestServer(t, nil, WithBroker(b), WithLogger(log)) // the server runs the connection hooks
	alice := ts.authed(t, "alice")
	alice.subscribe("chat/#")
	bob := ts.authed(t, "bob")
	bob.send(`{"type":"publish","topic":"chat/bob","payload":"still here","message_id":"m1","qos":1}`)
	bob.expect("puback")
	alice.expectMessage("chat/bob", `"still here"`)
	alice.send(`{"type":"ack","message_id":"m1"}`)
	alice.sync()
	for _, hook := range []string{"connect", "auth", "subscribe", "publish", "deliver", "ack"} {
		if !strings.Contains(logs.String(), "panic="+hook) {
			t.Errorf("the %s panic was not logged:\n%s", hook, logs)
		}
	}
}
