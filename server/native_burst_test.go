package server

import (
	"fmt"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// TestNative_BurstToSeveralSubscribers publishes a burst of QoS 0 messages
// in one write, small and large ones mixed, to subscribers over both
// transports, one at QoS 1: every subscriber receives every message, in
// order and intact, whether its copy was encoded once per message or into
// the publisher's scratch and copied.
func TestNative_BurstToSeveralSubscribers(t *testing.T) {
	ts := newTestServer(t, nil)
	subs := []*nclient{ts.nativeAuthed(t, "tcp", "admin"), ts.nativeAuthed(t, "ws", "admin"), ts.nativeAuthed(t, "tcp", "admin")}
	for i, c := range subs {
		qos := wire.AtMostOnce
		if i == 2 {
			qos = wire.AtLeastOnce // QoS 0 publishes: still delivered at QoS 0
		}
		c.subscribe(7, "burst/#", qos, wire.Resume{})
	}
	pub := ts.nativeAuthed(t, "tcp", "admin")
	const n = 200
	payloads := make([]string, n)
	var burst []byte
	for i := range payloads {
		payloads[i] = fmt.Sprintf("message %d ", i)
		if i%10 == 9 {
			payloads[i] += strings.Repeat("L", scratchLimit) // too large for the scratch
		}
		var err error
		burst, err = wire.AppendFrame(burst, &wire.Frame{Type: wire.TypePublish, Publish: wire.Publish{
			Topic: []byte(fmt.Sprintf("burst/%d", i%3)), Payload: []byte(payloads[i])}})
		if err != nil {
			t.Fatal(err)
		}
	}
	pub.write(burst)
	pub.sync()
	for _, c := range subs {
		for i, p := range payloads {
			c.expectMessage(7, fmt.Sprintf("burst/%d", i%3), p)
		}
		c.sync()
	}
}

// TestShared_EncodesOncePerMessage checks the fan-out of the publishes of
// no session: the deliveries of one message share one encoding, and a
// message that the broker placed where the last one was is encoded anew.
func TestShared_EncodesOncePerMessage(t *testing.T) {
	var sh shared
	m := &whispeer.Message{Topic: "t", Seq: 1, Payload: []byte("one")}
	first := sh.frame(&sh.native, m, appendBody)
	if again := sh.frame(&sh.native, m, appendBody); &again[0] != &first[0] {
		t.Error("a second delivery of the message encoded it again")
	}
	*m = whispeer.Message{Topic: "t", Seq: 2, Payload: []byte("two")} // a reused message
	next := sh.frame(&sh.native, m, appendBody)
	if string(next) == string(first) || string(next) != string(appendBody(nil, m)) {
		t.Errorf("the next message at the same address got %q, want its own encoding", next)
	}
}
