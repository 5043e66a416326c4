package server

import (
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer/server/config"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testUsers are the accounts of every test server besides admin.
var testUsers = []config.User{
	{Username: "admin", Password: "password", Publish: []string{"#"}, Subscribe: []string{"#"}},
	{Username: "alice", Password: "alice-pw", Publish: []string{"chat/alice"}, Subscribe: []string{"chat/#"}},
	{Username: "bob", Password: "bob-pw", Publish: []string{"chat/#"}, Subscribe: []string{"chat/bob"}},
}

// testConfig returns the default configuration without a store, so that
// tests write no database (the tests of the store set one of their own),
// and without the native TCP listener, so that a test calling
// ListenAndServe never binds the default TCP port that a server run on the
// same machine holds.
func testConfig() *config.Config {
	cfg := config.Default()
	cfg.Store.Kind = config.StoreNone
	cfg.Server.TCPPort = 0
	return cfg
}

// testServer is a Server serving WebSocket and native TCP clients on
// loopback ports for one test, with TLS on both when the configuration
// names a certificate.
type testServer struct {
	*Server
	url      string // ws:// or wss://
	tcpAddr  string // host:port of the native TCP listener
	logs     *syncBuffer
	sessions chan *session            // each new session, in connection order
	http     *http.Client             // dials url; nil for the default client
	dialTCP  func() (net.Conn, error) // dials tcpAddr; nil for net.Dial
}

// newTestServer starts a server with the default configuration changed by
// edit, and shuts it down when the test ends.
func newTestServer(t testing.TB, edit func(*config.Config), opts ...Option) *testServer {
	t.Helper()
	return newWrappedTestServer(t, edit, nil, opts...)
}

// newWrappedTestServer is newTestServer with both listeners wrapped by
// wrap, when it is not nil.
func newWrappedTestServer(t testing.TB, edit func(*config.Config), wrap func(net.Listener) net.Listener, opts ...Option) *testServer {
	t.Helper()
	cfg := testConfig()
	cfg.Auth.Users = testUsers
	if edit != nil {
		edit(cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := New(cfg, append([]Option{WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	sessions := make(chan *session, 1)
	srv.hooks.session = func(s *session) { sessions <- s }
	ln, tln := loopback(t, srv, "http/1.1"), loopback(t, srv)
	if wrap != nil {
		ln, tln = wrap(ln), wrap(tln)
	}
	served := make(chan error, 2)
	go func() { served <- srv.Serve(ln) }()
	go func() { served <- srv.ServeTCP(tln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		for range 2 {
			if err := <-served; err != nil {
				t.Errorf("Serve: %v", err)
			}
		}
	})
	scheme := "ws://"
	if cfg.TLS.Enabled() {
		scheme = "wss://"
	}
	return &testServer{Server: srv, url: scheme + ln.Addr().String(), tcpAddr: tln.Addr().String(), logs: logs, sessions: sessions}
}

// loopback returns a listener on a free loopback port, with TLS when srv's
// configuration asks for it.
func loopback(t testing.TB, srv *Server, protos ...string) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if ln, err = srv.withTLS(ln, protos...); err != nil {
		t.Fatal(err)
	}
	return ln
}

// syncBuffer is a bytes.Buffer safe for concurrent writes, for logs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// client is a test client over a real WebSocket connection.
type client struct {
	t    testing.TB
	c    *websocket.Conn
	sess *session // its session on the server
}

// dial connects a client to path ("/" or "/ws").
func (ts *testServer) dialPath(t testing.TB, path string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, ts.url+path, &websocket.DialOptions{HTTPClient: ts.http})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	select {
	case s := <-ts.sessions:
		return &client{t: t, c: c, sess: s}
	case <-ctx.Done():
		t.Fatal("no session for the connection")
		return nil
	}
}

func (ts *testServer) dial(t testing.TB) *client { return ts.dialPath(t, "/") }

// authed connects a client and authenticates it as user with a token made
// by the server's issuer, skipping the (deliberately slow) password check.
func (ts *testServer) authed(t testing.TB, user string) *client {
	t.Helper()
	c := ts.dial(t)
	token, err := ts.issuer.Issue(user)
	if err != nil {
		t.Fatal(err)
	}
	c.send(`{"type":"auth","token":"` + token + `"}`)
	c.expectRaw(`{"type":"authenticated","status":"authenticated"}`)
	return c
}

func readCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// send writes one text frame.
func (c *client) send(frame string) {
	c.t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		c.t.Fatalf("send %s: %v", frame, err)
	}
}

// readRaw returns the next frame's bytes.
func (c *client) readRaw() []byte {
	c.t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	_, data, err := c.c.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return data
}

// frame is a decoded server frame.
type frame map[string]any

func (f frame) str(key string) string { s, _ := f[key].(string); return s }

// read returns the next frame, decoded.
func (c *client) read() frame {
	c.t.Helper()
	data := c.readRaw()
	var f frame
	if err := stdjson.Unmarshal(data, &f); err != nil {
		c.t.Fatalf("frame %s: %v", data, err)
	}
	return f
}

// expect reads the next frame and checks its type.
func (c *client) expect(typ string) frame {
	c.t.Helper()
	f := c.read()
	if f.str("type") != typ {
		c.t.Fatalf("got %v, want a %q frame", f, typ)
	}
	return f
}

// expectRaw reads the next frame and checks its exact bytes.
func (c *client) expectRaw(want string) {
	c.t.Helper()
	if got := c.readRaw(); string(got) != want {
		c.t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// expectError reads the next frame and checks that it is an error whose
// text contains substr.
func (c *client) expectError(substr string) {
	c.t.Helper()
	f := c.expect("error")
	if !strings.Contains(f.str("error"), substr) || f.str("message") != f.str("error") {
		c.t.Fatalf("error frame %v, want one containing %q", f, substr)
	}
}

// expectMessage reads the next frame and checks that it delivers payload
// (JSON) on topic.
func (c *client) expectMessage(topic, payload string) frame {
	c.t.Helper()
	f := c.expect("message")
	got, _ := stdjson.Marshal(f["payload"])
	if f.str("topic") != topic || string(got) != payload {
		c.t.Fatalf("got %v, want a message on %q with payload %s", f, topic, payload)
	}
	return f
}

// subscribe subscribes and waits for the confirmation.
func (c *client) subscribe(pattern string) {
	c.t.Helper()
	c.send(`{"type":"subscribe","topic":"` + pattern + `"}`)
	c.expect("subscribed")
}

// publish publishes a QoS 0 message with a JSON payload.
func (c *client) publish(topic, payload string) {
	c.t.Helper()
	c.send(`{"type":"publish","topic":"` + topic + `","payload":` + payload + `}`)
}

// sync makes a ping round trip: every frame sent before it has been
// handled once the pong arrives, and nothing else was sent in between.
func (c *client) sync() {
	c.t.Helper()
	c.send(`{"type":"ping"}`)
	c.expect("pong")
}

// closeStatus reads until the connection ends and returns the close code.
func (c *client) closeStatus() websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	for {
		if _, _, err := c.c.Read(ctx); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, context.DeadlineExceeded) {
				c.t.Fatalf("connection ended without a close frame: %v", err)
			}
			return websocket.CloseStatus(err)
		}
	}
}

// mustJSON encodes v.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := stdjson.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
