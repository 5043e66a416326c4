// Package groupcommit holds the wait of the stores' sync loops: how long a
// loop that has been woken by an append lets more appends join the next
// sync. It is safe for concurrent use; it keeps no state.
package groupcommit

import (
	"time"

	"github.com/whispeer-io/whispeer"
)

// Wait returns once, under policy p, the next sync should start: at once
// under SyncAlways and SyncNever; under SyncEvery once the interval since
// last has passed or whispeer.SyncBatch appends wait (pending, read under
// the store's lock, says how many do), or when quit is closed. woken is
// the channel appends signal on.
func Wait(p whispeer.SyncPolicy, last time.Time, pending func() int, woken, quit <-chan struct{}) {
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
