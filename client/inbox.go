package client

import "sync"

// inbox is a subscription's bounded queue of deliveries. The connection's
// reader puts each batch of deliveries under one lock and wakes the
// subscription's goroutine only when it waits for work; the goroutine
// takes everything queued at once. So a burst costs one lock and at most
// one wake-up per batch, not a channel operation per message.
type inbox struct {
	max   int           // capacity, in messages
	ready chan struct{} // signalled when a put ends a wait; capacity 1

	mu      sync.Mutex
	msgs    []*Message // queued, oldest first
	waiting bool       // the goroutine found msgs empty and waits for ready
}

func newInbox(max int) *inbox {
	return &inbox{max: max, ready: make(chan struct{}, 1)}
}

// put queues msgs and returns those that did not fit, which the caller
// reports as dropped. It never blocks.
func (q *inbox) put(msgs []*Message) (dropped []*Message) {
	q.mu.Lock()
	n := min(len(msgs), q.max-len(q.msgs))
	q.msgs = append(q.msgs, msgs[:n]...)
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
// previous take returned, so that two slices take turns. When nothing is
// queued, take returns an empty slice and the next put signals ready.
func (q *inbox) take(spare []*Message) []*Message {
	clear(spare)
	q.mu.Lock()
	msgs := q.msgs
	q.msgs = spare[:0]
	q.waiting = len(msgs) == 0
	q.mu.Unlock()
	return msgs
}
