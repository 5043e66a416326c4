package server

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// qos2Client connects over transport asking for QoS 2 and naming session
// in HELLO (none when empty), and authenticates as user.
func (ts *testServer) qos2Client(t testing.TB, transport, session, user string) *nclient {
	t.Helper()
	c := ts.dialHello(t, transport, nil, wire.Hello{Version: wire.Version, Caps: wire.CapQoS2 | wire.CapReasons | wire.CapAckOffset,
		Session: []byte(session), Name: []byte("test")})
	if !c.welcome.Caps.Has(wire.CapQoS2) {
		t.Fatalf("WELCOME grants %b, not qos2", c.welcome.Caps)
	}
	token, err := ts.issuer.Issue(user)
	if err != nil {
		t.Fatal(err)
	}
	c.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
	c.expect(wire.TypeAuthOK)
	return c
}

// pubQoS2 publishes a QoS 2 PUB, with dup when it is a retransmission.
func (c *nclient) pubQoS2(topic, id, payload string, dup bool) {
	c.t.Helper()
	c.publish(wire.Publish{QoS: wire.ExactlyOnce, Dup: dup, Topic: []byte(topic), ID: []byte(id), Payload: []byte(payload)})
}

// expectAck reads an acknowledgement of type t on sid for id, with code.
func (c *nclient) expectAck(t wire.Type, sid uint32, id string, code wire.Code) wire.Ack {
	c.t.Helper()
	f := c.expect(t)
	if f.Ack.SID != sid || string(f.Ack.ID) != id || f.Ack.Code != code {
		c.t.Fatalf("%v sid %d id %q code %v %q, want sid %d id %q code %v", t, f.Ack.SID, f.Ack.ID, f.Ack.Code, f.Ack.Text, sid, id, code)
	}
	a := f.Ack
	a.ID, a.Text = nil, nil
	return a
}

// sendAck sends an acknowledgement of type t.
func (c *nclient) sendAck(t wire.Type, sid uint32, id string, offset uint64) {
	c.t.Helper()
	c.send(&wire.Frame{Type: t, Ack: wire.Ack{SID: sid, ID: []byte(id), Offset: offset}})
}

// closeNative drops a client's connection.
func closeNative(c *nclient) {
	if c.ws != nil {
		c.ws.CloseNow()
		return
	}
	c.nc.Close()
}

// TestNative_QoS2WithoutCapability checks that a client not granted qos2
// has its QoS 2 PUBs refused and its deliveries capped at QoS 1.
func TestNative_QoS2WithoutCapability(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0 })
	old := ts.nativeAuthed(t, "tcp", "admin")
	old.subscribe(1, "orders", wire.ExactlyOnce, wire.Resume{})
	old.pubQoS2("orders", "o-1", "x", false)
	old.expectAck(wire.TypePubRec, 0, "o-1", wire.CodeInvalid)
	old.sendAck(wire.TypePubRel, 0, "o-1", 0)
	old.expectError(wire.CodeInvalid, false, wire.TypePubRel)

	pub := ts.qos2Client(t, "tcp", "", "admin")
	pub.pubQoS2("orders", "o-2", "y", false)
	pub.expectAck(wire.TypePubRec, 0, "o-2", wire.CodeOK)
	if m := old.expectMessage(1, "orders", "y"); m.QoS != wire.AtLeastOnce {
		t.Fatalf("MSG at QoS %d to a client without qos2, want 1", m.QoS)
	}
}

// TestNative_QoS2Delivery walks a delivery through its two steps on the
// bubble's clock: the MSG is resent with dup until the PUBREC, then the
// PUBREL until the PUBCOMP, which ends it.
func TestNative_QoS2Delivery(t *testing.T) {
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ts := newBubbleTestServer(t, qosConfig(5, 10, 10))
				sub := ts.qos2Client(t, transport, "", "admin")
				sub.subscribe(1, "orders", wire.ExactlyOnce, wire.Resume{})
				pub := ts.qos2Client(t, transport, "", "admin")
				pub.pubQoS2("orders", "o-9", "x", false)
				pub.expectAck(wire.TypePubRec, 0, "o-9", wire.CodeOK)

				m := sub.expectMessage(1, "orders", "x")
				if m.QoS != wire.ExactlyOnce || m.Dup {
					t.Fatalf("MSG %+v", m)
				}
				start := time.Now()
				if m = sub.expectMessage(1, "orders", "x"); !m.Dup || time.Since(start) != 20*time.Millisecond {
					t.Fatalf("resent %+v after %v, want dup after the ack timeout", m, time.Since(start))
				}
				sub.sendAck(wire.TypePubRec, 1, "o-9", m.Offset)
				if a := sub.expectAck(wire.TypePubRel, 1, "o-9", wire.CodeOK); a.Offset != m.Offset {
					t.Fatalf("PUBREL %+v, want offset %d", a, m.Offset)
				}
				start = time.Now()
				sub.expectAck(wire.TypePubRel, 1, "o-9", wire.CodeOK) // no PUBCOMP: sent again
				if d := time.Since(start); d != 20*time.Millisecond {
					t.Fatalf("PUBREL resent after %v, want the ack timeout", d)
				}
				sub.sendAck(wire.TypePubRec, 1, "o-9", m.Offset) // a PUBREC repeated: PUBREL again
				sub.expectAck(wire.TypePubRel, 1, "o-9", wire.CodeOK)
				sub.sendAck(wire.TypePubComp, 1, "o-9", m.Offset)
				sub.sync()
				if n, _ := windowOf(t, sub.sess).len(); n != 0 {
					t.Fatalf("%d deliveries in flight after PUBCOMP", n)
				}
				time.Sleep(time.Second) // on the bubble's clock: nothing is resent
				sub.sync()
			})
		})
	}
}

// TestNative_QoS2PubCompBeforePubRec checks that a PUBCOMP for a delivery
// not yet received is ignored: the MSG is still resent.
func TestNative_QoS2PubCompBeforePubRec(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleTestServer(t, qosConfig(5, 10, 10))
		sub := ts.qos2Client(t, "tcp", "", "admin")
		sub.subscribe(1, "orders", wire.ExactlyOnce, wire.Resume{})
		pub := ts.qos2Client(t, "tcp", "", "admin")
		pub.pubQoS2("orders", "o-1", "x", false)
		pub.expectAck(wire.TypePubRec, 0, "o-1", wire.CodeOK)
		m := sub.expectMessage(1, "orders", "x")
		sub.sendAck(wire.TypePubComp, 1, "o-1", m.Offset)
		if m = sub.expectMessage(1, "orders", "x"); !m.Dup {
			t.Fatalf("MSG %+v, want it resent", m)
		}
	})
}

// TestNative_QoS2NeverSkipped fills a QoS 2 subscriber's window and its
// queue: the next QoS 2 message ends the connection as a slow consumer
// instead of being dropped for it, as a QoS 1 one would be.
func TestNative_QoS2NeverSkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := newBubbleTestServer(t, qosConfig(5, 1, 1))
		sub := ts.qos2Client(t, "tcp", "", "admin")
		sub.subscribe(1, "orders", wire.ExactlyOnce, wire.Resume{})
		pub := ts.qos2Client(t, "tcp", "", "admin")
		for _, id := range []string{"a", "b", "c"} {
			pub.pubQoS2("orders", id, id, false)
			pub.expectAck(wire.TypePubRec, 0, id, wire.CodeOK)
			pub.sendAck(wire.TypePubRel, 0, id, 0) // room for the next
			pub.expect(wire.TypePubComp)
		}
		sub.expectMessage(1, "orders", "a")
		sub.expectEnd()
		if st := ts.Stats(); st.QoSDropped != 0 {
			t.Fatalf("%d QoS 2 copies dropped", st.QoSDropped)
		}
	})
}
