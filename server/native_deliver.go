package server

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// msgFlagDup is the dup bit of a MSG frame's flags, the fifth byte from the
// end of its head (docs/protocol-native.md, MSG).
const msgFlagDup = 1 << 3

// nativeSub is one native subscription: its id on the connection and the
// most QoS its client asked for.
type nativeSub struct {
	s   *session
	n   *native
	sid uint32
	qos whispeer.QoS // 0 or 1: QoS 2 is not granted
	// replaying is set while the broker replays history to the
	// subscription; messages accepted before since are then replays.
	replaying atomic.Bool
	since     time.Time
}

// subscribe starts a subscription: SUBACK first, then the replayed
// history, then live messages.
func (n *native) subscribe(sub *wire.Subscribe) {
	pattern := string(sub.Topic)
	if e := n.s.checkSubscribe(pattern); e != nil {
		n.s.send(n.subAck(sub.SID, e, nil, false))
		return
	}
	key := subKey{sid: sub.SID}
	if _, ok := n.s.subs[key]; ok {
		n.s.send(n.subAck(sub.SID, n.s.invalidCode(whispeer.CodeConflict, "subscription id "+sidText(sub.SID)+" is in use"), nil, false))
		return
	}
	req := subscription{key: key, pattern: pattern, subscriber: n.s.id + "/" + sidText(sub.SID)}
	req.incomplete = func() {
		n.sendError(&opError{whispeer.CodeUnavailable, "replay of " + quote(pattern) + " (subscription " + sidText(sub.SID) + ") incomplete: messages were lost"}, false, wire.TypeSubscribe)
	}
	switch sub.Resume.Mode {
	case wire.ResumeLast:
		req.replay = min(int(sub.Resume.Last), n.s.srv.maxReplay())
	case wire.ResumeOffset:
		if match.IsPattern(pattern) {
			n.s.send(n.subAck(sub.SID, n.s.invalid("resuming from an offset needs a topic, not a pattern"), nil, false))
			return
		}
		req.resume, req.epoch, req.offset = true, sub.Resume.Epoch, sub.Resume.Offset
	}
	ns := &nativeSub{s: n.s, n: n, sid: sub.SID, qos: whispeer.QoS(min(sub.QoS, wire.AtLeastOnce)), since: time.Now()}
	req.handler = ns.deliver
	ns.replaying.Store(req.replay > 0 || req.resume)
	bs, e := n.s.subscribe(&req)
	ns.replaying.Store(false)
	n.s.release(n.subAck(sub.SID, e, bs, sub.Resume.Mode == wire.ResumeOffset && !req.lost))
}

// subAck returns the SUBACK frame answering a SUB: success when e is nil,
// with bs's position and, for a resume, whether it recovered.
func (n *native) subAck(sid uint32, e *opError, bs *whispeer.Subscription, resumed bool) []byte {
	a := wire.SubAck{SID: sid}
	if e != nil {
		a.Code, a.Text = e.wireCode(), []byte("whispeer: "+e.text)
	} else {
		a.Epoch, a.Offset = bs.Position()
		a.Recovered = resumed && bs.Recovered()
	}
	b, _ := wire.AppendSubAck(n.newBuf(32+len(a.Text)), &a)
	return n.finish(b)
}

// unsubscribe ends a subscription; it has no answer unless it fails.
func (n *native) unsubscribe(u *wire.Unsubscribe) {
	if !n.s.unsubscribe(subKey{sid: u.SID}) {
		n.s.srv.stats.badFrames.Add(1)
		n.sendError(&opError{whispeer.CodeNotFound, "no subscription with id " + sidText(u.SID)}, false, wire.TypeUnsubscribe)
	}
}

// deliver is the handler of a native subscription. It runs in the
// publisher's goroutine and queues the message's body, encoded once per
// publish for every native connection (fanout.go), behind a head of this
// subscription's own; at QoS 1 the copy is tracked until the client acks
// it.
func (ns *nativeSub) deliver(ctx context.Context, m *whispeer.Message) error {
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
		return nil
	}
	msg := wire.Message{
		QoS:      qos,
		Envelope: m.Sealed,
		Replay:   replaying(ctx) || (ns.replaying.Load() && isReplay(f, m, ns.since)),
		SID:      ns.sid,
		Topic:    bytesOf(m.Topic),
		ID:       bytesOf(m.ID),
	}
	var h [maxHead]byte
	head, ok := ns.n.head(h[:0], &msg, len(body))
	if !ok {
		ns.s.srv.stats.undeliverable.Add(1)
		return nil
	}
	if msg.QoS == wire.AtMostOnce {
		ns.s.sendIn(batchOf(f), head, body, true, scratched)
		return nil
	}
	ns.s.window.deliver(ctx, f, ackKey{sid: ns.sid, id: m.ID}, msgKey{m.Topic, m.Seq}, head, body, len(head)-(wire.MessageHeadLen-5))
	return nil
}

// isReplay reports whether m, delivered with fan-out f while its
// subscription replays history, is history rather than live. A live
// message routed by a session's publish has a fan-out; its time is when
// its connection read it, which may precede since although it was routed
// after the subscription went live. Replays have none, and so do messages
// published in the process, which the broker's clock stamps when they are
// routed.
func isReplay(f *fanout, m *whispeer.Message, since time.Time) bool {
	return f == nil && m.Time.Before(since)
}

// head appends the per-subscriber head of a MSG whose body has bodyLen
// bytes. On a WebSocket connection the MSG goes without a WebSocket header
// of its own: the connection gathers MSGs into binary messages.
func (n *native) head(dst []byte, m *wire.Message, bodyLen int) ([]byte, bool) {
	out, err := wire.AppendMessageHead(dst, m, bodyLen)
	return out, err == nil
}

// encodeBody encodes the body of m's MSG frame: everything but the
// per-subscriber head, the same for every subscriber over TCP and
// WebSocket alike. It returns nil for a message the native protocol
// cannot carry, such as one with an id over 255 bytes from a JSON client.
func encodeBody(m *whispeer.Message) []byte { return appendBody(nil, m) }

// appendBody appends the body of m's MSG frame to dst[:0]; see encodeBody.
func appendBody(dst []byte, m *whispeer.Message) []byte {
	dst = dst[:0]
	var h wire.Headers
	if len(m.Headers) > 0 {
		var err error
		if h, err = wire.HeadersFromMap(m.Headers); err != nil {
			return nil
		}
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

// bytesOf returns the bytes of s without copying them, for encoders that
// only read them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
