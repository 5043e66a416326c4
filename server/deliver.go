package server

import (
	"context"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// deliver is the handler of every subscription of a JSON session: it
// queues the message's frame, encoded once per publish for all
// connections (fanout.go), and at QoS 1 tracks the copy until the client
// acks it. Subscriptions are sync: the handler runs in the publisher's
// goroutine and only queues bytes. They are raw: with the broker sealing
// payloads, clients get the envelopes, which only they can open.
func (s *session) deliver(ctx context.Context, m *whispeer.Message) error {
	var frame []byte
	f := fanoutOf(m)
	if f != nil {
		frame = f.jsonFrame(m, s.srv.encodeJSON)
	} else {
		frame = s.srv.shared.frame(&s.srv.shared.json, m, s.srv.appendJSON)
	}
	if m.QoS == whispeer.AtMostOnce {
		s.sendIn(batchOf(f), nil, frame, false, false)
		return nil
	}
	s.window.deliver(ctx, f, ackKey{id: m.ID}, msgKey{m.Topic, m.Seq}, nil, frame, -1)
	return nil
}

// encodeJSON encodes m as a complete WebSocket text frame carrying
// {"type":"message",…}; see appendJSON.
func (srv *Server) encodeJSON(m *whispeer.Message) []byte {
	return srv.appendJSON(make([]byte, 0, ws.HeaderRoom+120+len(m.Topic)+len(m.ID)+len(m.Payload)), m)
}

// appendJSON appends to dst[:0] m as a complete WebSocket text frame
// carrying {"type":"message",…}, with the message's offset in its topic's
// log on a server with a store. A payload that is not one JSON value, such
// as an envelope or bytes from a binary client, is written as
// json.AppendDelivery describes, with its "encoding", and an envelope
// with "sealed":true.
func (srv *Server) appendJSON(dst []byte, m *whispeer.Message) []byte {
	var offset uint64
	if srv.store {
		offset = m.Seq
	}
	buf := append(dst[:0], make([]byte, ws.HeaderRoom)...)
	buf = json.AppendDelivery(buf, &json.Delivery{Topic: m.Topic, Payload: m.Payload, Timestamp: m.Time.Unix(),
		MessageID: m.ID, QoS: uint8(min(m.QoS, whispeer.AtLeastOnce)), Offset: offset, Sealed: m.Sealed})
	return ws.Frame(ws.Text, buf)
}
