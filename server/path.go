package server

// The path of a message through the server, in the order it takes
// (docs/architecture.md draws the whole of it):
//
//	transport: read, parse a frame → session.ReceiveFrame → native.handle
//	publish:   native.publish → session.publish (authorize, rate) → Broker.PublishMessage
//	broker:    publish → route: match, hand to queues, call the sync handlers
//	deliver:   nativeSub.deliver / session.deliver, once per subscription
//	encode:    the frame, once per publish in its fan-out (fanout)
//	enqueue:   session.sendIn → the connection's queue, in the publisher's batch
//	transport: the batch is flushed, each writer writes once
//
// A publish is fanned out by the broker to the handlers of the
// subscriptions it matches, which run one after another in the
// publisher's goroutine. What those deliveries share, the frames encoded
// once for all of them and the connections to flush, belongs to the fan-out
// of the publish, not to the message: a session's publishes are fanned out
// in the session's fanout, found on the message by its publisher (the
// session, see session.PublisherID); other publishes, by the library in
// process, share the server's last encoding (shared).

import (
	"context"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// —— The publish: a client's frame, parsed by the transport, becomes a publish.

// publish routes a PUB through the broker and, at QoS 1, confirms it with
// a PUBACK once the message is durable (see session.publish), at QoS 2
// with a PUBREC (see session.publishOnce): a client may have many PUBs
// awaiting theirs. sendAck only reads n.ws and queues bytes,
// so it may run in the store's goroutine.
func (n *native) publish(p *wire.Publish) {
	if p.QoS == wire.ExactlyOnce && !n.caps.Has(wire.CapQoS2) {
		n.refusePublish(p, n.s.invalid("QoS 2 was not granted: publish at QoS 0 or 1"))
		return
	}
	h, err := whispeer.DecodeHeaders(p.Headers.Encoded())
	if err != nil { // the parser checked them: not reached
		n.refusePublish(p, n.s.invalid(errorText(err)))
		return
	}
	pub := whispeer.Message{
		Topic: n.topicOf(p.Topic),
		// The id, payload and headers view the read buffer: the broker
		// copies what it keeps, as it does for a publish that names its
		// publisher (session.publish).
		ID:      unsafe.String(unsafe.SliceData(p.ID), len(p.ID)),
		Payload: p.Payload,
		Headers: h,
		QoS:     whispeer.QoS(p.QoS),
		Sealed:  p.Envelope,
	}
	var done func(*opError)
	if pub.QoS != whispeer.AtMostOnce {
		id := string(p.ID) // a copy, for the PUBACK after the read buffer moved on
		pub.ID = id
		t := wire.TypePubAck
		if pub.QoS == whispeer.ExactlyOnce {
			t = wire.TypePubRec
		}
		done = func(e *opError) {
			n.sendAck(t, 0, e, unsafe.Slice(unsafe.StringData(id), len(id)))
		}
	}
	var e *opError
	if pub.QoS == whispeer.ExactlyOnce {
		e = n.s.publishOnce(&pub, done)
	} else {
		e = n.s.publish(&pub, done)
	}
	if e != nil {
		n.refusePublish(p, e)
	}
}

// topicOf returns topic as a string, reusing the last one while a client
// publishes to the same topic.
func (n *native) topicOf(topic []byte) string {
	if string(topic) != n.topic {
		n.topic = string(topic)
	}
	return n.topic
}

// publish routes a client's message, m, through the broker, in either
// protocol: the one shape of a publish from the parsed frame to the
// broker, which may view the read buffer, and whose Sealed is what the
// client declared. At QoS 1 it
// returns once the message is routed and calls done once the store has made
// it durable (at once without a store), with nil or the error that kept it
// from being; done is not called when publish returns an error. done may run
// in the store's goroutine under the broker's locks: it must only queue
// bytes. At QoS 0 done is not called.
func (s *session) publish(m *whispeer.Message, done func(*opError)) *opError {
	if e := s.mayPublish(m.Topic); e != nil {
		return e
	}
	if m.Sealed && !envelope.IsEnvelope(m.Payload) {
		// A declaration checked, not a guess: only what the client flags
		// is ever delivered as an envelope.
		return s.invalid("the payload is declared an envelope but does not start like one")
	}
	if !s.rate.allow() {
		s.srv.stats.rateLimited.Add(1)
		return &opError{whispeer.CodeLimit, "publish rate exceeded: the limit is " + strconv.Itoa(s.srv.cfg.Server.MaxPublishRate) + " per second"}
	}
	var err error
	m.Time = s.link.ReadTime() // the clock read once per read, not per message
	if m.QoS == whispeer.AtMostOnce {
		// The broker lends the message it routes to the handlers of the
		// publish, which find s's fan-out on it (fanout).
		err = s.srv.broker.PublishMessage(context.Background(), m, s, nil)
	} else {
		topic, id, user := m.Topic, m.ID, s.user // done may run after m is gone, in another goroutine
		err = s.srv.broker.PublishMessage(context.Background(), m, s, func(err error) {
			if err != nil {
				s.srv.log.Warn("whispeer: publish not made durable", slog.Any("conn", s.info(user)), "topic", topic, "id", id, "error", err)
				done(brokerError(err))
				return
			}
			done(nil)
		})
	}
	s.fan.done()
	if err != nil {
		s.srv.stats.badFrames.Add(1)
		return brokerError(err)
	}
	s.srv.stats.published.Add(1)
	return nil
}

// mayPublish checks that topic is a valid topic that the session's user
// may publish to. A client publishing to one topic again and again is
// checked once: the answer is kept for the last topic and user allowed.
func (s *session) mayPublish(topic string) *opError {
	if s.allowed.user == s.user && s.allowed.topic == topic && topic != "" {
		return nil
	}
	if err := match.ValidateTopic(topic, match.DefaultLimits); err != nil {
		return s.invalid("invalid topic: " + err.Error())
	}
	if !s.user.CanPublish(topic) {
		return s.deny("publish to", topic)
	}
	s.allowed.user, s.allowed.topic = s.user, topic
	return nil
}

// —— The fan-out: what the deliveries of one publish share.

// fanout is a session's publish being delivered. It belongs to the
// session's reader goroutine, where every delivery of the publish runs.
type fanout struct {
	// batch is the reader's batch: the connections that the deliveries
	// sent to start writing once the reader has handled its read.
	batch *transport.Batch
	s     *session
	m     *whispeer.Message // the message being delivered; nil between publishes
	// native is m's MSG body, encoded once for every native subscriber
	// after the first; json its PopSub frame.
	native, json []byte
	// scratch holds the MSG body of the first QoS 0 native delivery of a
	// small message, which the subscriber's connection copies: a message
	// delivered once costs no allocation for its encoding. A message
	// delivered again gets a lasting encoding (native), queued by
	// reference by every later connection, which costs less than copying
	// it into each.
	scratch   []byte
	scratched bool // the scratch served m
}

// fanoutOf returns the fan-out of m's publish when a session of this
// server published it and this is that publish, or nil.
func fanoutOf(m *whispeer.Message) *fanout {
	s, ok := m.Publisher().(*session)
	if !ok {
		return nil
	}
	f := &s.fan
	if f.m != m {
		f.m, f.native, f.json, f.scratched = m, nil, nil, false
	}
	return f
}

// done ends a publish's fan-out: the broker may reuse the message it
// routed for the next publish, whose first delivery encodes anew.
func (f *fanout) done() { f.m, f.native, f.json = nil, nil, nil }

// batchOf returns the batch of f's reader, nil for no fan-out.
func batchOf(f *fanout) *transport.Batch {
	if f == nil {
		return nil
	}
	return f.batch
}

// nativeBody returns m's MSG body for a delivery at QoS qos with a head
// of at most headLen bytes, and whether it is in the scratch, valid only
// during the send.
func (f *fanout) nativeBody(m *whispeer.Message, qos whispeer.QoS, headLen int) ([]byte, bool) {
	if f.native != nil {
		return f.native, false
	}
	if qos == whispeer.AtMostOnce && !f.scratched && len(m.Payload)+len(m.Topic)+len(m.ID)+headLen <= scratchLimit {
		if body := appendBody(f.scratch[:0], m); body != nil && len(body)+headLen <= scratchLimit {
			f.scratch, f.scratched = body, true
			return body, true
		}
	}
	f.native = encodeBody(m)
	return f.native, false
}

// jsonFrame returns m's PopSub delivery frame.
func (f *fanout) jsonFrame(m *whispeer.Message, encode func([]byte, *whispeer.Message) []byte) []byte {
	if f.json == nil {
		f.json = encode(nil, m)
	}
	return f.json
}

// scratchLimit is the largest MSG frame, head and body, that a delivery
// encodes into its fan-out's scratch: both transports copy a frame that
// small when it is queued, so the buffer is free again once the send
// returns.
const scratchLimit = transport.CopyLimit

// —— The deliveries: a subscription's handler, in the publisher's goroutine.

// deliver is the handler of a native subscription, for live messages;
// replay is its handler for history and stored messages replayed to it
// (whispeer.Pacing.Replay), flagged as replays. Both run in the
// publisher's, or the catch-up's, goroutine and queue the message's body,
// encoded once per publish for every native connection (fanout), behind a
// head of this subscription's own; at QoS 1 the copy is tracked until the
// client acks it.
func (ns *nativeSub) deliver(_ context.Context, m *whispeer.Message) error {
	ns.send(m, false)
	return nil
}

func (ns *nativeSub) replay(_ context.Context, m *whispeer.Message) error {
	ns.send(m, true)
	return nil
}

// send queues m's MSG for the subscription; see deliver.
func (ns *nativeSub) send(m *whispeer.Message, replay bool) {
	qos := wire.QoS(min(m.QoS, ns.qos))
	var body []byte
	scratched := false
	f := fanoutOf(m)
	if f != nil {
		body, scratched = f.nativeBody(m, whispeer.QoS(qos), maxHead)
	} else {
		sh := &ns.s.srv.shared
		body = sh.frame(&sh.native, m, appendBody)
	}
	if len(body) == 0 || wire.MessageHeadLen-4+len(body) > ns.n.maxOut {
		ns.s.srv.stats.undeliverable.Add(1)
		return
	}
	msg := wire.Message{
		QoS:      qos,
		Envelope: m.Sealed,
		Replay:   replay,
		SID:      ns.sid,
		Topic:    bytesOf(m.Topic),
		ID:       bytesOf(m.ID),
	}
	var h [maxHead]byte
	head, ok := ns.n.head(h[:0], &msg, len(body))
	if !ok {
		ns.s.srv.stats.undeliverable.Add(1)
		return
	}
	if msg.QoS == wire.AtMostOnce {
		ns.s.sendIn(batchOf(f), head, body, true, scratched)
		return
	}
	if msg.QoS == wire.ExactlyOnce && ns.s.overflows(replay) {
		return
	}
	ns.s.window.deliver(f, replay, ackKey{sid: ns.sid, id: m.ID}, msgKey{m.Topic, m.Seq}, head, body, len(head)-(wire.MessageHeadLen-5))
}

// deliver is the handler of every subscription of a JSON session, and
// replay its handler for the messages replayed to it: each queues the
// message's frame, encoded once per publish for all connections (fanout),
// and at QoS 1 tracks the copy until the client acks it. Subscriptions are
// sync: the handler runs in the publisher's goroutine and only queues
// bytes. They are raw: with the broker sealing payloads, clients get the
// envelopes, which only they can open.
func (s *session) deliver(_ context.Context, m *whispeer.Message) error {
	s.sendJSON(m, false)
	return nil
}

func (s *session) replay(_ context.Context, m *whispeer.Message) error {
	s.sendJSON(m, true)
	return nil
}

// sendJSON queues m's frame; see deliver.
func (s *session) sendJSON(m *whispeer.Message, replay bool) {
	var frame []byte
	f := fanoutOf(m)
	if f != nil {
		frame = f.jsonFrame(m, s.srv.jsonEncoder())
	} else {
		frame = s.srv.shared.frame(&s.srv.shared.json, m, s.srv.jsonEncoder())
	}
	if m.QoS == whispeer.AtMostOnce {
		s.sendIn(batchOf(f), nil, frame, false, false)
		return
	}
	s.window.deliver(f, replay, ackKey{id: m.ID}, msgKey{m.Topic, m.Seq}, nil, frame, -1)
}

// head appends the per-subscriber head of a MSG whose body has bodyLen
// bytes. On a WebSocket connection the MSG goes without a WebSocket header
// of its own: the connection gathers MSGs into binary messages.
func (n *native) head(dst []byte, m *wire.Message, bodyLen int) ([]byte, bool) {
	out, err := wire.AppendMessageHead(dst, m, bodyLen)
	return out, err == nil
}

// —— Encode once: the frames every connection of a protocol shares.

// encodeBody encodes the body of m's MSG frame: everything but the
// per-subscriber head, the same for every subscriber over TCP and
// WebSocket alike. It returns nil for a message the native protocol
// cannot carry, such as one with an id over 255 bytes from a JSON client.
func encodeBody(m *whispeer.Message) []byte { return appendBody(nil, m) }

// appendBody appends the body of m's MSG frame to dst[:0]; see encodeBody.
func appendBody(dst []byte, m *whispeer.Message) []byte {
	dst = dst[:0]
	h, err := wire.DecodeHeaders(m.Headers.Encoded()) // as the publisher sent them
	if err != nil {
		return nil
	}
	b, err := wire.AppendMessageBody(dst, &wire.Message{
		Offset:  m.Seq,
		Time:    m.Time.UnixNano(),
		Topic:   bytesOf(m.Topic),
		ID:      bytesOf(m.ID),
		Headers: h,
		Payload: m.Payload,
	})
	if err != nil {
		return nil
	}
	return b
}

// jsonEncoder returns the server's encoder of PopSub delivery frames:
// with the message's offset in its topic's log on a server with a store.
func (srv *Server) jsonEncoder() func([]byte, *whispeer.Message) []byte {
	if srv.store {
		return appendJSONOffset
	}
	return appendJSON
}

// appendJSON appends to dst[:0], or to a new buffer when dst has no
// room, m as a complete WebSocket text frame carrying
// {"type":"message",…}. A payload that is not one JSON value, such as an
// envelope or bytes from a binary client, is written as
// json.AppendDelivery describes, with its "encoding", and an envelope with
// "sealed":true.
func appendJSON(dst []byte, m *whispeer.Message) []byte {
	return appendDelivery(dst, m, 0, whispeer.AtLeastOnce)
}

// appendJSONOffset is appendJSON with the message's offset in its topic's
// log.
func appendJSONOffset(dst []byte, m *whispeer.Message) []byte {
	return appendDelivery(dst, m, m.Seq, whispeer.AtLeastOnce)
}

// appendJSONQoS is the server's encoder of a delivery at m's QoS up to
// qos.
func (srv *Server) appendJSONQoS(dst []byte, m *whispeer.Message, qos whispeer.QoS) []byte {
	var offset uint64
	if srv.store {
		offset = m.Seq
	}
	return appendDelivery(dst, m, offset, qos)
}

// appendDelivery appends m's delivery frame at m's QoS up to qos, with
// offset; see appendJSON.
func appendDelivery(dst []byte, m *whispeer.Message, offset uint64, qos whispeer.QoS) []byte {
	if cap(dst) == 0 {
		dst = make([]byte, 0, ws.HeaderRoom+120+len(m.Topic)+len(m.ID)+len(m.Payload))
	}
	buf := append(dst[:0], make([]byte, ws.HeaderRoom)...)
	buf = json.AppendDelivery(buf, &json.Delivery{Topic: m.Topic, Payload: m.Payload, Timestamp: m.Time.Unix(),
		MessageID: m.ID, QoS: uint8(min(m.QoS, qos)), Offset: offset, Sealed: m.Sealed})
	return ws.Frame(ws.Text, buf)
}

// bytesOf returns the bytes of s without copying them, for encoders that
// only read them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// shared is the fan-out of the messages that no session of the server
// published: the library's own, and history and stored messages replayed.
// The deliveries of one publish run one after another, so the last
// message encoded serves the rest; concurrent publishes may each encode
// theirs. An encoding is never changed once published here.
type shared struct {
	native, json atomic.Pointer[encoded]
}

// encoded is one message's frame, and what tells it from another message
// that the broker placed at the same address since.
type encoded struct {
	m     *whispeer.Message
	topic string
	seq   uint64
	time  time.Time
	b     []byte
	small [256]byte // b, when it fits: one allocation for both
}

// frame returns the frame of m in p, encoding it with enc, which
// appends to its argument, when p holds another message's.
func (sh *shared) frame(p *atomic.Pointer[encoded], m *whispeer.Message, enc func([]byte, *whispeer.Message) []byte) []byte {
	if e := p.Load(); e != nil && e.m == m && e.seq == m.Seq && e.topic == m.Topic && e.time.Equal(m.Time) {
		return e.b
	}
	e := &encoded{m: m, topic: m.Topic, seq: m.Seq, time: m.Time}
	e.b = enc(e.small[:0], m)
	p.Store(e)
	return e.b
}

// —— Enqueue: the frames go to the connection's queue, in the publisher's batch.

// sendIn queues a delivery made by a publish whose reader's batch is b
// (nil for none), which batches the writes of a publisher's burst, behind
// the deliveries held during a subscribe. data marks a native MSG, which a
// WebSocket connection gathers with the MSGs next to it into one binary
// message; head is then the MSG's head alone, without a WebSocket header.
// scratched marks a body in a publisher's scratch, which the connection
// copies: it is valid only during the call.
func (s *session) sendIn(b *transport.Batch, head, body []byte, data, scratched bool) {
	if s.holding.Load() && s.hold(head, body, data, scratched) {
		return
	}
	s.queueIn(b, head, body, data, scratched)
}

// queueIn queues a delivery on the connection: a native MSG (data) with
// SendDataIn, anything else with SendHeadIn.
func (s *session) queueIn(b *transport.Batch, head, body []byte, data, copyBody bool) {
	if data {
		s.link.SendDataIn(b, head, body, copyBody)
		return
	}
	s.link.SendHeadIn(b, head, body, copyBody)
}
