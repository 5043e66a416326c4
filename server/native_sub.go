package server

import (
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
	qos whispeer.QoS // at most 1 unless QoS 2 is granted
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
	sid := sub.SID // sub views the read buffer; incomplete may run later
	req.incomplete = func() {
		n.sendError(&opError{whispeer.CodeUnavailable, "replay of " + quote(pattern) + " (subscription " + sidText(sid) + ") incomplete: messages were lost"}, false, wire.TypeSubscribe)
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
	case wire.ResumeDurable:
		if sub.QoS != wire.ExactlyOnce || n.maxQoS() < wire.ExactlyOnce {
			n.s.send(n.subAck(sub.SID, n.s.invalid("a durable subscription needs QoS 2, and the qos2 capability"), nil, false))
			return
		}
		req.durable = n.s.durableID(pattern)
	}
	ns := &nativeSub{s: n.s, n: n, sid: sub.SID, qos: whispeer.QoS(min(sub.QoS, n.maxQoS()))}
	req.handler, req.replayed = ns.deliver, ns.replay
	if sub.Presence && n.caps.Has(wire.CapPresence) {
		req.watch = n.watcher(sub.SID)
	}
	bs, e := n.s.subscribe(&req)
	resumed := sub.Resume.Mode == wire.ResumeOffset || sub.Resume.Mode == wire.ResumeDurable
	n.s.release(n.subAck(sub.SID, e, bs, resumed))
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
