package client_test

import (
	"bufio"
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestClient_ExactlyOnceRealServer publishes at QoS 2 through whispeer's
// server to a QoS 2 subscription, over TCP and WebSocket: every Publish
// returns once complete, and the handler sees each message once.
func TestClient_ExactlyOnceRealServer(t *testing.T) {
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			srv := startReal(t, nil, "", "", func(c *config.Config) { c.Replay.Size = 0 })
			sub := dial(t, srv.urls[scheme], client.WithCredentials("admin", "password"))
			h, got := collect(10)
			if _, err := sub.Subscribe("orders", h, client.WithMaxQoS(client.ExactlyOnce)); err != nil {
				t.Fatal(err)
			}
			pub := dial(t, srv.urls[scheme], client.WithCredentials("admin", "password"), client.WithClientID("shop-1"))
			ctx := ctxT(t)
			for _, id := range []string{"o-1", "o-2", "o-3"} {
				if err := pub.Publish(ctx, "orders", []byte(id), client.WithQoS(client.ExactlyOnce), client.WithID(id)); err != nil {
					t.Fatalf("publish %s: %v", id, err)
				}
			}
			for _, id := range []string{"o-1", "o-2", "o-3"} {
				m := <-got
				if m.ID != id || m.QoS != client.ExactlyOnce {
					t.Fatalf("got %s at QoS %d, want %s at 2", m.ID, m.QoS, id)
				}
			}
			if err := pub.Publish(ctx, "orders", []byte("x"), client.WithQoS(client.ExactlyOnce), client.WithID("o-1")); err != nil {
				t.Fatalf("publish o-1 again: %v", err)
			}
			if err := pub.Publish(ctx, "orders", []byte("o-4"), client.WithQoS(client.ExactlyOnce), client.WithID("o-4")); err != nil {
				t.Fatal(err)
			}
			if m := <-got; m.ID != "o-4" {
				t.Fatalf("got %s, want o-4: a retried id was delivered again", m.ID)
			}
		})
	}
}

// script is a scripted native server on a loopback port: each accepted
// connection is handed to the test with its HELLO read.
type script struct {
	t     *testing.T
	ln    net.Listener
	conns chan *scripted
}

// scripted is one connection to a script.
type scripted struct {
	t     *testing.T
	nc    net.Conn
	rd    *wire.Reader
	hello wire.Hello
}

func newScript(t *testing.T) *script {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &script{t: t, ln: ln, conns: make(chan *scripted, 4)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { nc.Close() })
			c := &scripted{t: t, nc: nc, rd: wire.NewReader(bufio.NewReader(nc), wire.MaxFrameSize)}
			f, err := c.rd.Next()
			if err != nil || f.Type != wire.TypeHello {
				nc.Close()
				continue
			}
			c.hello = f.Hello
			c.hello.Session = append([]byte(nil), f.Hello.Session...)
			b, _ := wire.AppendWelcome(nil, &wire.Welcome{Version: wire.Version, Caps: f.Hello.Caps & (wire.CapQoS2 | wire.CapAckOffset | wire.CapResume),
				MaxFrame: wire.MaxFrameSize, Session: c.hello.Session, Server: []byte("script")})
			c.write(b)
			s.conns <- c
		}
	}()
	return s
}

func (s *script) url() string { return "tcp://" + s.ln.Addr().String() }

// accept returns the next connection.
func (s *script) accept() *scripted {
	s.t.Helper()
	select {
	case c := <-s.conns:
		return c
	case <-time.After(hang):
		s.t.Fatal("no connection")
		return nil
	}
}

func (c *scripted) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Errorf("write: %v", err)
	}
}

// expect reads the next frame, answering PINGs, and checks its type.
func (c *scripted) expect(t wire.Type) *wire.Frame {
	c.t.Helper()
	for {
		c.nc.SetReadDeadline(time.Now().Add(hang))
		f, err := c.rd.Next()
		if err != nil {
			c.t.Fatalf("read, want %v: %v", t, err)
		}
		if f.Type == wire.TypePing {
			c.write(wire.AppendPong(nil))
			continue
		}
		if f.Type != t {
			c.t.Fatalf("got %v, want %v", f.Type, t)
		}
		return f
	}
}

// ack sends an acknowledgement frame.
func (c *scripted) ack(t wire.Type, a wire.Ack) {
	c.t.Helper()
	b, err := wire.AppendAck(nil, t, &a)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(b)
}

// TestClient_ExactlyOncePublishRetransmits drops the connection of a QoS
// 2 publish before its PUBREC, then after it: the client sends the PUB
// again marked dup, then the PUBREL, under the same HELLO session, and
// Publish returns once the PUBCOMP comes.
func TestClient_ExactlyOncePublishRetransmits(t *testing.T) {
	s := newScript(t)
	c := dial(t, s.url(), client.WithReconnect(time.Millisecond, time.Millisecond))
	first := s.accept()
	done := make(chan error, 1)
	go func() {
		done <- c.Publish(context.Background(), "orders", []byte("x"), client.WithQoS(client.ExactlyOnce), client.WithID("o-1"))
	}()
	p := first.expect(wire.TypePublish).Publish
	if p.QoS != wire.ExactlyOnce || p.Dup || string(p.ID) != "o-1" {
		t.Fatalf("PUB %+v", p)
	}
	first.nc.Close()

	second := s.accept()
	if string(second.hello.Session) != string(first.hello.Session) || len(first.hello.Session) == 0 {
		t.Fatalf("HELLO sessions %q and %q, want one stable id", first.hello.Session, second.hello.Session)
	}
	if p = second.expect(wire.TypePublish).Publish; !p.Dup || string(p.ID) != "o-1" {
		t.Fatalf("resent PUB %+v, want dup", p)
	}
	second.ack(wire.TypePubRec, wire.Ack{ID: []byte("o-1")})
	second.expect(wire.TypePubRel)
	second.nc.Close()

	third := s.accept()
	if a := third.expect(wire.TypePubRel).Ack; string(a.ID) != "o-1" || a.SID != 0 {
		t.Fatalf("resent PUBREL %+v", a)
	}
	select {
	case err := <-done:
		t.Fatalf("Publish returned %v before the PUBCOMP", err)
	default:
	}
	third.ack(wire.TypePubComp, wire.Ack{ID: []byte("o-1"), Code: wire.CodeNotFound})
	if err := <-done; err != nil {
		t.Fatalf("Publish: %v", err)
	}
}

// TestClient_ExactlyOnceDelivery sends a QoS 2 delivery twice: the handler
// takes it once, each copy is answered with PUBREC, and the PUBREL with
// PUBCOMP; the same id at another offset is another message.
func TestClient_ExactlyOnceDelivery(t *testing.T) {
	s := newScript(t)
	c := dial(t, s.url())
	conn := s.accept()
	var calls atomic.Int32
	handled := make(chan string, 4)
	go func() {
		_, err := c.Subscribe("orders", func(_ context.Context, m *client.Message) error {
			calls.Add(1)
			handled <- string(m.Payload)
			return nil
		}, client.WithMaxQoS(client.ExactlyOnce))
		if err != nil {
			t.Error(err)
		}
	}()
	sub := conn.expect(wire.TypeSubscribe).Subscribe
	if sub.QoS != wire.ExactlyOnce {
		t.Fatalf("SUB at QoS %d", sub.QoS)
	}
	b, _ := wire.AppendSubAck(nil, &wire.SubAck{SID: sub.SID})
	conn.write(b)
	msg := func(offset uint64, payload string, dup bool) {
		b, err := wire.AppendMessage(nil, &wire.Message{QoS: wire.ExactlyOnce, Dup: dup, SID: sub.SID, Offset: offset,
			Topic: []byte("orders"), ID: []byte("o-1"), Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		conn.write(b)
	}
	msg(7, "first", false)
	if a := conn.expect(wire.TypePubRec).Ack; string(a.ID) != "o-1" || a.SID != sub.SID || a.Offset != 7 {
		t.Fatalf("PUBREC %+v", a)
	}
	msg(7, "first", true)
	conn.expect(wire.TypePubRec)
	conn.ack(wire.TypePubRel, wire.Ack{SID: sub.SID, ID: []byte("o-1"), Offset: 7})
	if a := conn.expect(wire.TypePubComp).Ack; string(a.ID) != "o-1" || a.Offset != 7 {
		t.Fatalf("PUBCOMP %+v", a)
	}
	msg(8, "second", false)
	conn.expect(wire.TypePubRec)
	if got := []string{<-handled, <-handled}; got[0] != "first" || got[1] != "second" || calls.Load() != 2 {
		t.Fatalf("handled %v in %d calls", got, calls.Load())
	}
}
