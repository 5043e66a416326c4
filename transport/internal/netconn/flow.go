package netconn

import "time"

// Flow control. A queue whose bytes, queued and being written, pass
// HighWaterBytes while a reader's Batch sends to it marks that Batch: when
// the reader flushes the Batch, before it reads again, it waits until every
// queue so marked is back under LowWaterBytes, or has closed, for at most
// MaxStall in all. A publisher that fills a subscriber's queue is so slowed
// to the pace of the subscriber's socket, while a subscriber that stops
// reading is still dropped when a write takes over WriteTimeout or its queue
// passes MaxPendingBytes, and holds a publisher up by at most MaxStall per
// read.

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
	return q.pending+q.inWrite > q.cfg.highWater()
}

// wakeRoom closes the room channel when the queue is back at its low-water
// mark or has closed; q.mu is held.
func (q *Queue) wakeRoom() {
	if q.room != nil && (q.state != Open || q.pending+q.inWrite <= q.cfg.lowWater()) {
		close(q.room)
		q.room = nil
	}
}

// stallOn marks b's reader to wait for q when b is flushed.
func (b *Batch) stallOn(q *Queue) {
	for _, s := range b.full {
		if s == q {
			return
		}
	}
	b.full = append(b.full, q)
}

// stall waits until the queues that passed their high-water mark during
// the batch have room again, for at most max in all.
func (b *Batch) stall(max time.Duration) {
	var timer *time.Timer
	for i, q := range b.full {
		b.full[i] = nil
		ch := q.Room()
		if ch == nil || max <= 0 {
			continue
		}
		if timer == nil {
			timer = time.NewTimer(max)
			defer timer.Stop()
		}
		select {
		case <-ch:
		case <-timer.C:
			max = 0
		}
	}
	b.full = b.full[:0]
}
