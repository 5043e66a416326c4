package client_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// TestClient_AckNamesTheOffset delivers two QoS 1 messages with the same
// id on one subscription, the first of which the handler fails: the
// client acknowledges the second alone, naming its offset when the server
// grants CapAckOffset, so that the server keeps the first in flight.
func TestClient_AckNamesTheOffset(t *testing.T) {
	for _, caps := range []wire.Caps{wire.CapResume | wire.CapAckOffset, wire.CapResume} {
		acks := make(chan wire.Ack, 4)
		url := newRawServer(t, func(_ int, c net.Conn) {
			rd := wire.NewReader(c, 0)
			if f, err := rd.Next(); err != nil || f.Type != wire.TypeHello || !f.Hello.Caps.Has(wire.CapAckOffset) {
				return
			}
			b, _ := wire.AppendWelcome(nil, &wire.Welcome{Version: 1, Caps: caps, MaxFrame: 1 << 20})
			c.Write(b)
			for {
				f, err := rd.Next()
				if err != nil {
					return
				}
				switch f.Type {
				case wire.TypeSubscribe:
					sid := f.Subscribe.SID
					b, _ := wire.AppendSubAck(nil, &wire.SubAck{SID: sid})
					for i, p := range []string{"from A", "from B"} {
						b, _ = wire.AppendMessage(b, &wire.Message{QoS: wire.AtLeastOnce, SID: sid, Offset: uint64(5 + i),
							Topic: []byte("q"), ID: []byte("1"), Payload: []byte(p)})
					}
					c.Write(b)
				case wire.TypePubAck:
					acks <- wire.Ack{SID: f.Ack.SID, ID: []byte(string(f.Ack.ID)), Offset: f.Ack.Offset}
				case wire.TypePing:
					c.Write(wire.AppendPong(nil))
				}
			}
		})
		cl := dial(t, url, client.WithErrorHandler(func(error) {}))
		if _, err := cl.Subscribe("q", func(_ context.Context, m *client.Message) error {
			if string(m.Payload) == "from A" {
				return errors.New("not now")
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		a := recv(t, acks)
		want := uint64(0)
		if caps.Has(wire.CapAckOffset) {
			want = 6
		}
		if string(a.ID) != "1" || a.Offset != want {
			t.Fatalf("granted %b: ack %+v, want id 1 offset %d", caps, a, want)
		}
	}
}
