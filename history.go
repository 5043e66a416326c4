package whispeer

// history is a topic's last messages, a ring that grows up to its limit.
// It is guarded by its topicState's lock.
type history struct {
	ring []*Message
	next int // where the next message goes once the ring is full
}

// add records m, keeping at most limit messages.
func (h *history) add(m *Message, limit int) {
	if limit == 0 {
		return
	}
	if len(h.ring) < limit {
		h.ring = append(h.ring, m)
		return
	}
	h.ring[h.next] = m
	h.next = (h.next + 1) % len(h.ring)
}

// last returns up to n of the newest messages, oldest first.
func (h *history) last(n int) []*Message {
	n = min(n, len(h.ring))
	out := make([]*Message, 0, n)
	for i := len(h.ring) - n; i < len(h.ring); i++ {
		out = append(out, h.ring[(h.next+i)%len(h.ring)])
	}
	return out
}
