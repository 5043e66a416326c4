package netconn

import "time"

// Flow control. A queue whose bytes, queued and being written, pass
// HighWaterBytes while a reader's Batch sends to it marks that Batch: when
// the reader flushes the Batch, before it reads again, it waits until every
// queue so marked is back under LowWaterBytes, or has closed, for at most
// MaxStall in all. A publisher that fills a subscriber's queue is so slowed
// to the pace of the subscriber's socket. A queue that does not drain within
// MaxStall has had its chance: it stalls no reader again until it is back
// under its low-water mark, and the slow-consumer policy applies to it (its
// queue passing MaxPendingBytes, or a write taking over WriteTimeout, drops
// it). A subscriber that stops reading holds its publishers up by MaxStall
// once, not at every read.

// highWater returns the bytes above which a queue stalls its senders.
func (c *Config) highWater() int {
	if c.HighWaterBytes > 0 {
		return c.HighWaterBytes
	}
	return c.MaxPendingBytes / 2
}

// lowWater returns the bytes at or below which a queue has room again.
func (c *Config) lowWater() int {
	if c.LowWaterBytes > 0 {
		return c.LowWaterBytes
	}
	return c.MaxPendingBytes / 4
}

// Room returns nil when the queue holds no more than its low-water mark,
// queued and being written, or has closed; otherwise a channel that is
// closed once it does either. A producer that reads from a source as fast
// as the connection drains, such as a replay from a store, waits on it
// before it sends more.
func (q *Queue) Room() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state != Open || q.pending+q.inWrite <= q.cfg.lowWater() {
		return nil
	}
	if q.room == nil {
		q.room = make(chan struct{})
	}
	return q.room
}

// above reports whether the queue has passed its high-water mark; q.mu is
// held.
func (q *Queue) above() bool {
	return !q.gaveUp && q.pending+q.inWrite > q.cfg.highWater()
}

// wakeRoom closes the room channel when the queue is back at its low-water
// mark or has closed; q.mu is held.
func (q *Queue) wakeRoom() {
	if q.state != Open || q.pending+q.inWrite <= q.cfg.lowWater() {
		q.gaveUp = false
		if q.room != nil {
			close(q.room)
			q.room = nil
		}
	}
}

// GiveUp marks the queue as one that did not drain within a reader's
// MaxStall, if it is still over its high-water mark.
func (q *Queue) GiveUp() {
	q.mu.Lock()
	if q.above() {
		q.gaveUp = true
	}
	q.mu.Unlock()
}

// Waiter is what a reader may stall on: a connection's queue, or a
// subscriber's own queue of messages held for it, such as the server's
// QoS 1 queue behind a full window of unacknowledged messages.
type Waiter interface {
	// Room returns nil when the waiter is at or under its low-water mark,
	// or closed; otherwise a channel closed once it is.
	Room() <-chan struct{}
	// GiveUp tells the waiter that a reader stalled on it for MaxStall in
	// vain: it stalls no reader again until it is back at its low-water
	// mark, and its own overflow policy applies.
	GiveUp()
}

// StallOn marks b's reader to wait for w when b is flushed: a producer
// other than a Queue calls it when a send through b took w past its
// high-water mark.
func (b *Batch) StallOn(w Waiter) {
	for _, s := range b.full {
		if s == w {
			return
		}
	}
	b.full = append(b.full, w)
}

// stall waits until the waiters that passed their high-water mark during
// the batch have room again, for at most max in all; those still full when
// max has passed are given up on.
func (b *Batch) stall(max time.Duration) {
	defer func() { b.full = b.full[:0] }()
	if max <= 0 {
		clear(b.full)
		return
	}
	var timer *time.Timer
	expired := false
	for i, q := range b.full {
		b.full[i] = nil
		if expired {
			q.GiveUp()
			continue
		}
		ch := q.Room()
		if ch == nil {
			continue
		}
		if timer == nil {
			timer = time.NewTimer(max)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			expired = true
			q.GiveUp()
		}
	}
}

// Yield is called by a reader between the frames of a batch: if the frames
// handled so far filled a queue past its high-water mark, it flushes the
// batch, which waits for the queues to drain (see Flush), and corks own,
// the reader's queue, into it again for the rest. A publisher is so slowed
// at the frame that filled a queue, not at the end of a read of many.
func (b *Batch) Yield(own *Queue) {
	if len(b.full) == 0 {
		return
	}
	b.Flush()
	own.Cork(b)
}
