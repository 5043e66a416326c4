package client

import (
	"slices"
	"testing"
)

func TestInbox_PutTake(t *testing.T) {
	q := newInbox(3)
	a, b, c, d := &Message{ID: "a"}, &Message{ID: "b"}, &Message{ID: "c"}, &Message{ID: "d"}

	if got := q.take(nil); len(got) != 0 {
		t.Fatalf("take from an empty inbox = %d messages", len(got))
	}
	if dropped := q.put([]*Message{a, b}); len(dropped) != 0 {
		t.Fatalf("dropped %d of 2 with room for 3", len(dropped))
	}
	select {
	case <-q.ready:
	default:
		t.Fatal("a put after an empty take did not signal ready")
	}
	if dropped := q.put([]*Message{c, d}); !slices.Equal(dropped, []*Message{d}) {
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
	if dropped := q.put([]*Message{d}); len(dropped) != 0 {
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
