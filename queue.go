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
	pushedOver              // pushed past the capacity under Block: the pusher must awaitRoom
	rejected                // the queue was full
	queueClosed             // the queue no longer accepts messages
)

// push appends m according to the overflow policy, without waiting: it
// runs under the topic's lock, which orders a topic's messages in every
// queue. For pushedOldest it also returns the evicted message. Under
// Block a full queue takes m past its capacity, in order, and the pusher
// waits for room with awaitRoom once it has let go of the topic's lock.
func (q *queue) push(m *Message, policy Overflow) (pushResult, *Message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queueClosed, nil
	}
	if q.n < q.cap {
		q.put(m)
		return pushed, nil
	}
	switch policy {
	case DropOldest:
		old := q.ring[q.head]
		q.ring[q.head] = nil
		q.head = (q.head + 1) & q.mask
		q.n--
		q.put(m)
		return pushedOldest, old
	case DropNewest:
		return rejected, nil
	}
	if q.n == len(q.ring) {
		q.grow()
	}
	q.put(m)
	return pushedOver, nil
}

// awaitRoom waits, after a push that returned pushedOver, until the queue
// is back within its capacity or m has left it. When timeout passes or
// ctx ends first, it takes m back out of the queue and reports false: m
// is then the caller's to drop.
func (q *queue) awaitRoom(ctx context.Context, m *Message, timeout time.Duration) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.n > q.cap && !q.closed {
		room := q.room
		q.blocked++
		q.mu.Unlock()
		expired := false
		select {
		case <-room:
		case <-timer.C:
			expired = true
		case <-ctx.Done():
			expired = true
		}
		q.mu.Lock()
		q.blocked--
		if expired {
			return !q.withdraw(m)
		}
	}
	return true
}

// withdraw removes m from the queue, keeping the order of the rest, and
// reports whether it was there; q.mu must be held.
func (q *queue) withdraw(m *Message) bool {
	for i := 0; i < q.n; i++ {
		if q.ring[(q.head+i)&q.mask] != m {
			continue
		}
		for j := i; j < q.n-1; j++ {
			q.ring[(q.head+j)&q.mask] = q.ring[(q.head+j+1)&q.mask]
		}
		q.n--
		q.ring[(q.head+q.n)&q.mask] = nil
		return true
	}
	return false
}

// grow doubles the ring, for a push past the capacity; q.mu must be held.
func (q *queue) grow() {
	ring := make([]*Message, 2*len(q.ring))
	for i := 0; i < q.n; i++ {
		ring[i] = q.ring[(q.head+i)&q.mask]
	}
	q.ring, q.mask, q.head = ring, len(ring)-1, 0
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
