// Package groupcommit is the sync loop of the file and SQLite stores: one
// goroutine per store that, each time an append signals it, lets more
// appends join (as the store's sync policy says), then flushes them
// together: one sync or one commit for the lot. A [Loop]'s methods are
// safe for concurrent use.
package groupcommit

import (
	"time"

	"github.com/whispeer-io/whispeer"
)

// wait returns once, under policy p, the next sync should start: at once
// under SyncAlways and SyncNever; under SyncEvery once the interval since
// last has passed or whispeer.SyncBatch appends wait (pending, read under
// the store's lock, says how many do), or when quit is closed. woken is
// the channel appends signal on.
func wait(p whispeer.SyncPolicy, last time.Time, pending func() int, woken, quit <-chan struct{}) {
	iv := p.Interval()
	if iv <= 0 {
		return
	}
	wait := iv - time.Since(last)
	if wait <= 0 || pending() >= whispeer.SyncBatch {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	for pending() < whispeer.SyncBatch {
		select {
		case <-t.C:
			return
		case <-quit:
			return
		case <-woken:
		}
	}
}
