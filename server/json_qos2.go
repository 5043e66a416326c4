package server

import (
	"context"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// Exactly once in the PopSub JSON protocol (docs/protocol.md, "QoS 2").

// maxClientID is the longest client_id an auth may give.
const maxClientID = 128

// jsonPubRec returns the callback that answers a QoS 2 publish, which r
// names, once it is durable: a pubrec, or an error frame.
func (s *session) jsonPubRec(r frameRef) func(*opError) {
	return func(e *opError) {
		if e != nil {
			s.sendErrorFor(r, e.text)
			return
		}
		s.reply(json.AppendPubRec(newFrame(32+len(r.id)), r.id))
	}
}

// jsonExactlyOnce handles the client's QoS 2 frames: the pubrel of one of
// its publishes, the pubrec and pubcomp of a delivery.
func (s *session) jsonExactlyOnce(f *json.Frame) {
	id := f.MessageID
	switch f.Type {
	case json.TypePubRel:
		found := s.releaseOnce(id)
		s.reply(json.AppendPubComp(newFrame(64+len(id)), id, !found))
	case json.TypePubRec:
		m, ok := s.window.received(ackKey{id: id}, f.Offset, func(m msgKey) []byte {
			var offset uint64
			if s.srv.store {
				offset = m.seq // as in the message frame
			}
			return ws.Frame(ws.Text, json.AppendPubRel(newFrame(48+len(id)), id, offset))
		})
		if ok {
			s.saveCursors(subKey{}, m)
		}
	case json.TypePubComp:
		s.window.complete(ackKey{id: id}, f.Offset)
		s.acked(id)
	}
}

// deliverOnce is the handler of a JSON subscription made with "qos":2,
// and replayOnce its handler of the messages replayed to it: QoS 2
// messages reach it at QoS 2, tracked until the client completes them
// (pubrec, pubcomp); others as in deliver.
func (s *session) deliverOnce(_ context.Context, m *whispeer.Message) error {
	s.sendOnce(m, false)
	return nil
}

func (s *session) replayOnce(_ context.Context, m *whispeer.Message) error {
	s.sendOnce(m, true)
	return nil
}

// sendOnce queues m's frame for a subscription made with "qos":2.
func (s *session) sendOnce(m *whispeer.Message, replay bool) {
	if m.QoS != whispeer.ExactlyOnce {
		s.sendJSON(m, replay)
		return
	}
	if s.overflows(replay) {
		return
	}
	frame := s.srv.appendJSONQoS(make([]byte, 0, ws.HeaderRoom+120+len(m.Topic)+len(m.ID)+len(m.Payload)), m, whispeer.ExactlyOnce)
	s.window.deliver(fanoutOf(m), replay, ackKey{id: m.ID}, msgKey{m.Topic, m.Seq}, nil, frame, -1)
}
