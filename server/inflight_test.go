package server

import (
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
