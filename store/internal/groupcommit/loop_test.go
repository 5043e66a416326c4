package groupcommit

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
)

// flushes counts a loop's flushes and the bubble time of the last.
type flushes struct {
	n    atomic.Int64
	last atomic.Int64 // UnixNano
}

func (f *flushes) flush() {
	f.n.Add(1)
	f.last.Store(time.Now().UnixNano())
}

func TestLoop_SignalFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f flushes
		l := Start(whispeer.SyncAlways, func() int { return 1 }, f.flush)
		defer l.Stop()
		synctest.Wait()
		if n := f.n.Load(); n != 0 {
			t.Fatalf("%d flushes before a signal, want 0", n)
		}
		l.Signal()
		synctest.Wait()
		if n := f.n.Load(); n != 1 {
			t.Fatalf("%d flushes after a signal, want 1", n)
		}
	})
}

func TestLoop_StopFlushesOnceMore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f flushes
		l := Start(whispeer.SyncEvery(time.Hour), func() int { return 0 }, f.flush)
		start := time.Now()
		l.Stop() // a loop that does not end is reported as a deadlock
		if n := f.n.Load(); n != 1 {
			t.Fatalf("%d flushes by Stop, want 1", n)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("Stop returned after %v, want at once", d)
		}
	})
}

func TestLoop_EveryGroupsLightTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const iv = 10 * time.Millisecond
		var f flushes
		l := Start(whispeer.SyncEvery(iv), func() int { return 1 }, f.flush)
		defer l.Stop()
		l.Signal()
		synctest.Wait() // the first flush: none before it, so no wait
		first := f.last.Load()
		if f.n.Load() != 1 || first != time.Now().UnixNano() {
			t.Fatalf("%d flushes, the last %v ago; want the first at once", f.n.Load(), time.Duration(time.Now().UnixNano()-first))
		}
		l.Signal()
		synctest.Wait()
		if n := f.n.Load(); n != 1 {
			t.Fatalf("%d flushes right after a second signal, want it to wait for the interval", n)
		}
		time.Sleep(iv)
		synctest.Wait()
		if n, d := f.n.Load(), time.Duration(f.last.Load()-first); n != 2 || d != iv {
			t.Fatalf("%d flushes, the second %v after the first; want 2, %v apart", n, d, iv)
		}
	})
}
