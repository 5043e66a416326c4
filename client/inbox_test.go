package client

import (
	"slices"
	"testing"
)

func TestInbox_PutTake(t *testing.T) {
	q := newInbox(3, false)
	a, b, c, d := &Message{ID: "a"}, &Message{ID: "b"}, &Message{ID: "c"}, &Message{ID: "d"}

	if got := q.take(nil); len(got) != 0 {
		t.Fatalf("take from an empty inbox = %d messages", len(got))
	}
	if dropped := q.put([]*Message{a, b}, new([]*Message)); len(dropped) != 0 {
		t.Fatalf("dropped %d of 2 with room for 3", len(dropped))
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("a put after an empty take did not signal ready")
	}
	if dropped := q.put([]*Message{c, d}, new([]*Message)); !slices.Equal(dropped, []*Message{d}) {
		t.Fatalf("dropped %v, want the one over capacity", dropped)
	}
	select {
	case <-q.ready:
		t.Fatal("signalled ready while nobody waited")
	default:
	}
	got := q.take(nil)
	if !slices.Equal(got, []*Message{a, b, c}) {
		t.Fatalf("took %v, want a, b, c in order", got)
	}
	if dropped := q.put([]*Message{d}, new([]*Message)); len(dropped) != 0 {
		t.Fatal("no room after a take")
	}
	spare := got
	if got = q.take(spare); !slices.Equal(got, []*Message{d}) {
		t.Fatalf("took %v, want d", got)
	}
	if spare[0] != nil {
		t.Error("take kept a reference to a handled message in the spare slice")
	}
}

// TestInbox_Recycles checks the way back of a borrowing subscription's
// messages: what the goroutine hands back to take reaches the reader at
// its next put, and only a borrowing inbox recycles.
func TestInbox_Recycles(t *testing.T) {
	a, b := &Message{ID: "a"}, &Message{ID: "b"}
	for _, borrow := range []bool{false, true} {
		q := newInbox(4, borrow)
		var spare []*Message
		q.put([]*Message{a, b}, &spare)
		got := q.take(nil)
		q.take(got) // a and b handled
		q.put(nil, &spare)
		want := []*Message(nil)
		if borrow {
			want = []*Message{a, b}
		}
		if !slices.Equal(spare, want) {
			t.Errorf("borrow %v: the reader got %v back, want %v", borrow, spare, want)
		}
	}
}
