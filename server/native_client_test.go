package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// newTLSTestServer is newTestServer with TLS on both listeners, a
// certificate made for the test, and the pool that trusts it.
func newTLSTestServer(t *testing.T, edit func(*config.Config)) (*testServer, *x509.CertPool) {
	t.Helper()
	certFile, keyFile, pool := selfSigned(t)
	ts := newTestServer(t, func(c *config.Config) {
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
		if edit != nil {
			edit(c)
		}
	})
	return ts, pool
}

// nclient is a minimal native protocol client written from protocol/wire,
// over TCP or WebSocket, with TLS when pool is set.
type nclient struct {
	t       testing.TB
	sess    *session // its session on the server
	nc      net.Conn // TCP
	r       *wire.Reader
	ws      *websocket.Conn // WebSocket
	pending []byte          // the rest of a WebSocket message
	f       wire.Frame
	welcome wire.Welcome // Session and Server are not kept
}

// dialNative connects over transport, "tcp" or "ws", says HELLO asking for
// caps, and reads the WELCOME.
func (ts *testServer) dialNative(t testing.TB, transport string, pool *x509.CertPool, caps wire.Caps) *nclient {
	t.Helper()
	return ts.dialHello(t, transport, pool, wire.Hello{Version: wire.Version, Caps: caps, Name: []byte("test")})
}

// dialHello is dialNative with the HELLO h.
func (ts *testServer) dialHello(t testing.TB, transport string, pool *x509.CertPool, h wire.Hello) *nclient {
	t.Helper()
	c := &nclient{t: t}
	ctx, cancel := readCtx()
	defer cancel()
	switch transport {
	case "tcp":
		var err error
		switch {
		case pool != nil:
			c.nc, err = tls.Dial("tcp", ts.tcpAddr, &tls.Config{RootCAs: pool})
		case ts.dialTCP != nil:
			c.nc, err = ts.dialTCP()
		default:
			c.nc, err = net.Dial("tcp", ts.tcpAddr)
		}
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { c.nc.Close() })
		c.r = wire.NewReader(bufio.NewReader(c.nc), wire.MaxFrameSize)
	case "ws":
		opts := &websocket.DialOptions{HTTPClient: ts.http}
		if pool != nil {
			opts = &websocket.DialOptions{HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
		}
		ws, _, err := websocket.Dial(ctx, ts.url, opts)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		ws.SetReadLimit(-1)
		c.ws = ws
		t.Cleanup(func() { ws.CloseNow() })
	}
	c.send(&wire.Frame{Type: wire.TypeHello, Hello: h})
	select {
	case c.sess = <-ts.sessions:
	case <-ctx.Done():
		t.Fatal("no session for the connection")
	}
	f := c.expect(wire.TypeWelcome)
	c.welcome = f.Welcome
	c.welcome.Session, c.welcome.Server = nil, nil
	return c
}

// nativeAuthed connects and authenticates as user with a token made by the
// server's issuer.
func (ts *testServer) nativeAuthed(t testing.TB, transport string, user string) *nclient {
	t.Helper()
	c := ts.dialNative(t, transport, nil, wire.CapE2E)
	token, err := ts.issuer.Issue(user)
	if err != nil {
		t.Fatal(err)
	}
	c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
	c.expect(wire.TypeAuthOK)
	return c
}

// write writes raw bytes: a TCP stream's bytes, or one WebSocket message.
func (c *nclient) write(b []byte) {
	c.t.Helper()
	var err error
	if c.ws != nil {
		ctx, cancel := readCtx()
		defer cancel()
		err = c.ws.Write(ctx, websocket.MessageBinary, b)
	} else {
		c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_, err = c.nc.Write(b)
	}
	if err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send writes one frame.
func (c *nclient) send(f *wire.Frame) {
	c.t.Helper()
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		c.t.Fatalf("encode %v: %v", f.Type, err)
	}
	c.write(b)
}

// next reads the next frame, valid until the next call.
func (c *nclient) next() (*wire.Frame, error) {
	if c.ws == nil {
		c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		return c.r.Next()
	}
	if len(c.pending) == 0 {
		ctx, cancel := readCtx()
		defer cancel()
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			return nil, err
		}
		if typ != websocket.MessageBinary {
			return nil, errors.New("text message on a native connection: " + string(data))
		}
		c.pending = data
	}
	n, err := c.f.Parse(c.pending)
	if err != nil {
		return nil, err
	}
	c.pending = c.pending[n:]
	return &c.f, nil
}

// expect reads the next frame and checks its type.
func (c *nclient) expect(t wire.Type) *wire.Frame {
	c.t.Helper()
	f, err := c.next()
	if err != nil {
		c.t.Fatalf("read, want %v: %v", t, err)
	}
	if f.Type != t {
		c.t.Fatalf("got %v %+v, want %v", f.Type, describe(f), t)
	}
	return f
}

// describe returns the interesting member of f, for failure messages.
func describe(f *wire.Frame) any {
	switch f.Type {
	case wire.TypeError:
		return string(f.Error.Text)
	case wire.TypeSubAck:
		return f.SubAck
	case wire.TypeMessage:
		return string(f.Message.Topic) + " " + string(f.Message.Payload)
	case wire.TypePubAck, wire.TypePubRec:
		return f.Ack
	}
	return nil
}

// expectError reads an ERROR with code, fatal or not, answering ref.
func (c *nclient) expectError(code wire.Code, fatal bool, ref wire.Type) string {
	c.t.Helper()
	f := c.expect(wire.TypeError)
	if f.Error.Code != code || f.Error.Fatal != fatal || f.Error.Ref != ref {
		c.t.Fatalf("ERROR %v fatal=%v ref=%v %q, want %v fatal=%v ref=%v", f.Error.Code, f.Error.Fatal, f.Error.Ref, f.Error.Text, code, fatal, ref)
	}
	return string(f.Error.Text)
}

// expectEnd reads until the connection ends, failing on any frame.
func (c *nclient) expectEnd() {
	c.t.Helper()
	f, err := c.next()
	if err == nil {
		c.t.Fatalf("got %v %v, want the end of the connection", f.Type, describe(f))
	}
	if c.ws == nil && !errors.Is(err, io.EOF) {
		c.t.Fatalf("want the end of the stream, got %v", err)
	}
}

// subscribe subscribes and checks the SUBACK.
func (c *nclient) subscribe(sid uint32, pattern string, qos wire.QoS, resume wire.Resume) wire.SubAck {
	c.t.Helper()
	c.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: sid, QoS: qos, Resume: resume, Topic: []byte(pattern)}})
	f := c.expect(wire.TypeSubAck)
	if f.SubAck.SID != sid || f.SubAck.Code != wire.CodeOK {
		c.t.Fatalf("SUBACK %+v %q", f.SubAck, f.SubAck.Text)
	}
	return f.SubAck
}

// publish sends a PUB.
func (c *nclient) publish(p wire.Publish) {
	c.t.Helper()
	c.send(&wire.Frame{Type: wire.TypePublish, Publish: p})
}

// msg is a received MSG, copied out of the read buffer.
type msg struct {
	wire.Message
	topic, id, payload string
	headers            map[string]string
	rawHeaders         string // the headers' wire form
}

// expectMessage reads a MSG on sid with topic and payload.
func (c *nclient) expectMessage(sid uint32, topic, payload string) msg {
	c.t.Helper()
	f := c.expect(wire.TypeMessage)
	m := msg{Message: f.Message, topic: string(f.Message.Topic), id: string(f.Message.ID),
		payload: string(f.Message.Payload), headers: f.Message.Headers.Map(),
		rawHeaders: string(f.Message.Headers.Encoded())}
	m.Topic, m.ID, m.Payload, m.Headers = nil, nil, nil, wire.Headers{}
	if m.SID != sid || m.topic != topic || m.payload != payload {
		c.t.Fatalf("MSG sid %d %q %q, want sid %d %q %q", m.SID, m.topic, m.payload, sid, topic, payload)
	}
	return m
}

// ack acknowledges a delivery.
func (c *nclient) ack(sid uint32, id string) {
	c.t.Helper()
	c.send(&wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: sid, ID: []byte(id)}})
}

// sync makes a PING round trip: every frame sent before it has been
// handled once the PONG arrives, and nothing else was sent in between.
func (c *nclient) sync() {
	c.t.Helper()
	c.write(wire.AppendPing(nil))
	c.expect(wire.TypePong)
}
