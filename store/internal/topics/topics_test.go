package topics

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/internal/epoch"
)

// log is a topic's state in a test index.
type log struct {
	epoch, last uint64
}

func (l *log) Info(name string) whispeer.TopicInfo {
	return whispeer.TopicInfo{Topic: name, Epoch: l.epoch, First: 1, Last: l.last, Messages: int(l.last)}
}

func newIndex() *Index[*log] {
	x := New(func(_ string, ep uint64) *log { return &log{epoch: ep} })
	x.ID = 42
	return x
}

func TestIndex_EnsureDerivesTheEpoch(t *testing.T) {
	x := newIndex()
	if x.Get("a") != nil {
		t.Fatal("Get of a topic never named returned a state")
	}
	a := x.Ensure("a")
	if want := epoch.Derive(42, "a"); a.epoch != want {
		t.Fatalf("epoch %x, want %x, derived from the store's id", a.epoch, want)
	}
	a.last = 3
	if x.Ensure("a") != a || x.Get("a") != a || x.Len() != 1 {
		t.Fatal("Ensure made a second state for one topic")
	}
}

func TestIndex_Info(t *testing.T) {
	x, mu := newIndex(), new(sync.Mutex)
	x.Ensure("a").last = 3
	got, err := x.Info(mu, "a")
	if err != nil || got.Last != 3 || got.Topic != "a" {
		t.Fatalf("Info(a) = %+v, %v; want the topic's own", got, err)
	}
	got, err = x.Info(mu, "b")
	want := whispeer.TopicInfo{Topic: "b", Epoch: epoch.Derive(42, "b"), First: 1}
	if err != nil || got != want {
		t.Fatalf("Info of a topic not held = %+v, %v; want %+v", got, err, want)
	}
	if x.Len() != 1 {
		t.Fatal("Info added a topic to the index")
	}
	x.Close()
	if _, err := x.Info(mu, "a"); !errors.Is(err, whispeer.ErrStoreClosed) {
		t.Fatalf("Info after Close: %v, want ErrStoreClosed", err)
	}
}

func TestIndex_Names(t *testing.T) {
	x, mu := newIndex(), new(sync.Mutex)
	for _, n := range []string{"c", "a", "b"} {
		x.Ensure(n)
	}
	var names []string
	err := x.Names(mu, func(n string) bool {
		if !mu.TryLock() {
			t.Fatal("fn runs under the store's lock")
		}
		mu.Unlock()
		names = append(names, n)
		return true
	})
	slices.Sort(names)
	if err != nil || !slices.Equal(names, []string{"a", "b", "c"}) {
		t.Fatalf("Names gave %v, %v; want a, b, c", names, err)
	}
	calls := 0
	x.Names(mu, func(string) bool { calls++; return false })
	if calls != 1 {
		t.Fatalf("Names went on after fn returned false: %d calls", calls)
	}
	x.Close()
	if err := x.Names(mu, func(string) bool { return true }); !errors.Is(err, whispeer.ErrStoreClosed) {
		t.Fatalf("Names after Close: %v, want ErrStoreClosed", err)
	}
}

func TestIndex_Usable(t *testing.T) {
	x := newIndex()
	if err := x.Usable(); err != nil {
		t.Fatalf("a new index: %v", err)
	}
	first, second := errors.New("disk full"), errors.New("sync failed")
	if got := x.Fail(first); got != first {
		t.Fatalf("Fail returned %v, want %v", got, first)
	}
	if got := x.Fail(second); got != first || x.Usable() != first || x.Err() != first {
		t.Fatalf("after a second failure: %v, want the first to stay", x.Usable())
	}
	if x.Close() || !x.Closed() {
		t.Fatal("the first Close reported the index closed already")
	}
	if !x.Close() {
		t.Fatal("the second Close did not report the index closed already")
	}
	if err := x.Usable(); !errors.Is(err, whispeer.ErrStoreClosed) {
		t.Fatalf("Usable after Close: %v, want ErrStoreClosed", err)
	}
}
