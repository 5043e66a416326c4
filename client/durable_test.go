package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestServer_InteropDurable checks a durable QoS 2 subscription against
// whispeer's own server, over TCP and WebSocket: a client that comes back
// under the same id receives what was published while it was away, and
// not what it had handled; its Unsubscribe ends it on the server.
func TestServer_InteropDurable(t *testing.T) {
	r := startReal(t, nil, "", "", func(c *config.Config) { c.Store.Kind, c.Replay.Size = config.StoreMemory, 0 })
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			topic := "orders/" + scheme
			opts := []client.Option{client.WithCredentials("admin", "password"), client.WithClientID("reader-" + scheme)}
			durable := []client.SubscribeOption{client.WithMaxQoS(client.ExactlyOnce), client.WithDurable()}
			pub := dial(t, r.urls[scheme], client.WithCredentials("admin", "password"))
			publish := func(p string) {
				t.Helper()
				if err := pub.Publish(ctxT(t), topic, []byte(p), client.WithQoS(client.ExactlyOnce)); err != nil {
					t.Fatal(err)
				}
			}
			sub := dial(t, r.urls[scheme], opts...)
			h, got := collect(4)
			if _, err := sub.Subscribe(topic, h, durable...); err != nil {
				t.Fatal(err)
			}
			publish("1")
			if m := recv(t, got); string(m.Payload) != "1" || m.QoS != client.ExactlyOnce {
				t.Fatalf("got %+v", m)
			}
			if err := sub.Close(); err != nil { // its PUBREC reaches the server first
				t.Fatal(err)
			}
			publish("2")
			publish("3")

			sub = dial(t, r.urls[scheme], opts...)
			h, got = collect(4)
			s, err := sub.Subscribe(topic, h, durable...)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"2", "3"} {
				if m := recv(t, got); string(m.Payload) != want {
					t.Fatalf("got %q, want %q", m.Payload, want)
				}
			}
			if err := s.Unsubscribe(); err != nil {
				t.Fatal(err)
			}
			// Acknowledged, a publish from the same connection comes after the UNSUB.
			if err := sub.Publish(ctxT(t), "sync", []byte("x"), client.WithQoS(client.AtLeastOnce)); err != nil {
				t.Fatal(err)
			}
			if err := r.srv.Broker().Durables(context.Background(), func(name string, _ time.Time) bool {
				t.Errorf("durable subscription %q left after Unsubscribe", name)
				return true
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestClient_DurableNeedsExactlyOnce(t *testing.T) {
	r := startReal(t, nil, "", "", func(c *config.Config) { c.Store.Kind = config.StoreMemory })
	c := dial(t, r.urls["tcp"], client.WithCredentials("admin", "password"))
	h, _ := collect(1)
	for _, opts := range [][]client.SubscribeOption{
		{client.WithDurable()},
		{client.WithDurable(), client.WithMaxQoS(client.ExactlyOnce), client.WithLast(3)},
	} {
		if _, err := c.Subscribe("t", h, opts...); !errors.Is(err, whispeer.ErrInvalidOption) {
			t.Fatalf("Subscribe: %v, want ErrInvalidOption", err)
		}
	}
}

// TestClient_DurableDropsWhatItHandled gives a durable subscription back,
// after a reconnect, a message its handler took before (a server's cursor
// that lagged in a crash): the client answers it with PUBREC and does not
// hand it over again; the next message it does.
func TestClient_DurableDropsWhatItHandled(t *testing.T) {
	s := newScript(t)
	c := dial(t, s.url(), client.WithReconnect(time.Millisecond, time.Millisecond))
	handled := make(chan string, 8)
	go func() {
		_, err := c.Subscribe("orders", func(_ context.Context, m *client.Message) error {
			handled <- string(m.Payload)
			return nil
		}, client.WithMaxQoS(client.ExactlyOnce), client.WithDurable())
		if err != nil {
			t.Error(err)
		}
	}()
	subscribed := func(conn *scripted) uint32 {
		t.Helper()
		sub := conn.expect(wire.TypeSubscribe).Subscribe
		if sub.QoS != wire.ExactlyOnce || sub.Resume.Mode != wire.ResumeDurable {
			t.Fatalf("SUB %+v, want a durable one at QoS 2", sub)
		}
		b, _ := wire.AppendSubAck(nil, &wire.SubAck{SID: sub.SID, Epoch: 5, Recovered: true})
		conn.write(b)
		return sub.SID
	}
	msg := func(conn *scripted, sid uint32, offset uint64, payload string) {
		t.Helper()
		b, err := wire.AppendMessage(nil, &wire.Message{QoS: wire.ExactlyOnce, SID: sid, Offset: offset,
			Topic: []byte("orders"), ID: []byte(payload), Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		conn.write(b)
		if a := conn.expect(wire.TypePubRec).Ack; string(a.ID) != payload || a.Offset != offset {
			t.Fatalf("PUBREC %+v, want one of %q at %d", a, payload, offset)
		}
	}
	first := s.accept()
	sid := subscribed(first)
	msg(first, sid, 1, "a")
	msg(first, sid, 2, "b")
	first.nc.Close()

	second := s.accept()
	sid = subscribed(second)
	msg(second, sid, 2, "b")
	msg(second, sid, 3, "c")
	for _, want := range []string{"a", "b", "c"} {
		if got := <-handled; got != want {
			t.Fatalf("handled %q, want %q", got, want)
		}
	}
	select {
	case got := <-handled:
		t.Fatalf("handled %q again", got)
	default:
	}
}
