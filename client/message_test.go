package client

import (
	"bytes"
	"testing"
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
