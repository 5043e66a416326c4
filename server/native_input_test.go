package server

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestNative_BadInput sends every kind of refused frame from one
// connection, per transport, and checks that each gets its answer, that
// the connection stays usable and that a bystander never notices.
func TestNative_BadInput(t *testing.T) {
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) { testBadInput(t, transport) })
	}
}

func testBadInput(t *testing.T, transport string) {
	ts := newTestServer(t, func(c *config.Config) { c.Server.MaxSubscriptions = 2 })
	bystander := ts.nativeAuthed(t, "tcp", "admin")
	bystander.subscribe(1, "#", wire.AtMostOnce, wire.Resume{})

	c := ts.dialNative(t, transport, nil, 0)
	c.publish(wire.Publish{Topic: []byte("a"), Payload: []byte("x")})
	c.expectError(wire.CodeUnauthorized, false, wire.TypePublish)
	c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte("not.a.jwt")}})
	c.expectError(wire.CodeUnauthorized, false, wire.TypeAuth)
	c.send(&wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: []byte("alice"), Password: []byte("wrong")}})
	c.expectError(wire.CodeUnauthorized, false, wire.TypeLogin)
	c.send(&wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: []byte("alice"), Password: []byte("alice-pw")}})
	c.expect(wire.TypeAuthOK)

	subAck := func(sid uint32, pattern string, code wire.Code) {
		t.Helper()
		c.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: sid, Topic: []byte(pattern)}})
		if a := c.expect(wire.TypeSubAck).SubAck; a.SID != sid || a.Code != code || (code != 0) != strings.HasPrefix(string(a.Text), "whispeer: ") {
			t.Fatalf("SUB %q: SUBACK %+v %q, want %v", pattern, a, a.Text, code)
		}
	}
	subAck(1, "#", wire.CodeForbidden) // alice may subscribe to chat/# only
	subAck(1, "chat/#/x", wire.CodeInvalid)
	subAck(1, "chat/bob", wire.CodeOK)
	subAck(1, "chat/eve", wire.CodeConflict) // sid 1 is in use
	subAck(2, "chat/bob", wire.CodeOK)       // the same topic on another sid is fine
	subAck(3, "chat/eve", wire.CodeLimit)    // max_subscriptions
	c.send(&wire.Frame{Type: wire.TypeUnsubscribe, Unsubscribe: wire.Unsubscribe{SID: 9}})
	c.expectError(wire.CodeNotFound, false, wire.TypeUnsubscribe)

	pubs := []struct {
		name string
		pub  wire.Publish
		ack  wire.Type // the acknowledgement answering it, or 0 for an ERROR
		code wire.Code
	}{
		{"forbidden", wire.Publish{Topic: []byte("chat/bob"), Payload: []byte("x")}, 0, wire.CodeForbidden},
		{"forbidden at QoS 1", wire.Publish{QoS: 1, Topic: []byte("chat/bob"), ID: []byte("f1"), Payload: []byte("x")}, wire.TypePubAck, wire.CodeForbidden},
		{"wildcard", wire.Publish{Topic: []byte("chat/+"), Payload: []byte("x")}, 0, wire.CodeInvalid},
		{"QoS 2", wire.Publish{QoS: 2, Topic: []byte("chat/alice"), ID: []byte("q2"), Payload: []byte("x")}, wire.TypePubRec, wire.CodeInvalid},
		{"not an envelope", wire.Publish{Envelope: true, Topic: []byte("chat/alice"), Payload: []byte("x")}, 0, wire.CodeInvalid},
	}
	for _, p := range pubs {
		c.publish(p.pub)
		if p.ack == 0 {
			c.expectError(p.code, false, wire.TypePublish)
			continue
		}
		if a := c.expect(p.ack).Ack; a.Code != p.code || a.SID != 0 || string(a.ID) != string(p.pub.ID) {
			t.Fatalf("%s: %v %+v", p.name, p.ack, a)
		}
	}
	c.send(&wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{ID: []byte("x")}}) // sid 0
	c.expectError(wire.CodeInvalid, false, wire.TypePubAck)
	c.send(&wire.Frame{Type: wire.TypePubRel, Ack: wire.Ack{SID: 1, ID: []byte("x")}})
	c.expectError(wire.CodeInvalid, false, wire.TypePubRel)
	c.send(&wire.Frame{Type: wire.TypeMessage, Message: wire.Message{SID: 1, Topic: []byte("a")}})
	c.expectError(wire.CodeInvalid, false, wire.TypeMessage)
	c.sync()

	c.publish(wire.Publish{Topic: []byte("chat/alice"), Payload: []byte("still here")})
	bystander.expectMessage(1, "chat/alice", "still here") // and nothing of the errors
	c.send(&wire.Frame{Type: wire.TypeHello, Hello: wire.Hello{Version: 1}})
	c.expectError(wire.CodeInvalid, true, wire.TypeHello)
	c.expectEnd()
	bystander.sync()
}

// drainSessions discards the sessions of the connections made from now
// on, for tests that do not look at them.
func (ts *testServer) drainSessions(t *testing.T) {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-ts.sessions:
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done) })
}

// rawTCP connects to the native port without a client.
func (ts *testServer) rawTCP(t *testing.T) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", ts.tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc, bufio.NewReader(nc)
}

func hello(version uint8) []byte {
	b, _ := wire.AppendHello(nil, &wire.Hello{Version: wire.Version})
	b[9] = version
	return b
}

func TestNative_MalformedFromRawSocket(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Server.MaxMessageBytes = 1 << 10 })
	bystander := ts.nativeAuthed(t, "tcp", "admin")
	bystander.subscribe(1, "#", wire.AtMostOnce, wire.Resume{})
	ts.drainSessions(t)
	frame := func(length uint32, rest ...byte) []byte {
		return append(binary.BigEndian.AppendUint32(nil, length), rest...)
	}
	cases := []struct {
		name  string
		bytes []byte
		want  string // the start of the answer
		code  wire.Code
	}{
		{"garbage first bytes", []byte("\x7fELF\x02\x01\x01\x00\x00\x00"), "", wire.CodeInvalid},
		{"HTTP", []byte("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"), "HTTP/1.1 400 Bad Request", 0},
		{"PopSub JSON", []byte(`{"type":"auth","token":"x"}`), `{"type":"error"`, 0},
		{"TLS on the plain port", []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"), "", 0},
		{"HELLO of version 0", hello(0), "", wire.CodeInvalid},
		{"oversized", append(hello(1), frame(1<<20, byte(wire.TypePublish))...), "", wire.CodeTooLarge},
		{"bad length", append(hello(1), frame(0)...), "", wire.CodeInvalid},
		{"unknown type", append(hello(1), frame(1, 0x3f)...), "", wire.CodeInvalid},
		{"truncated field", append(hello(1), frame(6, byte(wire.TypeSubscribe), 0, 0, 0, 1, 0)...), "", wire.CodeInvalid},
		{"reserved flags", append(hello(1), frame(5, byte(wire.TypePublish), 0x80, 0, 1, 'a')...), "", wire.CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nc, br := ts.rawTCP(t)
			if _, err := nc.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			answer, err := io.ReadAll(br)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !strings.HasPrefix(string(answer), tc.want) {
				t.Fatalf("answer %q, want %q…", answer, tc.want)
			}
			if tc.code != 0 {
				checkFatal(t, answer, tc.code)
			}
		})
	}
	bystander.publish(wire.Publish{Topic: []byte("after"), Payload: []byte("fine")})
	bystander.expectMessage(1, "after", "fine")
	if st := ts.Stats().TCP; st.Refused != 4 || st.Violations != 6 {
		t.Fatalf("TCP stats %+v", st)
	}
}

// checkFatal checks that answer ends with a fatal ERROR with code, after a
// WELCOME or nothing.
func checkFatal(t *testing.T, answer []byte, code wire.Code) {
	t.Helper()
	var f wire.Frame
	for len(answer) > 0 {
		n, err := f.Parse(answer)
		if err != nil {
			t.Fatalf("answer %q: %v", answer, err)
		}
		answer = answer[n:]
	}
	if f.Type != wire.TypeError || !f.Error.Fatal || f.Error.Code != code {
		t.Fatalf("last frame %v %+v %q, want a fatal ERROR %v", f.Type, f.Error, f.Error.Text, code)
	}
}

func TestNative_WebSocketViolations(t *testing.T) {
	ts := newTestServer(t, nil)
	bystander := ts.nativeAuthed(t, "ws", "admin")
	cases := []struct {
		name string
		msgs [][]byte // binary messages, then text ones after "text:"
		code wire.Code
	}{
		{"first frame not HELLO", [][]byte{wire.AppendPing(nil)}, wire.CodeInvalid},
		{"frame past its message", [][]byte{hello(1)[:12]}, wire.CodeInvalid},
		{"text after binary", [][]byte{hello(1), []byte("text:{}")}, wire.CodeInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := readCtx()
			defer cancel()
			c, _, err := websocket.Dial(ctx, ts.url, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.CloseNow()
			<-ts.sessions
			for _, m := range tc.msgs {
				typ := websocket.MessageBinary
				if s, ok := strings.CutPrefix(string(m), "text:"); ok {
					typ, m = websocket.MessageText, []byte(s)
				}
				if err := c.Write(ctx, typ, m); err != nil {
					t.Fatal(err)
				}
			}
			var last []byte
			for {
				_, data, err := c.Read(ctx)
				if err != nil {
					if s := websocket.CloseStatus(err); s != websocket.StatusPolicyViolation {
						t.Fatalf("close %v, want 1008", err)
					}
					break
				}
				last = data
			}
			checkFatal(t, last, tc.code)
		})
	}
	bystander.sync()
}
