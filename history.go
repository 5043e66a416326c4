package whispeer

import (
	"strings"
	"time"
	"unsafe"

	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/msgid"
)

// history is a topic's last messages, a ring that grows up to its limit.
// It is guarded by its topicState's lock. The ring owns its entries: add
// copies a message into the entry it overwrites, reusing the entry's
// buffer, so that a topic's history costs no allocation per message once
// the ring is full, and a publish may lend its message (WithBorrow) even
// with history on. last returns copies.
type history struct {
	ring []*entry
	next int // where the next message goes once the ring is full
}

// entry is one message of a history, with its own copy of a generated id
// and of a borrowed message's payload. Other payloads, and headers, are
// shared: nobody changes them.
type entry struct {
	topic, id string
	idb       [msgid.Len]byte
	payload   []byte
	owned     bool // payload is the entry's buffer, not a kept message's
	headers   map[string]string
	qos       QoS
	sealed    bool
	seq       uint64
	time      time.Time
	engine    *envelope.Engine
}

// add records m, keeping at most limit messages.
func (h *history) add(m *Message, limit int) {
	if limit == 0 {
		return
	}
	var e *entry
	if len(h.ring) < limit {
		e = new(entry)
		h.ring = append(h.ring, e)
	} else {
		e = h.ring[h.next]
		h.next = (h.next + 1) % len(h.ring)
	}
	e.set(m)
}

// len returns how many messages the history holds.
func (h *history) len() int { return len(h.ring) }

// last returns copies of up to n of the newest messages, oldest first.
func (h *history) last(n int) []*Message {
	n = min(n, len(h.ring))
	out := make([]*Message, 0, n)
	for i := len(h.ring) - n; i < len(h.ring); i++ {
		out = append(out, h.ring[(h.next+i)%len(h.ring)].message())
	}
	return out
}

// set copies m into e.
func (e *entry) set(m *Message) {
	e.topic, e.id = m.Topic, m.ID
	switch {
	case len(m.ID) <= msgid.Len:
		n := copy(e.idb[:], m.ID)
		e.id = unsafe.String(&e.idb[0], n)
	case m.borrowed:
		e.id = strings.Clone(m.ID) // the publisher's buffer, lent
	}
	switch {
	case !m.borrowed:
		e.payload, e.owned = m.Payload, false // the broker's to keep: shared
	default:
		if c := cap(e.payload); !e.owned || (c > 1024 && c > 4*len(m.Payload)) {
			e.payload = nil // not ours to write into, or outsized: let it go
		}
		e.payload, e.owned = append(e.payload[:0], m.Payload...), true
	}
	e.headers, e.qos, e.sealed, e.seq, e.engine = m.Headers, m.QoS, m.Sealed, m.Seq, m.engine
	e.time = m.Time
}

// message returns a new Message holding a copy of e.
func (e *entry) message() *Message {
	box := newBox(e.payload, e.owned, false)
	m := &box.Message
	m.Topic, m.ID, m.Headers, m.QoS, m.Sealed = e.topic, e.id, e.headers, e.qos, e.sealed
	m.Seq, m.Time, m.engine = e.seq, e.time, e.engine
	if len(e.id) <= msgid.Len {
		n := copy(box.id[:], e.id)
		m.ID = unsafe.String(&box.id[0], n)
	}
	return m
}
