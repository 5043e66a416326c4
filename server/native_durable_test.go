package server

import (
	"testing"

	"github.com/whispeer-io/whispeer/hook"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestNative_QoS2DurableSubscriber checks that a native QoS 2 SUB in
// resume mode durable outlives its connection, over TCP and WebSocket:
// back under the same session, on any sid, the client first receives what
// it had not answered with PUBREC, then what was published while it was
// away; an UNSUB ends it, and its cursors with it.
func TestNative_QoS2DurableSubscriber(t *testing.T) {
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			gone := make(disconnects, 8)
			ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0; c.Store.Kind = config.StoreMemory }, WithPlugin(gone))
			durable := wire.Resume{Mode: wire.ResumeDurable}
			pub := ts.qos2Client(t, transport, "writer", "admin")
			send := func(id string) {
				t.Helper()
				pub.pubQoS2("orders", id, id, false)
				pub.expectAck(wire.TypePubRec, 0, id, wire.CodeOK)
				pub.sendAck(wire.TypePubRel, 0, id, 0)
				pub.expectAck(wire.TypePubComp, 0, id, wire.CodeOK)
			}
			sub := ts.qos2Client(t, transport, "reader", "admin")
			sub.subscribe(1, "orders", wire.ExactlyOnce, durable)
			send("a")
			m := sub.expectMessage(1, "orders", "a")
			sub.sendAck(wire.TypePubRec, 1, "a", m.Offset)
			sub.expectAck(wire.TypePubRel, 1, "a", wire.CodeOK)
			sub.sendAck(wire.TypePubComp, 1, "a", m.Offset)
			send("b") // received, never answered
			sub.expectMessage(1, "orders", "b")
			closeNative(sub)
			if id := <-gone; id != sub.sess.id {
				t.Fatalf("connection %s closed, want the subscriber's, %s", id, sub.sess.id)
			}
			send("c")

			sub = ts.qos2Client(t, transport, "reader", "admin")
			if ack := sub.subscribe(7, "orders", wire.ExactlyOnce, durable); !ack.Recovered {
				t.Fatalf("SUBACK %+v: not recovered", ack)
			}
			sub.expectMessage(7, "orders", "b")
			sub.expectMessage(7, "orders", "c")
			sub.send(&wire.Frame{Type: wire.TypeUnsubscribe, Unsubscribe: wire.Unsubscribe{SID: 7}})
			sub.sync()
			if names := durableNames(t, ts.Server); len(names) != 0 {
				t.Fatalf("durable subscriptions after UNSUB: %q", names)
			}
		})
	}
}

// TestNative_DurableNeedsQoS2 checks that a durable SUB at QoS 1 is
// refused with a reason.
func TestNative_DurableNeedsQoS2(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Store.Kind = config.StoreMemory })
	durable := wire.Resume{Mode: wire.ResumeDurable}
	c := ts.qos2Client(t, "tcp", "reader", "admin")
	c.send(&wire.Frame{Type: wire.TypeSubscribe, Subscribe: wire.Subscribe{SID: 1, QoS: wire.AtLeastOnce, Resume: durable, Topic: []byte("orders")}})
	if f := c.expect(wire.TypeSubAck); f.SubAck.Code != wire.CodeInvalid || string(f.SubAck.Text) != "whispeer: a durable subscription needs QoS 2, and the qos2 capability" {
		t.Fatalf("SUBACK %+v %q, want invalid", f.SubAck, f.SubAck.Text)
	}
}

// disconnects is a plugin that names each connection that closed.
type disconnects chan string

func (disconnects) Name() string { return "disconnects" }

func (d disconnects) OnDisconnect(c hook.Conn, _ error) { d <- c.ID }
