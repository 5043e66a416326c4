package whispeer

import (
	"context"
	"sync"
	"time"
)

// queue is an async subscription's bounded FIFO: publishers push, one
// worker pops everything queued at once. Its only lock is held for a few
// pointer moves; nothing blocks under it.
type queue struct {
	mu      sync.Mutex
	ring    []*Message // a power of two long, at least cap
	mask    int        // len(ring) - 1
	cap     int        // the most messages queued at once
	head, n int
	closed  bool
	parked  bool          // the worker is waiting on wake
	wake    chan struct{} // capacity 1: a push wakes a parked worker
	room    chan struct{} // closed and replaced when a pop makes room for blocked pushers
	blocked int           // pushers waiting on room
}

func newQueue(size int) *queue {
	n := 1
	for n < size {
		n <<= 1
	}
	return &queue{
		ring: make([]*Message, n),
		mask: n - 1,
		cap:  size,
		wake: make(chan struct{}, 1),
		room: make(chan struct{}),
	}
}

// pushResult says what push did with a message.
type pushResult uint8

const (
	pushed       pushResult = iota
	pushedOldest            // pushed, and the oldest queued message was evicted
	rejected                // the queue was full
	timedOut                // the queue stayed full for the block timeout
	queueClosed             // the queue no longer accepts messages
)

// push appends m according to the overflow policy. For pushedOldest it also
// returns the evicted message.
func (q *queue) push(ctx context.Context, m *Message, policy Overflow, timeout time.Duration) (pushResult, *Message) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return queueClosed, nil
	}
	if q.n < q.cap {
		q.put(m)
		q.mu.Unlock()
		return pushed, nil
	}
	switch policy {
	case DropOldest:
		old := q.ring[q.head]
		q.ring[q.head] = nil
		q.head = (q.head + 1) & q.mask
		q.n--
		q.put(m)
		q.mu.Unlock()
		return pushedOldest, old
	case DropNewest:
		q.mu.Unlock()
		return rejected, nil
	}
	return q.pushBlocking(ctx, m, timeout) // called with q.mu held
}

// pushBlocking waits for room; q.mu is held on entry and released on return.
func (q *queue) pushBlocking(ctx context.Context, m *Message, timeout time.Duration) (pushResult, *Message) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for q.n == q.cap && !q.closed {
		room := q.room
		q.blocked++
		q.mu.Unlock()
		var expired bool
		select {
		case <-room:
		case <-timer.C:
			expired = true
		case <-ctx.Done():
			expired = true
		}
		q.mu.Lock()
		q.blocked--
		if expired && q.n == q.cap {
			q.mu.Unlock()
			return timedOut, nil
		}
	}
	if q.closed {
		q.mu.Unlock()
		return queueClosed, nil
	}
	q.put(m)
	q.mu.Unlock()
	return pushed, nil
}

// put stores m at the tail and wakes the worker; q.mu must be held.
func (q *queue) put(m *Message) {
	q.ring[(q.head+q.n)&q.mask] = m
	q.n++
	if q.parked {
		q.parked = false
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// popAll moves every queued message into dst. When the queue is empty it
// marks the worker parked and returns done == closed: an empty, open queue
// means the caller should wait on q.wake.
func (q *queue) popAll(dst []*Message) (out []*Message, done bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		q.parked = !q.closed
		return dst, q.closed
	}
	for q.n > 0 {
		dst = append(dst, q.ring[q.head])
		q.ring[q.head] = nil
		q.head = (q.head + 1) & q.mask
		q.n--
	}
	q.head = 0
	if q.blocked > 0 {
		close(q.room)
		q.room = make(chan struct{})
	}
	return dst, false
}

// close stops the queue accepting messages and wakes the worker so it can
// drain what is left. With discard, the queued messages are removed and
// returned instead.
func (q *queue) close(discard bool) []*Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	var dropped []*Message
	if discard {
		for q.n > 0 {
			dropped = append(dropped, q.ring[q.head])
			q.ring[q.head] = nil
			q.head = (q.head + 1) & q.mask
			q.n--
		}
	}
	if q.closed {
		return dropped
	}
	q.closed = true
	close(q.room) // release blocked pushers: they see closed
	q.room = make(chan struct{})
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped
}

// len returns the number of queued messages.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
