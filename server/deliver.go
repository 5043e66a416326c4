package server

import (
	"context"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// memoJSONFrame is the Message.Memo slot of the PopSub JSON delivery frame,
// WebSocket header included.
const memoJSONFrame = 0

// deliver is the handler of every subscription of a JSON session: it
// queues the message's frame, encoded once for all connections, and at
// QoS 1 tracks the copy until the client acks it. Subscriptions are sync:
// the handler runs in the publisher's goroutine and only queues bytes. They
// are raw: with the broker sealing payloads, clients get the envelopes,
// which only they can open.
func (s *session) deliver(ctx context.Context, m *whispeer.Message) error {
	encode := encodeMessage
	if s.srv.store {
		encode = encodeMessageOffset
	}
	frame := m.Memo(memoJSONFrame, encode)
	if m.QoS == whispeer.AtMostOnce {
		s.sendContext(ctx, nil, frame, false, false)
		return nil
	}
	s.window.deliver(ctx, ackKey{id: m.ID}, msgKey{m.Topic, m.Seq}, nil, frame, -1)
	return nil
}

// encodeMessage encodes m as a complete WebSocket text frame carrying
// {"type":"message",…}. A payload that is not one JSON value, such as an
// envelope or bytes from a binary client, is written as
// json.AppendDelivery describes, with its "encoding", and an envelope
// with "sealed":true.
func encodeMessage(m *whispeer.Message) []byte { return encodeJSON(m, 0) }

// encodeMessageOffset is encodeMessage with the message's offset in its
// topic's log, for a server with a store.
func encodeMessageOffset(m *whispeer.Message) []byte { return encodeJSON(m, m.Seq) }

func encodeJSON(m *whispeer.Message, offset uint64) []byte {
	buf := newFrame(120 + len(m.Topic) + len(m.ID) + len(m.Payload))
	buf = json.AppendDelivery(buf, &json.Delivery{Topic: m.Topic, Payload: m.Payload, Timestamp: m.Time.Unix(),
		MessageID: m.ID, QoS: uint8(min(m.QoS, whispeer.AtLeastOnce)), Offset: offset, Sealed: m.Sealed})
	return ws.Frame(ws.Text, buf)
}
