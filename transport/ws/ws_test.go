package ws

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	gws "github.com/gobwas/ws"
	"github.com/whispeer-io/whispeer/internal/pipetest"
	"github.com/whispeer-io/whispeer/transport"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echo is a Session that sends every message back and records how the
// connection ended.
type echo struct {
	c        *transport.Conn
	closed   chan error
	rejected chan error
}

func (e *echo) Receive(t MessageType, data []byte) {
	if string(data) == "panic" {
		panic("echo: asked to panic")
	}
	e.c.Send(AppendFrame(nil, t, data))
}
func (e *echo) Closed(err error) { e.closed <- err }
func (e *echo) Reject(err error) {
	e.rejected <- err
	e.c.Send(AppendFrame(nil, Text, []byte("rejected: "+err.Error())))
}

var _ Rejecter = (*echo)(nil)

// harness runs a Handler behind an httptest server and collects the
// sessions it creates.
type harness struct {
	h        *Handler
	srv      *httptest.Server
	sessions chan *echo
	pipe     *pipetest.Listener // set by newPipeHarness
}

func newHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	return startHarness(t, opts, nil)
}

// newPipeHarness is newHarness on net.Pipe connections; run it inside
// synctest.Test.
func newPipeHarness(t *testing.T, opts Options) *harness {
	t.Helper()
	return startHarness(t, opts, pipetest.NewListener())
}

// startHarness serves on pl, or on a loopback port when pl is nil.
func startHarness(t *testing.T, opts Options, pl *pipetest.Listener) *harness {
	t.Helper()
	hs := &harness{sessions: make(chan *echo, 16), pipe: pl}
	hs.h = NewHandler(func(c *transport.Conn) Session {
		e := &echo{c: c, closed: make(chan error, 1), rejected: make(chan error, 1)}
		hs.sessions <- e
		return e
	}, opts)
	if pl == nil {
		hs.srv = httptest.NewServer(hs.h)
	} else {
		hs.srv = &httptest.Server{Listener: pl, Config: &http.Server{Handler: hs.h}}
		hs.srv.Start()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := hs.h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.srv.Close()
	})
	return hs
}

func (hs *harness) url() string { return "ws" + strings.TrimPrefix(hs.srv.URL, "http") }

// dial connects a coder/websocket client.
func (hs *harness) dial(t *testing.T) *websocket.Conn {
	t.Helper()
	c, _, err := websocket.Dial(context.Background(), hs.url(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// dialRaw connects with gobwas and returns the raw connection for writing
// hand-made frames.
func (hs *harness) dialRaw(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	var d gws.Dialer
	if hs.pipe != nil {
		d.NetDial = hs.pipe.DialContext
	}
	nc, br, _, err := d.Dial(context.Background(), hs.url())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	if br == nil {
		br = bufio.NewReader(nc)
	}
	return nc, br
}

func (hs *harness) session(t *testing.T) *echo {
	t.Helper()
	select {
	case e := <-hs.sessions:
		return e
	case <-time.After(5 * time.Second):
		t.Fatal("no session")
		return nil
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// maskedFrame returns a client frame.
func maskedFrame(op gws.OpCode, fin bool, payload []byte) []byte {
	f := gws.NewFrame(op, fin, append([]byte(nil), payload...))
	return gws.MustCompileFrame(gws.MaskFrameInPlace(f))
}

func TestHandler_Echo(t *testing.T) {
	hs := newHarness(t, Options{})
	c := hs.dial(t)
	ctx := testCtx(t)
	big := bytes.Repeat([]byte("0123456789"), 30000) // many read buffers
	cases := []struct {
		name string
		typ  websocket.MessageType
		data []byte
	}{
		{name: "text", typ: websocket.MessageText, data: []byte(`{"type":"ping"}`)},
		{name: "binary", typ: websocket.MessageBinary, data: []byte{0, 1, 2, 255}},
		{name: "empty", typ: websocket.MessageText, data: []byte{}},
		{name: "126 bytes", typ: websocket.MessageText, data: bytes.Repeat([]byte("a"), 126)},
		{name: "64 KiB", typ: websocket.MessageText, data: bytes.Repeat([]byte("b"), 65536)},
		{name: "300 KB", typ: websocket.MessageBinary, data: big},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := c.Write(ctx, tc.typ, tc.data); err != nil {
				t.Fatal(err)
			}
			typ, got, err := c.Read(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if typ != tc.typ || !bytes.Equal(got, tc.data) {
				t.Fatalf("got %v %d bytes, want %v %d bytes", typ, len(got), tc.typ, len(tc.data))
			}
		})
	}
}

func TestHandler_PipelinedAndFragmented(t *testing.T) {
	hs := newHarness(t, Options{})
	nc, br := hs.dialRaw(t)
	var out []byte
	for i := range 200 {
		out = append(out, maskedFrame(gws.OpText, true, []byte{'a' + byte(i%26)})...)
	}
	out = append(out, maskedFrame(gws.OpText, false, []byte("frag"))...)
	out = append(out, maskedFrame(gws.OpPing, true, []byte("p"))...) // control frame between fragments
	out = append(out, maskedFrame(gws.OpContinuation, false, []byte("men"))...)
	out = append(out, maskedFrame(gws.OpContinuation, true, []byte("ted"))...)
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		f := readFrame(t, br)
		if f.Header.OpCode != gws.OpText || string(f.Payload) != string(rune('a'+i%26)) {
			t.Fatalf("frame %d: %v %q", i, f.Header.OpCode, f.Payload)
		}
	}
	if f := readFrame(t, br); f.Header.OpCode != gws.OpPong || string(f.Payload) != "p" {
		t.Fatalf("want pong p, got %v %q", f.Header.OpCode, f.Payload)
	}
	if f := readFrame(t, br); string(f.Payload) != "fragmented" {
		t.Fatalf("reassembled %q", f.Payload)
	}
}

func readFrame(t *testing.T, br *bufio.Reader) gws.Frame {
	t.Helper()
	f, err := gws.ReadFrame(br)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return f
}

// readClose reads frames until a close frame and returns its code.
func readClose(t *testing.T, br *bufio.Reader) (CloseCode, [][]byte) {
	t.Helper()
	var data [][]byte
	for {
		f := readFrame(t, br)
		if f.Header.OpCode == gws.OpClose {
			return CloseCode(binary.BigEndian.Uint16(f.Payload)), data
		}
		data = append(data, f.Payload)
	}
}

func TestHandler_Violations(t *testing.T) {
	cases := []struct {
		name     string
		frame    []byte
		code     CloseCode
		rejected error
	}{
		{
			name:     "too large",
			frame:    maskedFrame(gws.OpText, true, make([]byte, 2000)),
			code:     CloseTooBig,
			rejected: ErrMessageTooLarge,
		},
		{
			name:  "unmasked",
			frame: gws.MustCompileFrame(gws.NewTextFrame([]byte("hi"))),
			code:  CloseProtocolError,
		},
		{
			name:  "not UTF-8",
			frame: maskedFrame(gws.OpText, true, []byte{0xff, 0xfe}),
			code:  CloseInvalidPayload,
		},
		{
			name:  "reserved opcode",
			frame: maskedFrame(gws.OpCode(3), true, nil),
			code:  CloseProtocolError,
		},
		{
			name:  "stray continuation",
			frame: maskedFrame(gws.OpContinuation, true, []byte("x")),
			code:  CloseProtocolError,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, Options{MaxMessageBytes: 1000})
			nc, br := hs.dialRaw(t)
			e := hs.session(t)
			if _, err := nc.Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			code, data := readClose(t, br)
			if code != tc.code {
				t.Fatalf("close code %d, want %d", code, tc.code)
			}
			if tc.rejected != nil {
				if err := <-e.rejected; !errors.Is(err, tc.rejected) {
					t.Fatalf("rejected with %v", err)
				}
				if len(data) != 1 || !strings.HasPrefix(string(data[0]), "rejected: ") {
					t.Fatalf("want the session's answer before the close, got %q", data)
				}
			}
			nc.Close()
			if err := <-e.closed; err == nil {
				t.Fatal("Closed(nil)")
			}
		})
	}
}

func TestHandler_PanicEndsOnlyItsConnection(t *testing.T) {
	hs := newHarness(t, Options{Options: transport.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}})
	c := hs.dial(t)
	e := hs.session(t) // c's: the other connection is dialled after it
	other := hs.dial(t)
	hs.session(t)
	ctx := testCtx(t)
	if err := c.Write(ctx, websocket.MessageText, []byte("panic")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusInternalError {
		t.Fatalf("want close 1011, got %v", err)
	}
	if err := <-e.closed; err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("Closed(%v)", err)
	}
	if err := other.Write(ctx, websocket.MessageText, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if _, data, err := other.Read(ctx); err != nil || string(data) != "still here" {
		t.Fatalf("%q, %v", data, err)
	}
}

func TestHandler_ClientClose(t *testing.T) {
	hs := newHarness(t, Options{})
	c := hs.dial(t)
	e := hs.session(t)
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatalf("close handshake: %v", err)
	}
	var ce *CloseError
	if err := <-e.closed; !errors.As(err, &ce) || ce.Code != CloseNormal || ce.Reason != "bye" {
		t.Fatalf("Closed(%v)", err)
	}
}

func TestHandler_HandshakeAndFrameInOneWrite(t *testing.T) {
	hs := newHarness(t, Options{})
	nc, err := net.Dial("tcp", hs.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := nc.Write(append([]byte(req), maskedFrame(gws.OpText, true, []byte("early"))...)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	if f := readFrame(t, br); string(f.Payload) != "early" {
		t.Fatalf("got %q", f.Payload)
	}
}

func TestHandler_MaxConnections(t *testing.T) {
	hs := newHarness(t, Options{Options: transport.Options{MaxConnections: 2}})
	hs.dial(t)
	hs.dial(t)
	_, resp, err := websocket.Dial(context.Background(), hs.url(), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v %v", resp, err)
	}
	if got := hs.h.Stats().Rejected; got != 1 {
		t.Fatalf("Rejected = %d", got)
	}
}
