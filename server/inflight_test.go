package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
)

// resendDue makes every copy in flight on w due now and runs the resend
// timer's function, as if the ack timeout had passed.
func resendDue(w *inflight) {
	w.mu.Lock()
	for _, p := range w.due {
		p.deadline = time.Now()
	}
	w.mu.Unlock()
	w.fire()
}

// TestQoS1_ReusedIDNative has two publishers send QoS 1 messages with the
// same message id to one native subscription: both copies are tracked,
// one ack clears the older one only, and the other is redelivered.
func TestQoS1_ReusedIDNative(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.QoS.AckTimeout = time.Hour })
	sub := ts.nativeAuthed(t, "tcp", "admin")
	sub.subscribe(1, "q", wire.AtLeastOnce, wire.Resume{})
	for _, name := range []string{"from A", "from B"} {
		pub := ts.nativeAuthed(t, "ws", "admin")
		pub.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("q"), ID: []byte("1"), Payload: []byte(name)})
		pub.expect(wire.TypePubAck)
		sub.expectMessage(1, "q", name)
	}
	w := windowOf(t, sub.sess)
	if n, _ := w.len(); n != 2 {
		t.Fatalf("%d copies in flight, want both", n)
	}
	sub.ack(1, "1")
	sub.sync()
	if n, _ := w.len(); n != 1 {
		t.Fatalf("%d copies in flight after one ack, want 1", n)
	}
	resendDue(w)
	if m := sub.expectMessage(1, "q", "from B"); !m.Dup {
		t.Fatal("the copy left in flight was not resent as a redelivery")
	}
	sub.ack(1, "1")
	sub.sync()
	if n, _ := w.len(); n != 0 {
		t.Fatalf("%d copies in flight after both acks", n)
	}
}

// TestQoS1_ReusedIDJSON is TestQoS1_ReusedIDNative for a JSON subscriber,
// whose acks name the message id alone; the same message through two
// overlapping subscriptions is still one copy.
func TestQoS1_ReusedIDJSON(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) { c.QoS.AckTimeout = time.Hour })
	sub := ts.authed(t, "admin")
	sub.subscribe("q")
	sub.subscribe("+")
	for _, name := range []string{`"from A"`, `"from B"`} {
		pub := ts.authed(t, "admin")
		pub.send(`{"type":"publish","topic":"q","payload":` + name + `,"message_id":"1","qos":1}`)
		pub.expect("puback")
		sub.expectMessage("q", name)
		sub.expectMessage("q", name) // through both subscriptions
	}
	w := windowOf(t, sub.sess)
	if n, _ := w.len(); n != 2 {
		t.Fatalf("%d copies in flight, want one per message", n)
	}
	sub.send(`{"type":"ack","message_id":"1"}`)
	sub.sync()
	if n, _ := w.len(); n != 1 {
		t.Fatalf("%d copies in flight after one ack, want 1", n)
	}
	resendDue(w)
	sub.expectMessage("q", `"from B"`)
	sub.send(`{"type":"ack","message_id":"1"}`)
	sub.sync()
	if n, _ := w.len(); n != 0 {
		t.Fatalf("%d copies in flight after both acks", n)
	}
}

// TestQoS1_AckNamesTheOffset checks that an ack naming the delivery's
// offset as well as its id, which a native client granted CapAckOffset
// and a JSON client of a server with a store can send, clears that copy
// and not an older one with the same id.
func TestQoS1_AckNamesTheOffset(t *testing.T) {
	ts := newTestServer(t, func(c *config.Config) {
		c.QoS.AckTimeout = time.Hour
		c.Store.Kind = config.StoreMemory
	})
	sub := ts.dialNative(t, "tcp", nil, wire.CapAckOffset)
	if !sub.welcome.Caps.Has(wire.CapAckOffset) {
		t.Fatalf("WELCOME grants %b, not CapAckOffset", sub.welcome.Caps)
	}
	token, err := ts.issuer.Issue("admin")
	if err != nil {
		t.Fatal(err)
	}
	sub.send(&wire.Frame{Type: wire.TypeAuth, Auth: wire.Auth{Token: []byte(token)}})
	sub.expect(wire.TypeAuthOK)
	sub.subscribe(1, "q", wire.AtLeastOnce, wire.Resume{})
	js := ts.authed(t, "admin")
	js.subscribe("q")
	pub := ts.nativeAuthed(t, "ws", "admin")
	var offsets []uint64
	for _, name := range []string{`"from A"`, `"from B"`} {
		pub.publish(wire.Publish{QoS: wire.AtLeastOnce, Topic: []byte("q"), ID: []byte("1"), Payload: []byte(name)})
		pub.expect(wire.TypePubAck)
		offsets = append(offsets, sub.expectMessage(1, "q", name).Offset)
		js.expectMessage("q", name)
	}

	// Both ack the newer copy, B: A stays in flight and is sent again.
	sub.send(&wire.Frame{Type: wire.TypePubAck, Ack: wire.Ack{SID: 1, ID: []byte("1"), Offset: offsets[1]}})
	sub.sync()
	js.send(fmt.Sprintf(`{"type":"ack","message_id":"1","offset":%d}`, offsets[1]))
	js.sync()
	for _, w := range []*inflight{windowOf(t, sub.sess), windowOf(t, js.sess)} {
		if n, _ := w.len(); n != 1 {
			t.Fatalf("%d copies in flight after acking B, want A's", n)
		}
		resendDue(w)
	}
	if m := sub.expectMessage(1, "q", `"from A"`); !m.Dup || m.Offset != offsets[0] {
		t.Fatalf("resent %+v, want A again", m)
	}
	js.expectMessage("q", `"from A"`)
}
