package groupcommit

import (
	"time"

	"github.com/whispeer-io/whispeer"
)

// Loop is a store's sync loop. The store signals it after every append
// (and every other write the next flush must cover); the loop then waits
// as the store's sync policy says, for at most the policy's interval or
// until a full batch of appends waits, and flushes: the store writes and
// syncs, or commits, what accumulated and completes the appends it
// covers.
type Loop struct {
	wake   chan struct{} // capacity 1: there is something to flush
	quit   chan struct{}
	exited chan struct{}
}

// Start runs a loop for a store with sync policy p in a goroutine of its
// own. pending returns how many appends wait for a flush (taking the
// store's lock); flush flushes them. flush runs in the loop's goroutine
// only, never two at once.
func Start(p whispeer.SyncPolicy, pending func() int, flush func()) *Loop {
	l := &Loop{wake: make(chan struct{}, 1), quit: make(chan struct{}), exited: make(chan struct{})}
	go l.run(p, pending, flush)
	return l
}

func (l *Loop) run(p whispeer.SyncPolicy, pending func() int, flush func()) {
	defer close(l.exited)
	var last time.Time
	for {
		select {
		case <-l.wake:
		case <-l.quit:
			flush()
			return
		}
		wait(p, last, pending, l.wake, l.quit)
		flush()
		last = time.Now()
	}
}

// Signal tells the loop there is something to flush. It never blocks.
func (l *Loop) Signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Stop ends the loop after a last flush, and returns once that flush has
// returned. Call it once.
func (l *Loop) Stop() {
	close(l.quit)
	<-l.exited
}
