package server

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
)

// forgotten records the names a durables forgets.
type forgotten struct {
	mu    sync.Mutex
	names []string
}

func (f *forgotten) forget(name string) {
	f.mu.Lock()
	f.names = append(f.names, name)
	f.mu.Unlock()
}

func (f *forgotten) get() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.names)
}

func TestDurables_ExpireWhenTheClientStaysAway(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f forgotten
		d := newDurables(10, time.Hour, f.forget)
		mustAttach(t, d, "ann", "a")
		mustAttach(t, d, "ann", "b")
		d.detach(durableRef{user: "ann", name: "a"}, false)
		d.detach(durableRef{user: "ann", name: "b"}, false)
		time.Sleep(59 * time.Minute)
		mustAttach(t, d, "ann", "b") // b's client comes back in time
		synctest.Wait()
		if got := f.get(); len(got) != 0 {
			t.Fatalf("forgotten before the expiry: %q", got)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := f.get(); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("forgotten after the expiry: %q, want [a]", got)
		}
		d.detach(durableRef{user: "ann", name: "b"}, false)
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if got := f.get(); !slices.Equal(got, []string{"a", "b"}) {
			t.Fatalf("forgotten: %q, want [a b]", got)
		}
	})
}

func TestDurables_HeldByAnyConnectionNeverExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f forgotten
		d := newDurables(10, time.Hour, f.forget)
		mustAttach(t, d, "ann", "a")
		mustAttach(t, d, "ann", "a") // the client reconnected before its old connection closed
		d.detach(durableRef{user: "ann", name: "a"}, false)
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if got := f.get(); len(got) != 0 {
			t.Fatalf("forgotten while held: %q", got)
		}
	})
}

func TestDurables_UnsubscribeForgetsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f forgotten
		d := newDurables(1, time.Hour, f.forget)
		mustAttach(t, d, "ann", "a")
		d.detach(durableRef{user: "ann", name: "a"}, true)
		if got := f.get(); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("forgotten: %q, want [a]", got)
		}
		mustAttach(t, d, "ann", "b") // a's place is free
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		if got := f.get(); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("forgotten: %q, want [a]", got)
		}
	})
}

func TestDurables_NothingExpiresAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f forgotten
		d := newDurables(10, time.Hour, f.forget)
		mustAttach(t, d, "ann", "a")
		d.detach(durableRef{user: "ann", name: "a"}, false)
		d.close()
		time.Sleep(2 * time.Hour)
		synctest.Wait()
		if got := f.get(); len(got) != 0 {
			t.Fatalf("forgotten after close: %q", got)
		}
	})
}

func TestDurables_BoundedPerUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f forgotten
		d := newDurables(2, time.Hour, f.forget)
		mustAttach(t, d, "ann", "a")
		mustAttach(t, d, "ann", "b")
		d.detach(durableRef{user: "ann", name: "b"}, false) // awaiting its expiry, it still counts
		e := d.attach("ann", "c")
		if e == nil || e.code != whispeer.CodeLimit {
			t.Fatalf("a third durable subscription: %v, want a limit error", e)
		}
		mustAttach(t, d, "ann", "b") // one kept is taken up again
		mustAttach(t, d, "bob", "c") // another user has his own
		d.detach(durableRef{user: "ann", name: "b"}, false)
		time.Sleep(time.Hour)
		synctest.Wait()
		mustAttach(t, d, "ann", "c") // b expired
		if got := f.get(); !slices.Equal(got, []string{"b"}) {
			t.Fatalf("forgotten: %q, want [b]", got)
		}
	})
}

func mustAttach(t *testing.T, d *durables, user, name string) {
	t.Helper()
	if e := d.attach(user, name); e != nil {
		t.Fatalf("attach(%s, %s): %s", user, name, e.text)
	}
}

// TestDurables_UnsubscribeWhileAnOldConnectionHolds checks that a durable
// subscription unsubscribed on a new connection while the client's old one
// still holds it is forgotten when that one closes, not left to expire.
func TestDurables_UnsubscribeWhileAnOldConnectionHolds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var f forgotten
		d := newDurables(10, time.Hour, f.forget)
		mustAttach(t, d, "ann", "a") // the old connection, closing
		mustAttach(t, d, "ann", "a") // the new one
		d.detach(durableRef{user: "ann", name: "a"}, true)
		if got := f.get(); len(got) != 0 {
			t.Fatalf("forgotten while the old connection holds it: %q", got)
		}
		d.detach(durableRef{user: "ann", name: "a", topic: "t"}, false)
		if got := f.get(); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("forgotten: %q, want [a] once the old connection closed", got)
		}
	})
}
