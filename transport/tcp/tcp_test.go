package tcp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/internal/pipetest"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is a Session that sends every frame back, answers PING with PONG,
// panics on PUB to topic "panic", and records how the connection ended.
type echo struct {
	c        *transport.Conn
	closed   chan error
	rejected chan error
}

func (e *echo) ReceiveFrame(f *wire.Frame) {
	switch {
	case f.Type == wire.TypePing:
		e.c.Send(wire.AppendPong(nil))
	case f.Type == wire.TypePublish && string(f.Publish.Topic) == "panic":
		panic("echo: asked to panic")
	default:
		b, err := wire.AppendFrame(nil, f)
		if err != nil {
			panic(err)
		}
		e.c.Send(b)
	}
}
func (e *echo) Closed(err error) { e.closed <- err }
func (e *echo) Reject(err error) { e.rejected <- err }

var _ Rejecter = (*echo)(nil)

// harness runs a Server on a loopback listener and collects the sessions it
// creates.
type harness struct {
	s        *Server
	addr     string
	sessions chan *echo
	pipe     *pipetest.Listener // set by newPipeHarness
}

func newHarness(t *testing.T, opts Options, wrap ...func(net.Listener) net.Listener) *harness {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	hs := &harness{sessions: make(chan *echo, 16)}
	hs.s = NewServer(func(c *transport.Conn) Session {
		e := &echo{c: c, closed: make(chan error, 1), rejected: make(chan error, 1)}
		hs.sessions <- e
		return e
	}, opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs.addr = ln.Addr().String()
	for _, w := range wrap {
		ln = w(ln)
	}
	served := make(chan error, 1)
	go func() { served <- hs.s.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return hs
}

// dial connects a raw client.
func (hs *harness) dial(t *testing.T) *rawClient {
	t.Helper()
	dial := func() (net.Conn, error) { return net.Dial("tcp", hs.addr) }
	if hs.pipe != nil {
		dial = hs.pipe.Dial
	}
	nc, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return newRawClient(t, nc)
}

func (hs *harness) session(t *testing.T) *echo {
	t.Helper()
	select {
	case e := <-hs.sessions:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no session")
		return nil
	}
}

// rawClient writes bytes and reads frames.
type rawClient struct {
	t  *testing.T
	nc net.Conn
	r  *wire.Reader
	br *bufio.Reader
}

func newRawClient(t *testing.T, nc net.Conn) *rawClient {
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	return &rawClient{t: t, nc: nc, br: br, r: wire.NewReader(br, wire.MaxFrameSize)}
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawClient) send(f *wire.Frame) {
	c.t.Helper()
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(b)
}

func (c *rawClient) hello() {
	c.t.Helper()
	c.send(&wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: wire.Version}})
}

func (c *rawClient) next() *wire.Frame {
	c.t.Helper()
	f, err := c.r.Next()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

// expectFatal reads a fatal ERROR with code, then the end of the stream,
// and closes the connection as a client does.
func (c *rawClient) expectFatal(code wire.Code) {
	c.t.Helper()
	f := c.next()
	if f.Type != wire.TypeError || f.Error.Code != code || !f.Error.Fatal {
		c.t.Fatalf("got %v %+v, want a fatal ERROR %v", f.Type, f.Error, code)
	}
	c.expectEOF()
	c.nc.Close()
}

func (c *rawClient) expectEOF() {
	c.t.Helper()
	if _, err := c.r.Next(); !errors.Is(err, io.EOF) {
		c.t.Fatalf("want the end of the stream, got %v", err)
	}
}

func pub(topic string) *wire.Frame {
	return &wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte(topic), Payload: []byte("x")}}
}

func TestServer_EchoPipelined(t *testing.T) {
	hs := newHarness(t, Options{})
	c := hs.dial(t)
	var out []byte
	out, _ = wire.AppendHello(out, &wire.Hello{Version: wire.Version})
	for range 100 {
		out, _ = wire.AppendPublish(out, &pub("a").Publish)
	}
	big := &wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte("big"), Payload: make([]byte, 300<<10)}}
	out, _ = wire.AppendFrame(out, big)
	out = wire.AppendPing(out)
	c.write(out)
	if f := c.next(); f.Type != wire.TypeHello {
		t.Fatalf("got %v", f.Type)
	}
	for i := range 100 {
		if f := c.next(); f.Type != wire.TypePublish || string(f.Publish.Topic) != "a" {
			t.Fatalf("frame %d: %v", i, f.Type)
		}
	}
	if f := c.next(); len(f.Publish.Payload) != 300<<10 {
		t.Fatalf("big frame: %d bytes", len(f.Publish.Payload))
	}
	if f := c.next(); f.Type != wire.TypePong {
		t.Fatalf("got %v, want PONG", f.Type)
	}
	if st := hs.s.Stats(); st.FramesIn != 103 || st.Accepted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestServer_Refusals(t *testing.T) {
	cases := []struct {
		name  string
		first string
		want  string // the start of the answer; "" for none
	}{
		{"HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 Bad Request"},
		{"JSON", `{"type":"login","username":"a","password":"b"}`, `{"type":"error"`},
		{"TLS", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ""},
		{"garbage", "\xde\xad\xbe\xef\x00\x01\x02\x03\x04\x05", "\x00\x00\x00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, Options{})
			c := hs.dial(t)
			c.write([]byte(tc.first))
			got, err := io.ReadAll(c.br)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(got) < len(tc.want) || string(got[:len(tc.want)]) != tc.want || (tc.want == "" && len(got) != 0) {
				t.Fatalf("answer %q, want it to start with %q", got, tc.want)
			}
			if st := hs.s.Stats(); st.Refused != 1 {
				t.Fatalf("Refused = %d", st.Refused)
			}
		})
	}
}

func TestServer_BadFrames(t *testing.T) {
	cases := []struct {
		name  string
		frame []byte
		code  wire.Code
	}{
		{"oversized", []byte{0, 0x10, 0, 0, byte(wire.TypePublish)}, wire.CodeTooLarge},
		{"unknown type", []byte{0, 0, 0, 1, 0x7f}, wire.CodeInvalid},
		{"zero length", []byte{0, 0, 0, 0}, wire.CodeInvalid},
		{"truncated field", []byte{0, 0, 0, 3, byte(wire.TypePublish), 0, 0}, wire.CodeInvalid},
		{"trailing bytes", []byte{0, 0, 0, 2, byte(wire.TypePing), 0}, wire.CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, Options{MaxFrameBytes: 1 << 10})
			bystander := hs.dial(t)
			bystander.hello()
			hs.session(t)
			c := hs.dial(t)
			c.hello()
			e := hs.session(t)
			if f := c.next(); f.Type != wire.TypeHello {
				t.Fatalf("got %v", f.Type)
			}
			c.write(tc.frame)
			c.expectFatal(tc.code)
			if err := <-e.rejected; wire.ErrorCode(err) != tc.code {
				t.Fatalf("rejected with %v", err)
			}
			if err := <-e.closed; err == nil {
				t.Fatal("Closed(nil)")
			}
			bystander.write(wire.AppendPing(nil))
			for f := bystander.next(); f.Type != wire.TypePong; f = bystander.next() {
			}
			if st := hs.s.Stats(); st.Violations != 1 {
				t.Fatalf("Violations = %d", st.Violations)
			}
		})
	}
}

func TestServer_HandshakeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newPipeHarness(t, Options{HandshakeTimeout: 20 * time.Millisecond})
		c := hs.dial(t)
		start := time.Now()
		c.write([]byte{0, 0, 0}) // not enough to tell
		c.expectEOF()
		if d := time.Since(start); d != 20*time.Millisecond {
			t.Fatalf("closed after %v, want the handshake timeout, 20ms", d)
		}
	})
}

func TestServer_IdleConnectionsDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hs := newPipeHarness(t, Options{Options: transport.Options{PingInterval: 10 * time.Millisecond}})
		c := hs.dial(t)
		c.hello()
		e := hs.session(t)
		c.next() // the HELLO echoed
		if f := c.next(); f.Type != wire.TypePing {
			t.Fatalf("got %v, want PING", f.Type)
		}
		if err := <-e.closed; !errors.Is(err, transport.ErrIdle) {
			t.Fatalf("Closed(%v)", err)
		}
		if n := hs.s.Stats().IdleClosed; n != 1 {
			t.Fatalf("IdleClosed = %d", n)
		}
	})
}

func TestServer_SlowConsumer(t *testing.T) {
	hs := newHarness(t, Options{Options: transport.Options{MaxPendingBytes: 64 << 10}})
	c := hs.dial(t)
	c.hello() // and never read
	e := hs.session(t)
	frame := make([]byte, 16<<10)
	var err error
	for i := 0; err == nil && i < 1<<16; i++ {
		err = e.c.SendHead(frame[:10], frame)
	}
	if !errors.Is(err, transport.ErrSlowConsumer) {
		t.Fatalf("Send: %v", err)
	}
	if err := <-e.closed; !errors.Is(err, transport.ErrSlowConsumer) {
		t.Fatalf("Closed(%v)", err)
	}
	if err := e.c.Send(frame); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("Send after drop: %v", err)
	}
	if n := hs.s.Stats().SlowConsumers; n != 1 {
		t.Fatalf("SlowConsumers = %d", n)
	}
}

func TestServer_ShutdownFlushesThenCloses(t *testing.T) {
	hs := newHarness(t, Options{})
	c := hs.dial(t)
	c.hello()
	e := hs.session(t)
	c.next()
	const n = 1000
	ping := wire.AppendPing(nil)
	for range n {
		if err := e.c.Send(ping); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- hs.s.Shutdown(context.Background()) }()
	for i := range n {
		if f := c.next(); f.Type != wire.TypePing {
			t.Fatalf("frame %d: %v", i, f.Type)
		}
	}
	c.expectFatal(wire.CodeUnavailable)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.closed; !errors.Is(err, transport.ErrShutdown) {
		t.Fatalf("Closed(%v)", err)
	}
}

func TestServer_ShutdownContextDropsStragglers(t *testing.T) {
	hs := newHarness(t, Options{Options: transport.Options{CloseTimeout: time.Hour}})
	c := hs.dial(t)
	c.hello() // and never closes
	e := hs.session(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := hs.s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-e.closed; !errors.Is(err, transport.ErrShutdown) {
		t.Fatalf("Closed(%v)", err)
	}
}

func TestServer_MaxConnections(t *testing.T) {
	hs := newHarness(t, Options{Options: transport.Options{MaxConnections: 1}})
	c := hs.dial(t)
	c.hello()
	hs.session(t)
	hs.dial(t).expectFatal(wire.CodeLimit)
	if n := hs.s.Stats().Rejected; n != 1 {
		t.Fatalf("Rejected = %d", n)
	}
}

func TestServer_PanicEndsOnlyItsConnection(t *testing.T) {
	hs := newHarness(t, Options{})
	c, other := hs.dial(t), hs.dial(t)
	c.hello()
	e := hs.session(t)
	other.hello()
	hs.session(t)
	c.next()
	c.send(pub("panic"))
	c.expectFatal(wire.CodeInternal)
	if err := <-e.closed; err == nil {
		t.Fatal("Closed(nil)")
	}
	other.next()
	other.send(pub("still/here"))
	if f := other.next(); string(f.Publish.Topic) != "still/here" {
		t.Fatalf("got %v", f.Type)
	}
}
