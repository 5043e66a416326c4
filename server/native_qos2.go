package server

import (
	"unsafe"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// maxQoS is the highest QoS of the connection's deliveries: 2 when it was
// granted qos2, else 1.
func (n *native) maxQoS() wire.QoS {
	if n.caps.Has(wire.CapQoS2) {
		return wire.ExactlyOnce
	}
	return wire.AtLeastOnce
}

// exactlyOnce handles the client's QoS 2 acknowledgements: the PUBREL of
// one of its publishes (sid 0), the PUBREC and PUBCOMP of a delivery.
func (n *native) exactlyOnce(t wire.Type, a *wire.Ack) {
	if !n.caps.Has(wire.CapQoS2) {
		n.refuse(&opError{whispeer.CodeInvalid, "QoS 2 was not granted"}, t, false)
		return
	}
	switch {
	case t == wire.TypePubRel && a.SID == 0:
		n.release(a.ID)
	case t == wire.TypePubRel:
		n.refuse(&opError{whispeer.CodeInvalid, "PUBREL with a subscription id: clients release their publishes"}, t, false)
	case a.SID == 0:
		n.refuse(&opError{whispeer.CodeInvalid, t.String() + " with subscription id 0: clients acknowledge deliveries"}, t, false)
	case t == wire.TypePubRec:
		// The window looks the key up and keeps nothing of it.
		key := ackKey{sid: a.SID, id: unsafe.String(unsafe.SliceData(a.ID), len(a.ID))}
		if m, ok := n.s.window.received(key, a.Offset, n.pubRel(a.SID, key.id)); ok {
			n.s.saveCursors(subKey{sid: a.SID}, m)
		}
	default:
		key := ackKey{sid: a.SID, id: unsafe.String(unsafe.SliceData(a.ID), len(a.ID))}
		n.s.window.complete(key, a.Offset)
		n.s.acked(key.id)
	}
}

// release answers the PUBREL of a QoS 2 publish with a PUBCOMP: code 0
// when the broker held the id, not_found when it did not.
func (n *native) release(id []byte) {
	var e *opError
	if !n.s.releaseOnce(string(id)) {
		e = &opError{whispeer.CodeNotFound, "message id " + quote(string(id)) + " not held: the publish is complete"}
	}
	n.sendAck(wire.TypePubComp, 0, e, id)
}

// pubRel returns the function that encodes the PUBREL of a delivery on
// subscription sid of a message with id, which it copies.
func (n *native) pubRel(sid uint32, id string) func(msgKey) []byte {
	return func(m msgKey) []byte {
		a := wire.Ack{SID: sid, ID: []byte(id), Offset: m.seq}
		b, _ := wire.AppendAck(n.newBuf(32+len(id)), wire.TypePubRel, &a)
		return n.finish(b)
	}
}
