package client

import "sync"

// inbox is a subscription's bounded queue of deliveries. The connection's
// reader puts each batch of deliveries under one lock and wakes the
// subscription's goroutine only when it waits for work; the goroutine
// takes everything queued at once. So a burst costs one lock and at most
// one wake-up per batch, not a channel operation per message.
//
// When the queue is full the reader may wait for room: take signals room
// when it empties a queue that put found full.
//
// A borrowing subscription's inbox also carries its handled messages back
// to the reader, for reuse: take collects them, put hands them over.
type inbox struct {
	max    int           // capacity, in messages
	ready  chan struct{} // signalled when a put ends a wait; capacity 1
	room   chan struct{} // signalled when a take follows a put that found the queue full; capacity 1
	borrow bool          // the subscription borrows: recycle what it handled

	mu      sync.Mutex
	msgs    []*Message // queued, oldest first
	free    []*Message // handled borrowed messages, for the reader to reuse
	waiting bool       // the goroutine found msgs empty and waits for ready
	full    bool       // a put found the queue full and nothing was taken since
	stuck   bool       // the reader's last wait for room ran out and nothing was taken since
}

func newInbox(max int, borrow bool) *inbox {
	return &inbox{max: max, ready: make(chan struct{}, 1), room: make(chan struct{}, 1), borrow: borrow}
}

// put queues msgs and returns those that did not fit, which the caller
// reports as dropped. It never blocks. When spare holds fewer than
// maxArrivals messages, the handled ones waiting for reuse join it.
func (q *inbox) put(msgs []*Message, spare *[]*Message) (dropped []*Message) {
	q.mu.Lock()
	if len(q.free) > 0 && len(*spare) < maxArrivals {
		*spare = append(*spare, q.free...)
		clear(q.free)
		q.free = q.free[:0]
	}
	n := min(len(msgs), q.max-len(q.msgs))
	q.msgs = append(q.msgs, msgs[:n]...)
	q.full = q.full || n < len(msgs)
	wake := q.waiting && n > 0
	if wake {
		q.waiting = false
	}
	q.mu.Unlock()
	if wake {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return msgs[n:]
}

// take returns everything queued, oldest first, and leaves spare, emptied,
// as the queue's storage; the goroutine passes back the slice that the
// previous take returned, so that two slices take turns, and whose
// messages it is done with. When nothing is queued, take returns an empty
// slice and the next put signals ready.
func (q *inbox) take(spare []*Message) []*Message {
	q.mu.Lock()
	if q.borrow && len(q.free) < 2*q.max {
		q.free = append(q.free, spare...)
	}
	clear(spare)
	msgs := q.msgs
	q.msgs = spare[:0]
	q.waiting = len(msgs) == 0
	room := q.full && len(msgs) > 0
	if len(msgs) > 0 {
		q.full, q.stuck = false, false
	}
	q.mu.Unlock()
	if room {
		select {
		case q.room <- struct{}{}:
		default:
		}
	}
	return msgs
}

// mayWait reports whether the reader may wait for room: not when its
// previous wait ran out and the goroutine has taken nothing since.
func (q *inbox) mayWait() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return !q.stuck
}

// giveUp records that the reader's wait for room ran out: until the
// goroutine takes again, what does not fit is dropped at once.
func (q *inbox) giveUp() {
	q.mu.Lock()
	q.stuck = true
	q.mu.Unlock()
}
