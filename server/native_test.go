package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/subopt"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// transports are the four ways a native client reaches the server.
var transports = []struct {
	name, transport string
	tls             bool
}{
	{"tcp", "tcp", false},
	{"tls", "tcp", true},
	{"ws", "ws", false},
	{"wss", "ws", true},
}

func TestNative_Transports(t *testing.T) {
	for _, tc := range transports {
		t.Run(tc.name, func(t *testing.T) {
			var ts *testServer
			var pool *x509.CertPool
			if tc.tls {
				ts, pool = newTLSTestServer(t, nil)
			} else {
				ts = newTestServer(t, nil)
			}
			sub := ts.dialNative(t, tc.transport, pool, wire.CapE2E|wire.CapQoS2|wire.CapResume|wire.CapCompression)
			w := sub.welcome
			if w.Version != wire.Version || w.Caps != wire.CapE2E|wire.CapQoS2|wire.CapResume || w.MaxFrame != 1<<20 || w.PingInterval != 30000 {
				t.Fatalf("WELCOME %+v", w)
			}
			sub.send(&wire.Frame{Type: wire.TypeLogin, Login: wire.Login{User: []byte("admin"), Password: []byte("password")}})
			ok := sub.expect(wire.TypeAuthOK).AuthOK
			if len(ok.Token) == 0 || time.Unix(0, ok.Expires).Before(time.Now().Add(time.Hour)) {
				t.Fatalf("AUTHOK after LOGIN %+v", ok)
			}
			token := string(ok.Token)
			sub.subscribe(1, "chat/#", wire.AtLeastOnce, wire.Resume{})

			pub := ts.dialNative(t, tc.transport, pool, 0)
			pub.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
			if ok := pub.expect(wire.TypeAuthOK).AuthOK; len(ok.Token) != 0 || ok.Expires == 0 {
				t.Fatalf("AUTHOK after AUTH %+v", ok)
			}
			// Unsorted, a key repeated: they reach the subscriber as sent.
			headers, _ := wire.MakeHeaders("trace", "t-0", "content-type", "text/plain", "trace", "t-1")
			payload := strings.Repeat("x", 100000) // several read buffers and TLS records
			pub.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("chat/a"), ID: []byte("m1"), Headers: headers, Payload: []byte(payload)})
			if a := pub.expect(wire.TypePubAck).Ack; a.SID != 0 || a.Code != wire.CodeOK || string(a.ID) != "m1" {
				t.Fatalf("PUBACK %+v", a)
			}
			m := sub.expectMessage(1, "chat/a", payload)
			if m.QoS != wire.AtLeastOnce || m.id != "m1" || m.Offset != 1 || m.Dup || m.Replay || m.Envelope ||
				m.rawHeaders != string(headers.Encoded()) ||
				time.Since(time.Unix(0, m.Time)) > time.Minute {
				t.Fatalf("MSG %+v", m)
			}
			sub.ack(1, "m1")
			sub.sync()
			if n, _ := windowOf(t, sub.sess).len(); n != 0 {
				t.Fatalf("%d copies in flight after the ack", n)
			}
			sub.send(&wire.Frame{Type: wire.TypeUnsubscribe, Unsubscribe: wire.Unsubscribe{SID: 1}})
			sub.sync()
			pub.publish(wire.Publish{Topic: []byte("chat/a"), Payload: []byte("after")})
			pub.sync()
			sub.sync() // nothing after the UNSUB
		})
	}
}

func TestNative_JSONInterop(t *testing.T) {
	ts := newTestServer(t, nil)
	js := ts.authed(t, "admin")
	js.subscribe("mix")
	nt := ts.nativeAuthed(t, "tcp", "admin")
	nt.subscribe(1, "mix", wire.AtLeastOnce, wire.Resume{})
	nw := ts.nativeAuthed(t, "ws", "admin")
	nw.subscribe(9, "mix", wire.AtMostOnce, wire.Resume{})

	t.Run("JSON to native", func(t *testing.T) {
		js.publish("mix", `{"a":[1,2]}`)
		js.expectMessage("mix", `{"a":[1,2]}`)
		nt.expectMessage(1, "mix", `{"a":[1,2]}`)
		nw.expectMessage(9, "mix", `{"a":[1,2]}`)
	})
	t.Run("native text to JSON", func(t *testing.T) {
		nw.publish(wire.Publish{Topic: []byte("mix"), Payload: []byte("hello")})
		js.expectMessage("mix", `"hello"`)
		nt.expectMessage(1, "mix", "hello")
		nw.expectMessage(9, "mix", "hello")
	})
	t.Run("native bytes to JSON", func(t *testing.T) {
		nt.publish(wire.Publish{Topic: []byte("mix"), Payload: []byte{0xff, 0, 1}})
		js.expectMessage("mix", `{"base64":"`+base64.StdEncoding.EncodeToString([]byte{0xff, 0, 1})+`"}`)
		nt.expectMessage(1, "mix", "\xff\x00\x01")
		nw.expectMessage(9, "mix", "\xff\x00\x01")
	})
	t.Run("QoS 1 both ways", func(t *testing.T) {
		js.send(`{"type":"publish","topic":"mix","payload":"j","message_id":"j1","qos":1}`)
		if f := js.expectMessage("mix", `"j"`); f["qos"] != 1.0 {
			t.Fatalf("JSON delivery %v", f) // its own subscription's copy comes first
		}
		js.expectRaw(`{"type":"puback","message_id":"j1"}`)
		js.send(`{"type":"ack","message_id":"j1"}`)
		if m := nt.expectMessage(1, "mix", `"j"`); m.QoS != wire.AtLeastOnce || m.id != "j1" {
			t.Fatalf("native delivery %+v", m)
		}
		nt.ack(1, "j1")
		if m := nw.expectMessage(9, "mix", `"j"`); m.QoS != wire.AtMostOnce {
			t.Fatalf("a QoS 0 subscription got QoS %d", m.QoS)
		}
		nt.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("mix"), ID: []byte("n1"), Payload: []byte(`"n"`)})
		nt.expectMessage(1, "mix", `"n"`)
		nt.expect(wire.TypePubAck)
		nt.ack(1, "n1")
		if f := js.expectMessage("mix", `"n"`); f.str("message_id") != "n1" || f["qos"] != 1.0 {
			t.Fatalf("JSON delivery %v", f)
		}
		js.send(`{"type":"ack","message_id":"n1"}`)
		nw.expectMessage(9, "mix", `"n"`)
	})
	js.sync()
	nt.sync()
	nw.sync()
}

// tap records every byte a listener's connections read and write.
type tap struct {
	net.Listener
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (l tap) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tapConn{Conn: c, tap: l}, nil
}

type tapConn struct {
	net.Conn
	tap tap
}

func (c tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.tap.record(p[:n])
	return n, err
}

func (c tapConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.tap.record(p[:n])
	return n, err
}

func (l tap) record(p []byte) {
	l.mu.Lock()
	l.buf.Write(p)
	l.mu.Unlock()
}

func (l tap) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

func TestNative_EndToEndEncryption(t *testing.T) {
	traffic := tap{mu: new(sync.Mutex), buf: new(bytes.Buffer)}
	ts := newWrappedTestServer(t, func(c *config.Config) { c.Replay.Size = 10 }, func(ln net.Listener) net.Listener {
		return tap{Listener: ln, mu: traffic.mu, buf: traffic.buf}
	})
	kr := envelope.NewKeyring() // the clients' keyring: the server never sees it
	if _, err := kr.Generate(); err != nil {
		t.Fatal(err)
	}
	eng, err := envelope.NewEngine(envelope.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	const marker = "PLAINTEXT-MARKER: the eagle lands at 0600"
	sealed, err := eng.Seal(nil, "secret/plans", "e1", []byte(marker))
	if err != nil {
		t.Fatal(err)
	}

	sub := ts.nativeAuthed(t, "tcp", "admin")
	sub.subscribe(1, "secret/#", wire.AtLeastOnce, wire.Resume{})
	js := ts.authed(t, "admin") // a JSON client without the key
	js.subscribe("secret/#")
	pub := ts.nativeAuthed(t, "ws", "admin")
	pub.publish(wire.Publish{QoS: wire.AtLeastOnce, Envelope: true, Topic: []byte("secret/plans"), ID: []byte("e1"), Payload: sealed})
	pub.expect(wire.TypePubAck)

	m := sub.expectMessage(1, "secret/plans", string(sealed))
	if !m.Envelope {
		t.Fatal("MSG without the envelope flag")
	}
	opened, err := eng.Open(nil, m.topic, m.id, []byte(m.payload))
	if err != nil || string(opened) != marker {
		t.Fatalf("subscriber opened %q, %v", opened, err)
	}
	sub.ack(1, "e1")
	js.expectMessage("secret/plans", `{"base64":"`+base64.StdEncoding.EncodeToString(sealed)+`"}`)
	sub.sync()
	js.sync()
	pub.sync()

	seen := traffic.bytes()
	if !bytes.Contains(seen, sealed) {
		t.Fatal("the tap did not see the envelope: it records nothing")
	}
	if bytes.Contains(seen, []byte(marker)) || bytes.Contains(seen, []byte("eagle")) {
		t.Fatal("plaintext in the bytes the server read or wrote")
	}
	history := replayAll(t, ts.Broker(), "#")
	if len(history) != 1 {
		t.Fatalf("history holds %d messages", len(history))
	}
	for _, p := range history {
		if !envelope.IsEnvelope(p) || bytes.Contains(p, []byte(marker)) {
			t.Fatalf("history holds %q, not an envelope", p)
		}
	}
}

// replayAll returns the payloads the broker's history holds for pattern.
func replayAll(t *testing.T, b *whispeer.Broker, pattern string) [][]byte {
	t.Helper()
	var got [][]byte
	sub, err := b.Subscribe(pattern, func(_ context.Context, m *whispeer.Message) error {
		got = append(got, bytes.Clone(m.Payload))
		return nil
	}, whispeer.WithInline(), subopt.Raw, whispeer.WithReplay(1000))
	if err != nil {
		t.Fatal(err)
	}
	sub.Unsubscribe()
	return got
}

func TestNative_EnvelopeFlagChecked(t *testing.T) {
	ts := newTestServer(t, nil)
	c := ts.nativeAuthed(t, "tcp", "admin")
	c.publish(wire.Publish{Envelope: true, Topic: []byte("a"), Payload: []byte("not sealed")})
	c.expectError(wire.CodeInvalid, false, wire.TypePublish)
	c.sync()
}
