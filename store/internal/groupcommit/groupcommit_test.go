package groupcommit

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

func TestWait_FullBatchDoesNotWait(t *testing.T) {
	var n atomic.Int64
	woken := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// An hour-long interval: only a full batch can end the wait.
		Wait(whispeer.SyncEvery(time.Hour), time.Now(), func() int { return int(n.Load()) }, woken, nil)
	}()
	for range whispeer.SyncBatch {
		n.Add(1)
		select { // as the stores signal: never blocking on a full channel
		case woken <- struct{}{}:
		default:
		}
	}
	<-done
}

func TestWait_QuitEndsTheWait(t *testing.T) {
	quit := make(chan struct{})
	close(quit)
	Wait(whispeer.SyncEvery(time.Hour), time.Now(), func() int { return 0 }, nil, quit)
}

func TestWait_AlwaysAndNeverDoNotWait(t *testing.T) {
	for _, p := range []whispeer.SyncPolicy{whispeer.SyncAlways, whispeer.SyncNever} {
		Wait(p, time.Now(), func() int { return 0 }, nil, nil)
	}
}
