package server

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// pipeListener is a net.Listener of in-memory connections: each dial
// hands the server one end of a net.Pipe.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client's end of a new connection, and a channel closed
// once the server has closed its end.
func (l *pipeListener) dial() (net.Conn, <-chan struct{}) {
	server, client := net.Pipe()
	sc := &signalConn{Conn: server, closed: make(chan struct{})}
	l.conns <- sc
	return client, sc.closed
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// signalConn closes closed when the server closes the connection.
type signalConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *signalConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}

// FuzzNativeSession feeds arbitrary bytes to a native session, as a TCP
// client would send them. An input whose first byte is even is sent after
// a HELLO and an AUTH, so that the fuzzer explores the authenticated
// protocol; an odd one is sent as it is, sniffing included. The server must
// neither panic (a recovered panic is logged, and fails the input) nor keep
// anything of the connection once it ends.
func FuzzNativeSession(f *testing.F) {
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	ts := newTestServer(f, func(c *config.Config) {
		c.Server.MaxMessageBytes = 4 << 10
		c.Server.MaxSubscriptions = 8
		c.Replay.Size = 4
	})
	ln := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- ts.ServeTCP(ln) }()
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ts.Shutdown(ctx)
		<-served
	})
	ts.hooks.session = nil // sessions are not awaited here
	token, err := ts.issuer.Issue("admin")
	if err != nil {
		f.Fatal(err)
	}
	prelude, _ := wire.AppendHello(nil, &wire.Hello{Version: wire.Version, Caps: wire.CapE2E})
	prelude, _ = wire.AppendAuth(prelude, &wire.Auth{Token: []byte(token)})

	f.Fuzz(func(t *testing.T, data []byte) {
		var in []byte
		if len(data) > 0 && data[0]%2 == 0 {
			in = append(append(in, prelude...), data[1:]...)
		} else if len(data) > 0 {
			in = data[1:]
		}
		runPipe(ln, in)
		if logs := ts.logs.String(); strings.Contains(logs, "panic serving a connection") {
			t.Fatalf("the session panicked:\n%s", logs)
		}
	})
}

// runPipe sends in over a new connection, reading whatever the server
// answers, then closes it and waits until the server has let go of it.
func runPipe(ln *pipeListener, in []byte) {
	c, serverClosed := ln.dial()
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(io.Discard, c) })
	wg.Go(func() {
		c.Write(in) // fails once the server has closed
		c.Close()
	})
	<-serverClosed
	c.Close()
	wg.Wait()
}

// fuzzSeeds are inputs that reach every frame type and the refusals; the
// committed corpus in testdata/fuzz/FuzzNativeSession holds more.
func fuzzSeeds() [][]byte {
	auth := func(frames ...*wire.Frame) []byte {
		b := []byte{0}
		for _, f := range frames {
			b, _ = wire.AppendFrame(b, f)
		}
		return b
	}
	raw := func(s string) []byte { return append([]byte{1}, s...) }
	h, _ := wire.MakeHeaders("k", "v")
	return [][]byte{
		auth(&wire.Frame{Type: wire.TypePing}),
		auth(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 1, QoS: 1, Resume: wire.Resume{Mode: wire.ResumeLast, Last: 3}, Topic: []byte("a/#")}},
			&wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{QoS: 1, Topic: []byte("a/b"), ID: []byte("1"), Headers: h, Payload: []byte("x")}},
			&wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: 1, ID: []byte("1")}},
			&wire.Frame{Type: wire.TypeUnsubscribe, Unsubscribe: wire.Unsubscribe{SID: 1}}),
		auth(&wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{QoS: 2, Topic: []byte("a"), ID: []byte("2")}}),
		auth(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 2, Resume: wire.Resume{Mode: wire.ResumeOffset, Epoch: 1, Offset: 2}, Topic: []byte("a")}}),
		auth(&wire.Frame{Type: wire.TypeError, Error: wire.Error{Code: wire.CodeInternal, Fatal: true, Text: []byte("bye")}}),
		append(auth(), 0, 0, 0, 9, byte(wire.TypePublish)),
		raw("GET / HTTP/1.1\r\n\r\n"),
		raw(`{"type":"ping"}`),
		raw("\x16\x03\x01"),
		append(raw(string(hello(1))), auth(&wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{Topic: []byte("a")}})[1:]...),
	}
}
