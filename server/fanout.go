package server

import (
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/transport"
)

// A publish is fanned out by the broker to the handlers of the
// subscriptions it matches, which run one after another in the
// publisher's goroutine. What those deliveries share, the frames encoded
// once for all of them and the connections to flush, belongs to the fan-out
// of the publish, not to the message: a session's publishes are fanned out
// in the session's fanout, found on the message by its publisher (the
// session, see session.PublisherID); other publishes, by the library in
// process, share the server's last encoding (shared).

// scratchLimit is the largest MSG frame, head and body, that a delivery
// encodes into its fan-out's scratch: both transports copy a frame that
// small when it is queued, so the buffer is free again once the send
// returns.
const scratchLimit = transport.CopyLimit

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
func (f *fanout) jsonFrame(m *whispeer.Message, encode func(*whispeer.Message) []byte) []byte {
	if f.json == nil {
		f.json = encode(m)
	}
	return f.json
}

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
