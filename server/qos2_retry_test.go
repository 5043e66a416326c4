package server

// QoS 2 publishes retried and released over both protocols: the broker
// de-duplicates them per publisher identity and message id.

import (
	"strconv"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestNative_QoS2PublishSeenOnce retransmits a QoS 2 PUB, on its
// connection and after reconnecting under the same HELLO session: every
// copy is answered with PUBREC, and the subscriber gets the message once.
func TestNative_QoS2PublishSeenOnce(t *testing.T) {
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) {
			ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0 })
			sub := ts.qos2Client(t, transport, "", "admin")
			sub.subscribe(1, "orders", wire.ExactlyOnce, wire.Resume{})

			pub := ts.qos2Client(t, transport, "shop-1", "admin")
			pub.pubQoS2("orders", "o-9", "x", false)
			pub.expectAck(wire.TypePubRec, 0, "o-9", wire.CodeOK)
			pub.pubQoS2("orders", "o-9", "x", true)
			pub.expectAck(wire.TypePubRec, 0, "o-9", wire.CodeOK)
			closeNative(pub)

			again := ts.qos2Client(t, transport, "shop-1", "admin")
			again.pubQoS2("orders", "o-9", "x", true)
			again.expectAck(wire.TypePubRec, 0, "o-9", wire.CodeOK)
			again.sendAck(wire.TypePubRel, 0, "o-9", 0)
			again.expectAck(wire.TypePubComp, 0, "o-9", wire.CodeOK)
			// Released, the id is still recognised inside the window.
			again.pubQoS2("orders", "o-9", "x", true)
			again.expectAck(wire.TypePubRec, 0, "o-9", wire.CodeOK)
			again.pubQoS2("orders", "o-10", "y", false)
			again.expectAck(wire.TypePubRec, 0, "o-10", wire.CodeOK)

			m := sub.expectMessage(1, "orders", "x")
			if m.QoS != wire.ExactlyOnce || m.id != "o-9" {
				t.Fatalf("MSG %+v", m)
			}
			sub.expectMessage(1, "orders", "y") // and no second x before it
			if st := ts.broker.Stats(); st.Published != 2 {
				t.Fatalf("broker published %d messages, want 2", st.Published)
			}
		})
	}
}

// TestNative_QoS2Release checks the answers to PUBREL: PUBCOMP code 0 for
// an id the broker holds, not_found for one it never held.
func TestNative_QoS2Release(t *testing.T) {
	ts := newTestServer(t, nil)
	pub := ts.qos2Client(t, "tcp", "", "admin")
	pub.pubQoS2("orders", "o-1", "x", false)
	pub.expectAck(wire.TypePubRec, 0, "o-1", wire.CodeOK)
	pub.sendAck(wire.TypePubRel, 0, "o-1", 0)
	pub.expectAck(wire.TypePubComp, 0, "o-1", wire.CodeOK)
	pub.sendAck(wire.TypePubRel, 0, "never", 0)
	pub.expectAck(wire.TypePubComp, 0, "never", wire.CodeNotFound)
}

// TestNative_QoS2InFlightLimit checks that a connection's QoS 2 publishes
// awaiting PUBREL are bounded: the next is refused with code limit and not
// routed, and a PUBREL makes room.
func TestNative_QoS2InFlightLimit(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.QoS.MaxInflight = 2; c.Replay.Size = 0 })
	sub := ts.qos2Client(t, "tcp", "", "admin")
	sub.subscribe(1, "orders", wire.AtMostOnce, wire.Resume{})
	pub := ts.qos2Client(t, "tcp", "", "admin")
	for _, id := range []string{"a", "b"} {
		pub.pubQoS2("orders", id, id, false)
		pub.expectAck(wire.TypePubRec, 0, id, wire.CodeOK)
	}
	pub.pubQoS2("orders", "a", "a", true) // a retransmission takes no room
	pub.expectAck(wire.TypePubRec, 0, "a", wire.CodeOK)
	pub.pubQoS2("orders", "c", "c", false)
	pub.expectAck(wire.TypePubRec, 0, "c", wire.CodeLimit)
	pub.sendAck(wire.TypePubRel, 0, "a", 0)
	pub.expectAck(wire.TypePubComp, 0, "a", wire.CodeOK)
	pub.pubQoS2("orders", "c", "c2", false)
	pub.expectAck(wire.TypePubRec, 0, "c", wire.CodeOK)
	sub.expectMessage(1, "orders", "a")
	sub.expectMessage(1, "orders", "b")
	sub.expectMessage(1, "orders", "c2")
}

// TestJSON_QoS2PublishSeenOnce retransmits a QoS 2 publish, on its
// connection and after reconnecting with the same client_id: every copy is
// answered with pubrec and the subscriber, at QoS 2, receives it once and
// completes it in two steps.
func TestJSON_QoS2PublishSeenOnce(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0; c.Store.Kind = config.StoreMemory })
	sub := ts.authed(t, "admin")
	sub.send(`{"type":"subscribe","topic":"orders","qos":2}`)
	sub.expect("subscribed")

	const publish = `{"type":"publish","topic":"orders","payload":{"id":9},"message_id":"o-9","qos":2}`
	pub := ts.authedAs(t, "admin", "shop-1")
	pub.send(publish)
	pub.expectRaw(`{"type":"pubrec","message_id":"o-9"}`)
	pub.send(publish)
	pub.expectRaw(`{"type":"pubrec","message_id":"o-9"}`)
	pub.closeNow()
	again := ts.authedAs(t, "admin", "shop-1")
	again.send(publish)
	again.expectRaw(`{"type":"pubrec","message_id":"o-9"}`)
	again.send(`{"type":"pubrel","message_id":"o-9"}`)
	again.expectRaw(`{"type":"pubcomp","message_id":"o-9"}`)
	again.send(`{"type":"pubrel","message_id":"never"}`)
	again.expectRaw(`{"type":"pubcomp","message_id":"never","reason":"not_found"}`)
	again.send(`{"type":"publish","topic":"orders","payload":2,"message_id":"o-10","qos":2}`)
	again.expectRaw(`{"type":"pubrec","message_id":"o-10"}`)

	m := sub.expectMessage("orders", `{"id":9}`)
	if m["qos"] != 2.0 || m.str("message_id") != "o-9" {
		t.Fatalf("message %v, want QoS 2", m)
	}
	sub.expectMessage("orders", `2`) // and no second o-9 before it
	offset := strconv.FormatUint(uint64(m["offset"].(float64)), 10)
	sub.send(`{"type":"pubrec","message_id":"o-9","offset":` + offset + `}`)
	if rel := sub.expectQoS2("pubrel", "o-9"); rel["offset"] != m["offset"] {
		t.Fatalf("pubrel %v, want offset %v", rel, m["offset"])
	}
	sub.send(`{"type":"pubcomp","message_id":"o-9","offset":` + offset + `}`)
	sub.sync()
	if n, _ := windowOf(t, sub.sess).len(); n != 1 {
		t.Fatalf("%d deliveries in flight, want o-10's", n)
	}
	if st := ts.broker.Stats(); st.Published != 2 {
		t.Fatalf("broker published %d messages, want 2", st.Published)
	}
}

// TestQoS2_Interop carries a QoS 2 message from a JSON publisher to a
// native QoS 2 subscriber, and from a native publisher to a JSON one, with
// the native client over TCP and over WebSocket.
func TestQoS2_Interop(t *testing.T) {
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) { testQoS2Interop(t, transport) })
	}
}

func testQoS2Interop(t *testing.T, transport string) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0 })
	nsub := ts.qos2Client(t, transport, "", "admin")
	nsub.subscribe(1, "to-native", wire.ExactlyOnce, wire.Resume{})
	jsub := ts.authed(t, "admin")
	jsub.send(`{"type":"subscribe","topic":"to-json","qos":2}`)
	jsub.expect("subscribed")

	jpub := ts.authed(t, "admin")
	jpub.send(`{"type":"publish","topic":"to-native","payload":"hi","message_id":"j-1","qos":2}`)
	jpub.expectQoS2("pubrec", "j-1")
	m := nsub.expectMessage(1, "to-native", `"hi"`)
	if m.QoS != wire.ExactlyOnce || m.id != "j-1" {
		t.Fatalf("MSG %+v", m)
	}
	nsub.sendAck(wire.TypePubRec, 1, "j-1", m.Offset)
	nsub.expectAck(wire.TypePubRel, 1, "j-1", wire.CodeOK)
	nsub.sendAck(wire.TypePubComp, 1, "j-1", m.Offset)
	jpub.send(`{"type":"pubrel","message_id":"j-1"}`)
	jpub.expectRaw(`{"type":"pubcomp","message_id":"j-1"}`)

	npub := ts.qos2Client(t, transport, "", "admin")
	npub.pubQoS2("to-json", "n-1", `{"k":1}`, false)
	npub.expectAck(wire.TypePubRec, 0, "n-1", wire.CodeOK)
	if f := jsub.expectMessage("to-json", `{"k":1}`); f["qos"] != 2.0 {
		t.Fatalf("message %v, want QoS 2", f)
	}
	jsub.send(`{"type":"pubrec","message_id":"n-1"}`)
	jsub.expectQoS2("pubrel", "n-1")
	jsub.send(`{"type":"pubcomp","message_id":"n-1"}`)
	jsub.sync()
	npub.sendAck(wire.TypePubRel, 0, "n-1", 0)
	npub.expectAck(wire.TypePubComp, 0, "n-1", wire.CodeOK)
	nsub.sync()
	for _, c := range []*session{nsub.sess, jsub.sess} {
		if n, _ := windowOf(t, c).len(); n != 0 {
			t.Fatalf("%d deliveries in flight after pubcomp", n)
		}
	}
}

// TestQoS2_DropBetweenRecAndRel drops a publisher after its PUBREC and
// before its PUBREL, and a subscriber after its PUBREC and before the
// PUBREL: the publisher's retransmission and release on a new connection
// are answered as if it had stayed, and the subscriber, resuming after the
// offset it handed over, receives what came after and nothing twice.
func TestQoS2_DropBetweenRecAndRel(t *testing.T) {
	for _, transport := range []string{"tcp", "ws"} {
		t.Run(transport, func(t *testing.T) { testQoS2DropBetweenRecAndRel(t, transport) })
	}
}

func testQoS2DropBetweenRecAndRel(t *testing.T, transport string) {
	ts := newTestServer(t, func(c *config.Config) { c.Replay.Size = 0; c.Store.Kind = config.StoreMemory })
	sub := ts.qos2Client(t, transport, "reader", "admin")
	ack := sub.subscribe(1, "orders", wire.ExactlyOnce, wire.Resume{})
	pub := ts.qos2Client(t, transport, "writer", "admin")
	pub.pubQoS2("orders", "o-1", "one", false)
	pub.expectAck(wire.TypePubRec, 0, "o-1", wire.CodeOK)
	closeNative(pub)

	m := sub.expectMessage(1, "orders", "one")
	sub.sendAck(wire.TypePubRec, 1, "o-1", m.Offset)
	sub.expectAck(wire.TypePubRel, 1, "o-1", wire.CodeOK)
	closeNative(sub)

	pub = ts.qos2Client(t, transport, "writer", "admin")
	pub.pubQoS2("orders", "o-1", "one", true)
	pub.expectAck(wire.TypePubRec, 0, "o-1", wire.CodeOK)
	pub.sendAck(wire.TypePubRel, 0, "o-1", 0)
	pub.expectAck(wire.TypePubComp, 0, "o-1", wire.CodeOK)
	pub.pubQoS2("orders", "o-2", "two", false)
	pub.expectAck(wire.TypePubRec, 0, "o-2", wire.CodeOK)

	sub = ts.qos2Client(t, transport, "reader", "admin")
	sub.subscribe(1, "orders", wire.ExactlyOnce, wire.Resume{Mode: wire.ResumeOffset, Epoch: ack.Epoch, Offset: m.Offset})
	if m2 := sub.expectMessage(1, "orders", "two"); m2.Offset != m.Offset+1 {
		t.Fatalf("MSG %+v, want offset %d", m2, m.Offset+1)
	}
	sub.sync()
}
