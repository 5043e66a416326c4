package groupcommit

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
)

// The tests run in a synctest bubble: a wait that blocks for good is
// reported as a deadlock, and one that sits out its hour-long interval
// shows as time having passed on the bubble's clock.

// returnsAtOnce fails t unless call returns without the bubble's clock
// moving.
func returnsAtOnce(t *testing.T, call func()) {
	t.Helper()
	start := time.Now()
	call()
	if d := time.Since(start); d != 0 {
		t.Fatalf("wait returned after %v, want at once", d)
	}
}

func TestWait_FullBatchDoesNotWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		woken := make(chan struct{}, 1)
		go func() {
			synctest.Wait() // until wait is blocked, so that its loop counts the batch
			for range whispeer.SyncBatch {
				n.Add(1)
				select { // as the stores signal: never blocking on a full channel
				case woken <- struct{}{}:
				default:
				}
			}
		}()
		// An hour-long interval: only a full batch can end the wait at once.
		returnsAtOnce(t, func() {
			wait(whispeer.SyncEvery(time.Hour), time.Now(), func() int { return int(n.Load()) }, woken, nil)
		})
	})
}

func TestWait_QuitEndsTheWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		quit := make(chan struct{})
		close(quit)
		returnsAtOnce(t, func() {
			wait(whispeer.SyncEvery(time.Hour), time.Now(), func() int { return 0 }, nil, quit)
		})
	})
}

func TestWait_AlwaysAndNeverDoNotWait(t *testing.T) {
	for _, p := range []whispeer.SyncPolicy{whispeer.SyncAlways, whispeer.SyncNever} {
		t.Run(p.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				returnsAtOnce(t, func() { wait(p, time.Now(), func() int { return 0 }, nil, nil) })
			})
		})
	}
}

func TestWait_IntervalEndsALightWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		wait(whispeer.SyncEvery(time.Hour), start, func() int { return 1 }, make(chan struct{}), nil)
		if d := time.Since(start); d != time.Hour {
			t.Fatalf("wait returned after %v, want the interval, 1h0m0s", d)
		}
	})
}
