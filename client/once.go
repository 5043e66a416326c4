package client

// Exactly once (QoS 2): the two steps of a publish (PUB → PUBREC → PUBREL
// → PUBCOMP) and of a delivery (MSG → PUBREC → PUBREL → PUBCOMP), see
// docs/protocol-native.md, "QoS flows".

import (
	"fmt"
	"sync"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// exactlyOnce handles the server's QoS 2 frames: the PUBREC and PUBCOMP of
// a publish (sid 0) and the PUBREL of a delivery.
func (c *Client) exactlyOnce(cn *conn, t wire.Type, a *wire.Ack) error {
	switch {
	case t == wire.TypePubRec && a.SID == 0:
		c.onPubRec(cn, a)
	case t == wire.TypePubComp && a.SID == 0:
		c.onPubComp(a)
	case t == wire.TypePubRel && a.SID != 0:
		c.onPubRel(cn, a)
	default:
		return protocolError(fmt.Errorf("%v for subscription %d", t, a.SID))
	}
	return nil
}

// onPubRec moves the QoS 2 publish a PUBREC accepts to its second step:
// the PUBREL, sent now and again after every reconnect until the PUBCOMP.
// A refusal completes the publish with the server's error.
func (c *Client) onPubRec(cn *conn, a *wire.Ack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.inflight[string(a.ID)]
	if p == nil || !p.once() {
		return
	}
	if a.Code != wire.CodeOK {
		c.finishLocked(p, serverError(a.Code, false, wire.TypePublish, a.Text))
		return
	}
	if !p.released {
		p.released = true
		p.frame, _ = wire.AppendAck(p.frame[:0], wire.TypePubRel, &wire.Ack{ID: bytesOf(p.id)})
	}
	c.queueLocked(cn, p.frame)
}

// once reports whether p is a QoS 2 publish.
func (p *pending) once() bool {
	return p.released || wire.QoS(p.frame[wire.HeaderLen]&3) == wire.ExactlyOnce
}

// granted reports whether the current connection's server granted want,
// or true while disconnected: the next server will say.
func (c *Client) granted(want wire.Caps) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur == nil || c.cur.caps.Has(want)
}

// onPubComp completes the QoS 2 publish whose release a PUBCOMP confirms.
// Its code does not matter: not_found says the server no longer held the
// id, which it released before.
func (c *Client) onPubComp(a *wire.Ack) {
	c.mu.Lock()
	if p := c.inflight[string(a.ID)]; p != nil && p.released {
		c.finishLocked(p, nil)
	}
	c.mu.Unlock()
}

// received is a subscription's QoS 2 deliveries handed over to its
// handler and not yet released by the server, each named by its message
// id and offset: a delivery sent again is not handed over again. The
// connection's reader adds them; the subscription's goroutine marks them
// received once the handler took them; a PUBREL forgets them.
type received struct {
	mu  sync.Mutex
	ids map[onceKey]bool // true once its PUBREC was sent
}

// onceKey names a QoS 2 delivery on a subscription.
type onceKey struct {
	id  string
	seq uint64
}

// arrived reports whether the QoS 2 delivery m should be handed over: it
// is new to s. A delivery s's handler took already is answered with its
// PUBREC again, as is one of a durable subscription to a topic at or
// below its floor: its server's cursor lagged (a crash) behind what the
// handler took before.
func (c *Client) arrived(cn *conn, s *Subscription, m *wire.Message) bool {
	r := &s.once
	r.mu.Lock()
	k := onceKey{string(m.ID), m.Offset}
	took, seen := r.ids[k]
	if !seen && m.Offset != 0 && m.Offset <= s.floor.Load() {
		took, seen = true, true // a durable cursor behind what was handed over
	}
	if !seen {
		if r.ids == nil {
			r.ids = make(map[onceKey]bool)
		}
		r.ids[k] = false
	}
	r.mu.Unlock()
	if took {
		c.mu.Lock()
		c.queueLocked(cn, appendDeliveryAck(nil, wire.TypePubRec, cn, s.sid, k.id, k.seq))
		c.mu.Unlock()
	}
	return !seen
}

// received marks m taken by the handler and sends its PUBREC on the
// connection it arrived on.
func (s *Subscription) received(m *Message) {
	r := &s.once
	k := onceKey{m.ID, m.Seq}
	r.mu.Lock()
	if _, ok := r.ids[k]; ok {
		r.ids[k] = true // the map keeps its own copy of the id
	}
	r.mu.Unlock()
	if s.cfg.durable && s.concrete {
		for h := s.handed.Load(); m.Seq > h && !s.handed.CompareAndSwap(h, m.Seq); h = s.handed.Load() {
		}
	}
	c := s.c
	c.mu.Lock()
	if cn := c.cur; cn != nil && cn.gen == m.gen {
		c.queueLocked(cn, appendDeliveryAck(nil, wire.TypePubRec, cn, s.sid, k.id, k.seq))
	}
	c.mu.Unlock()
}

// forget forgets m, which the handler did not take, so that it is handed
// over when it is sent again.
func (r *received) forget(m *Message) {
	r.mu.Lock()
	delete(r.ids, onceKey{m.ID, m.Seq})
	r.mu.Unlock()
}

// reset forgets the deliveries whose PUBREC was sent: on a new connection
// the server holds no release for them.
func (r *received) reset() {
	r.mu.Lock()
	for k, took := range r.ids {
		if took {
			delete(r.ids, k)
		}
	}
	r.mu.Unlock()
}

// onPubRel forgets the delivery a PUBREL releases and completes it with a
// PUBCOMP.
func (c *Client) onPubRel(cn *conn, a *wire.Ack) {
	if s := c.lookup(a.SID); s != nil {
		r := &s.once
		r.mu.Lock()
		if a.Offset != 0 {
			delete(r.ids, onceKey{string(a.ID), a.Offset})
		} else {
			for k := range r.ids {
				if k.id == string(a.ID) {
					delete(r.ids, k)
					break
				}
			}
		}
		r.mu.Unlock()
	}
	c.mu.Lock()
	c.queueLocked(cn, appendDeliveryAck(nil, wire.TypePubComp, cn, a.SID, string(a.ID), a.Offset))
	c.mu.Unlock()
}

// appendDeliveryAck appends the acknowledgement t of a delivery on sid,
// naming its offset to a server that granted CapAckOffset.
func appendDeliveryAck(dst []byte, t wire.Type, cn *conn, sid uint32, id string, seq uint64) []byte {
	a := wire.Ack{SID: sid, ID: bytesOf(id)}
	if cn.caps.Has(wire.CapAckOffset) {
		a.Offset = seq
	}
	b, _ := wire.AppendAck(dst, t, &a)
	return b
}
