package storetest

import (
	"maps"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

// listed is a cursor as Cursors gives it.
type listed struct {
	c     whispeer.Cursor
	saved time.Time
}

// listCursors returns what s.Cursors gives, by subscriber and topic,
// failing t on a cursor given twice.
func listCursors(t testing.TB, s whispeer.CursorStore) map[[2]string]listed {
	t.Helper()
	got := make(map[[2]string]listed)
	err := s.Cursors(ctx, func(c whispeer.Cursor, saved time.Time) bool {
		k := [2]string{c.Subscriber, c.Topic}
		if _, ok := got[k]; ok {
			t.Errorf("Cursors gave the cursor of %s in %s twice", c.Subscriber, c.Topic)
		}
		got[k] = listed{c, saved}
		return true
	})
	if err != nil {
		t.Fatalf("Cursors: %v", err)
	}
	return got
}

// checkSavedWithin fails t unless l was saved between from and to.
func checkSavedWithin(t testing.TB, l listed, from, to time.Time) {
	t.Helper()
	if l.saved.Before(from.Round(0)) || l.saved.After(to.Round(0)) {
		t.Fatalf("cursor %+v saved at %v, want between %v and %v", l.c, l.saved, from, to)
	}
}

// testListCursors checks that Cursors gives every cursor kept, the newest
// saved for a subscriber and topic, once, with the time it was saved;
// whether its save was made durable (by an append waited for) or not.
func testListCursors(t *testing.T, st whispeer.Store) {
	s := cursorStore(t, st)
	if got := listCursors(t, s); len(got) != 0 {
		t.Fatalf("Cursors of an empty store gave %v", got)
	}
	c1t := whispeer.Cursor{Subscriber: "c1", Topic: "t", Epoch: 7, Offset: 3}
	c1u := whispeer.Cursor{Subscriber: "c1", Topic: "u", Epoch: 8, Offset: 1}
	c2t := whispeer.Cursor{Subscriber: "c2", Topic: "t", Epoch: 7, Offset: 9}
	first := time.Now()
	for _, c := range []whispeer.Cursor{c1t, c1u, c2t} {
		if err := s.SaveCursor(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	firstDone := time.Now()
	appendN(t, st, "t", 1) // a store that commits cursors with appends has done so
	again := time.Now()
	c1t.Offset = 4
	if err := s.SaveCursor(ctx, c1t); err != nil {
		t.Fatal(err)
	}
	againDone := time.Now()

	got := listCursors(t, s)
	want := map[[2]string]whispeer.Cursor{{"c1", "t"}: c1t, {"c1", "u"}: c1u, {"c2", "t"}: c2t}
	if len(got) != len(want) {
		t.Fatalf("Cursors gave %v, want %v", got, want)
	}
	for k, c := range want {
		if got[k].c != c {
			t.Fatalf("Cursors gave %+v for %v, want %+v", got[k].c, k, c)
		}
	}
	checkSavedWithin(t, got[[2]string{"c1", "t"}], again, againDone)
	checkSavedWithin(t, got[[2]string{"c1", "u"}], first, firstDone)
	checkSavedWithin(t, got[[2]string{"c2", "t"}], first, firstDone)

	n := 0
	if err := s.Cursors(ctx, func(whispeer.Cursor, time.Time) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("Cursors stopped by fn: %d calls, %v; want 1", n, err)
	}
	if err := s.DeleteCursors(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	got = listCursors(t, s)
	if len(got) != 1 || got[[2]string{"c2", "t"}].c != c2t {
		t.Fatalf("Cursors after deleting c1's gave %v, want c2's alone", got)
	}
}

// checkListedSame fails t unless a store opened again lists the cursors
// it listed before, saved at the same times.
func checkListedSame(t testing.TB, s whispeer.CursorStore, want map[[2]string]listed) {
	t.Helper()
	got := listCursors(t, s)
	if !maps.EqualFunc(got, want, func(a, b listed) bool { return a.c == b.c && a.saved.Equal(b.saved) }) {
		t.Fatalf("Cursors after reopening gave %v, want %v", got, want)
	}
}
