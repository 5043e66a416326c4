package server

// Exactly once (QoS 2), the part both protocols share: the publish ids a
// connection holds until their release, the publisher identity the broker
// de-duplicates under, and the second step of a delivery in the in-flight
// window (docs/protocol.md and docs/protocol-native.md, "QoS 2").

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/internal/msgid"
	"github.com/whispeer-io/whispeer/transport"
)

// heldIDs are the ids of a connection's QoS 2 publishes that await their
// release (PUBREL, pubrel), at most max of them. The reader adds and
// releases them; a publish's outcome, which may come in the store's
// goroutine, drops the id of one that failed.
type heldIDs struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

// add holds id, unless max ids are held already. It reports whether id is
// new to the connection: a retransmission is not counted twice.
func (h *heldIDs) add(id string, max int) (added bool, e *opError) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.ids[id]; ok {
		return false, nil
	}
	if len(h.ids) >= max {
		return false, &opError{whispeer.CodeLimit, "too many QoS 2 publishes in flight: the limit is " + strconv.Itoa(max)}
	}
	if h.ids == nil {
		h.ids = make(map[string]struct{})
	}
	h.ids[id] = struct{}{}
	return true, nil
}

// drop forgets id.
func (h *heldIDs) drop(id string) {
	h.mu.Lock()
	delete(h.ids, id)
	h.mu.Unlock()
}

// StableID names the session's client across its connections for the
// broker's de-duplication of QoS 2 publishes: its user and the stable id
// it gave (a native HELLO's session, or the one the server chose for it;
// a JSON auth's client_id), joined by a byte no user name holds, so that
// no user can name another's ids; "" for a JSON client that gave none,
// which leaves the connection its own publisher. It is
// called in the reader goroutine, as the session's publishes are made.
func (s *session) StableID() string {
	if s.clientID == "" || s.user == nil {
		return ""
	}
	if s.stableFor != s.user {
		s.stable, s.stableFor = s.user.Name()+"\x00"+s.clientID, s.user
	}
	return s.stable
}

// chosenSession returns the session the server gives a native connection
// whose HELLO named none: its id, after one drawn for the process, so that
// a client naming it again after a restart of the server is not taken for
// another that was given the same connection id before.
func chosenSession(connID string) string { return processID() + "/" + connID }

// processID is drawn once per process.
var processID = sync.OnceValue(func() string {
	var b [msgid.Len]byte
	msgid.New().Fill(&b)
	return string(b[:])
})

// dedupID is the identity the broker holds the session's QoS 2 ids
// under: StableID, or else PublisherID.
func (s *session) dedupID() string {
	if id := s.StableID(); id != "" {
		return id
	}
	return s.PublisherID()
}

// durableID names the durable QoS 2 subscription to pattern of a JSON
// client that gave a client_id: its user, that id and the pattern; "" for
// a client that gave none, whose QoS 2 subscriptions last as long as its
// connection.
func (s *session) durableID(pattern string) string {
	if id := s.StableID(); id != "" {
		return id + "\x00" + pattern
	}
	return ""
}

// holdDurable holds, before sub is made, its durable subscription in the
// server's durables, unless the user keeps too many already.
func (s *session) holdDurable(sub *subscription) *opError {
	if sub.durable == "" {
		return nil
	}
	return s.srv.durables.attach(s.user.Name(), sub.durable)
}

// markDurable records sub, just made and held, if it is durable; made is
// false when the broker refused it, whose hold is let go.
func (s *session) markDurable(sub *subscription, made bool) {
	if sub.durable == "" {
		return
	}
	d := durableRef{user: s.user.Name(), name: sub.durable}
	if !made {
		s.srv.durables.detach(d, false)
		return
	}
	if s.durable == nil {
		s.durable = make(map[subKey]durableRef)
	}
	s.durable[sub.key] = d
}

// durableRef names a durable subscription in the server's durables, and
// the topic of the last cursor the connection saved for it.
type durableRef struct{ user, name, topic string }

// saveCursors advances, past message m, the cursors of the session's
// durable subscriptions that the client's PUBREC (or pubrec) names:
// subscription key's, or every durable one matching m's topic when key
// is the zero subKey (JSON acknowledgements name no subscription).
func (s *session) saveCursors(key subKey, m msgKey) {
	if len(s.durable) == 0 {
		return
	}
	msg := &whispeer.Message{Topic: m.topic, Seq: m.seq}
	for k, d := range s.durable {
		if (key == subKey{} && match.Matches(k.pattern, m.topic)) || (key != subKey{} && k == key) {
			s.subs[k].Ack(msg) // a failure is logged by the broker: the cursor lags
			if d.topic != m.topic {
				d.topic = m.topic
				s.durable[k] = d
			}
		}
	}
}

// publishOnce publishes p at QoS 2, holding its id on the connection until
// the client releases it, and calls done with its outcome as publish does;
// ack answers a refusal made before the broker saw it. A retransmission of
// an id the broker holds is answered as the first publish was and neither
// stored nor delivered again (the broker's de-duplication).
func (s *session) publishOnce(p *whispeer.Message, done func(*opError)) *opError {
	id := p.ID
	added, e := s.once.add(id, s.srv.cfg.QoS.MaxInflight)
	if e != nil {
		return e
	}
	e = s.publish(p, func(e *opError) {
		if e != nil && added {
			s.once.drop(id)
		}
		done(e)
	})
	if e != nil && added {
		s.once.drop(id)
	}
	return e
}

// releaseOnce releases a QoS 2 id the client published, and reports
// whether the broker held it.
func (s *session) releaseOnce(id string) bool {
	s.once.drop(id)
	return s.srv.broker.Release(s.dedupID(), id)
}

// overflows reports whether a QoS 2 copy would find the session's window
// and its queue full, where a QoS 1 copy is dropped, and then ends the
// connection as a slow consumer: at QoS 2 the server never skips a
// message on a subscription; the client resumes from what it received.
// A copy racing another publisher's to the queue's last place may still
// be dropped, and is counted.
func (s *session) overflows(replay bool) bool {
	q := s.window
	q.mu.Lock()
	full := !q.closed && len(q.queued) >= q.maxQueued && q.n >= q.maxInflight && !replay
	q.mu.Unlock()
	if full {
		s.link.Close(nil, fmt.Errorf("%w: QoS 2 deliveries past qos.max_queued", transport.ErrSlowConsumer))
	}
	return full
}

// received moves the QoS 2 delivery that a PUBREC (or pubrec) names, by
// key and, when not 0, sequence number, to its second step: the release
// that rel encodes for the delivery's message, sent now and again on the
// resend schedule until the delivery is completed. A PUBREC repeated for a
// delivery already released has its release sent again. It reports
// whether the window held the delivery, and its message.
func (q *inflight) received(key ackKey, seq uint64, rel func(msgKey) []byte) (msgKey, bool) {
	if q == nil {
		return msgKey{}, false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	p := q.byID[key]
	for p != nil && seq != 0 && p.msg.seq != seq {
		p = p.next
	}
	for p != nil && seq == 0 && p.released && p.next != nil {
		p = p.next // the oldest delivery not yet received
	}
	if p == nil {
		return msgKey{}, false
	}
	if !p.released {
		p.released = true
		p.copy = newDelivery(nil, rel(p.msg), -1)
		p.retries = 0
		p.deadline = time.Now().Add(q.ackTimeout)
		q.down(p.index)
		q.up(p.index)
		q.arm(p.deadline)
	}
	p.copy.send(nil, q.s)
	return p.msg, true
}

// complete ends the QoS 2 delivery that a PUBCOMP (or pubcomp) names, if
// the window holds it released: a PUBCOMP before the PUBREC is ignored.
func (q *inflight) complete(key ackKey, seq uint64) {
	q.clear(key, seq, true)
}

var _ whispeer.StablePublisher = (*session)(nil)
