package client_test

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/internal/pipetest"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// rawServer is a TCP server whose every connection is served by a
// function of the test: a way to send the client bytes no real server
// would.
type rawServer struct {
	ln    net.Listener
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

// newRawServer serves the n-th connection (from 0) with serve; the
// connection is closed when serve returns or the test ends.
func newRawServer(t testing.TB, serve func(n int, c net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveRaw(t, ln, serve)
	return "tcp://" + ln.Addr().String()
}

// newRawPipeServer is newRawServer on in-memory connections, for a test in
// a synctest bubble; it returns the option that connects a client to it.
func newRawPipeServer(t testing.TB, serve func(n int, c net.Conn)) (string, client.Option) {
	t.Helper()
	ln := pipetest.NewListener()
	serveRaw(t, ln, serve)
	return "tcp://pipe", client.WithDialer(ln.DialContext)
}

// serveRaw accepts connections on ln and serves the n-th with serve until
// the test ends.
func serveRaw(t testing.TB, ln net.Listener, serve func(n int, c net.Conn)) {
	s := &rawServer{ln: ln}
	s.wg.Go(func() {
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Go(func() {
				defer c.Close()
				serve(n, c)
			})
		}
	})
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
}

// greet reads the client's HELLO and answers with a WELCOME.
func greet(c net.Conn) *wire.Reader {
	rd := wire.NewReader(c, 0)
	if f, err := rd.Next(); err != nil || f.Type != wire.TypeHello {
		return nil
	}
	b, _ := wire.AppendWelcome(nil, &wire.Welcome{Version: 1, Caps: wire.CapResume, MaxFrame: 1 << 20})
	if _, err := c.Write(b); err != nil {
		return nil
	}
	return rd
}

// drain reads until the connection ends, answering PINGs.
func drain(c net.Conn, rd *wire.Reader) {
	for rd != nil {
		f, err := rd.Next()
		if err != nil {
			return
		}
		if f.Type == wire.TypePing {
			c.Write(wire.AppendPong(nil))
		}
	}
}

func frame(typ wire.Type, body ...byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
	return append(append(b, byte(typ)), body...)
}

func msgWithSID0() []byte {
	b, _ := wire.AppendMessage(nil, &wire.Message{SID: 1, Offset: 1, Topic: []byte("t"), Payload: []byte("p")})
	binary.BigEndian.PutUint32(b[6:], 0)
	return b
}

func TestClient_MalformedFrames(t *testing.T) {
	welcome, _ := wire.AppendWelcome(nil, &wire.Welcome{Version: 1})
	hello, _ := wire.AppendHello(nil, &wire.Hello{Version: 1})
	pubAckForSub, _ := wire.AppendAck(nil, wire.TypePubAck, &wire.Ack{SID: 3, ID: []byte("x")})
	for _, tc := range []struct {
		name string
		junk []byte
		want error
	}{
		{"unknown type", frame(0x7f), wire.ErrUnknownType},
		{"zero length", []byte{0, 0, 0, 0}, wire.ErrTruncated},
		{"over the frame limit", binary.BigEndian.AppendUint32(nil, 1<<30), wire.ErrTooLarge},
		{"trailing bytes", frame(wire.TypePong, 0), wire.ErrTrailing},
		{"truncated SUBACK", frame(wire.TypeSubAck, 0, 0, 0, 1), wire.ErrTruncated},
		{"MSG with sid 0", msgWithSID0(), wire.ErrSID},
		{"ERROR with code 0", frame(wire.TypeError, 0, 0, 0, 0, 0), wire.ErrCode},
		{"second WELCOME", welcome, client.ErrProtocol},
		{"server-bound frame", hello, client.ErrProtocol},
		{"PUBACK with a sid", pubAckForSub, client.ErrProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				back := make(chan struct{}, 1)
				url, via := newRawPipeServer(t, func(n int, c net.Conn) {
					rd := greet(c)
					if n == 0 {
						c.Write(tc.junk)
					} else {
						back <- struct{}{}
					}
					drain(c, rd)
				})
				errs := make(chan error, 16)
				dial(t, url, via, errorsTo(errs), fastReconnect)
				err := waitFor(t, errs, func(err error) bool { return errors.Is(err, client.ErrProtocol) })
				if !errors.Is(err, tc.want) {
					t.Fatalf("reported %v, want %v", err, tc.want)
				}
				recv(t, back) // the client reconnected
			})
		})
	}
}

func TestClient_MalformedHandshake(t *testing.T) {
	badVersion, _ := wire.AppendWelcome(nil, &wire.Welcome{Version: 1})
	badVersion[wire.HeaderLen] = 9
	auth, _ := wire.AppendAuthOK(nil, &wire.AuthOK{})
	for _, tc := range []struct {
		name  string
		reply []byte
		want  error
	}{
		{"garbage", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), wire.ErrTooLarge},
		{"AUTHOK before WELCOME", auth, client.ErrProtocol},
		{"unknown version", badVersion, wire.ErrVersion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := newRawServer(t, func(_ int, c net.Conn) {
				rd := wire.NewReader(c, 0)
				if _, err := rd.Next(); err != nil {
					return
				}
				c.Write(tc.reply)
				drain(c, rd)
			})
			_, err := client.Dial(ctxT(t), url, client.WithMaxFrame(1<<20))
			if !errors.Is(err, client.ErrProtocol) || !errors.Is(err, tc.want) {
				t.Fatalf("Dial = %v, want ErrProtocol and %v", err, tc.want)
			}
		})
	}
}

func TestClient_FatalServerError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bye, _ := wire.AppendError(nil, &wire.Error{Code: wire.CodeUnavailable, Fatal: true, Text: []byte("whispeer: shutting down")})
		back := make(chan struct{}, 1)
		url, via := newRawPipeServer(t, func(n int, c net.Conn) {
			rd := greet(c)
			if n == 0 {
				c.Write(bye)
				return
			}
			back <- struct{}{}
			drain(c, rd)
		})
		opts, _, down := events()
		dial(t, url, append(opts, via)...)
		err := recv(t, down)
		var se *client.ServerError
		if !errors.As(err, &se) || !se.Fatal || se.Code != wire.CodeUnavailable || se.Text != "whispeer: shutting down" {
			t.Fatalf("disconnected with %v", err)
		}
		recv(t, back)
	})
}
