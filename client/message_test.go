package client

import (
	"bytes"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

func TestAllocMessage(t *testing.T) {
	for n := range 2200 {
		msg, b := allocMessage(n)
		if len(b) != n || cap(b) != n {
			t.Fatalf("allocMessage(%d): %d bytes, capacity %d", n, len(b), cap(b))
		}
		for i := range b {
			b[i] = 0xff
		}
		*msg = Message{Topic: "t", Seq: 7, gen: 9}
		if !bytes.Equal(b, bytes.Repeat([]byte{0xff}, n)) {
			t.Fatalf("allocMessage(%d): the bytes overlap the Message", n)
		}
		for i := range b {
			b[i] = 0xee
		}
		if msg.Topic != "t" || msg.Seq != 7 || msg.gen != 9 || msg.Payload != nil {
			t.Fatalf("allocMessage(%d): writing the bytes changed the Message: %+v", n, msg)
		}
	}
}

// TestNewMessage_Headers makes Messages of a MSG with headers: the
// headers are the MSG's bytes, copied into the Message's one allocation
// (a borrowed Message's storage, which it reuses), and its clone's own.
func TestNewMessage_Headers(t *testing.T) {
	h, err := wire.MakeHeaders("trace", "t-1", "b", "2", "b", "3")
	if err != nil {
		t.Fatal(err)
	}
	frame := &wire.Message{Topic: []byte("a/b"), ID: []byte("id-1"), Headers: h, Payload: []byte("payload")}
	check := func(what string, m *Message) {
		t.Helper()
		if !bytes.Equal(m.Headers.Encoded(), h.Encoded()) || m.ID != "id-1" || string(m.Payload) != "payload" || m.Topic != "a/b" {
			t.Fatalf("%s: headers % x, id %q, payload %q on %q", what, m.Headers.Encoded(), m.ID, m.Payload, m.Topic)
		}
		if v, _ := m.Headers.Get("b"); v != "3" || m.Headers.Len() != 3 {
			t.Fatalf("%s: b=%q of %d headers, want 3 of 3", what, v, m.Headers.Len())
		}
	}
	check("newMessage", newMessage(frame, "", 1))
	if n := testing.AllocsPerRun(100, func() { newMessage(frame, "a/b", 1) }); n != 1 {
		t.Errorf("newMessage with headers: %v allocations, want 1", n)
	}

	lent := borrowMessage(nil, frame, "", 1)
	c := lent.Clone()
	if n := testing.AllocsPerRun(100, func() { lent = borrowMessage(lent, frame, "a/b", 1) }); n != 0 {
		t.Errorf("borrowMessage with headers: %v allocations, want 0", n)
	}
	clear(lent.room[:cap(lent.room)])
	check("the clone of a reused borrowed message", c)
}
