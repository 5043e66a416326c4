package storetest

import (
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

// RunDurable runs [Run] against stores kept in a new directory each, then
// checks that what a store holds survives closing and opening it again.
// open opens (creating if need be) the store kept in dir; the suite closes
// it.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) whispeer.Store) {
	Run(t, func(t *testing.T) whispeer.Store { return open(t, t.TempDir()) })
	t.Run("Reopen", func(t *testing.T) { testReopen(t, open) })
	t.Run("ReopenCursors", func(t *testing.T) { testReopenCursors(t, open) })
	t.Run("ReopenDeletedCursors", func(t *testing.T) { testReopenDeletedCursors(t, open) })
	t.Run("ReopenTrimmed", func(t *testing.T) { testReopenTrimmed(t, open) })
	t.Run("ReopenSealedPayloads", func(t *testing.T) { testReopenSealedPayloads(t, open) })
}

func testReopen(t *testing.T, open func(*testing.T, string) whispeer.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	a := appendN(t, s, "a", 30)
	b := appendN(t, s, "b/c", 3)
	if err := s.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, "gone", 2)
	infos := map[string]whispeer.TopicInfo{}
	for _, tp := range []string{"a", "b/c", "gone", "never"} {
		infos[tp] = info(t, s, tp)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s = open(t, dir)
		for tp, want := range infos {
			if got := info(t, s, tp); got != want {
				t.Fatalf("round %d: Topic(%s) = %+v after reopening, want %+v", round, tp, got, want)
			}
		}
		checkSame(t, readAll(t, s, "a", 1, 0), a)
		checkSame(t, readAll(t, s, "b/c", 1, 0), b)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s = open(t, dir)
	defer s.Close()
	m := Message("a", 31)
	if err := s.Append(ctx, m, nil); err != nil || m.Seq != 31 {
		t.Fatalf("Append after reopening: seq %d, %v; want 31", m.Seq, err)
	}
}

// testReopenCursors checks that cursors survive closing and opening the
// store, the newest saved for a subscriber and topic winning, and the
// times they were saved with them.
func testReopenCursors(t *testing.T, open func(*testing.T, string) whispeer.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	cs := cursorStore(t, s)
	appendN(t, s, "a", 3)
	old := whispeer.Cursor{Subscriber: "client", Topic: "a", Epoch: 5, Offset: 2}
	cur := whispeer.Cursor{Subscriber: "client", Topic: "a", Epoch: 5, Offset: 12}
	other := whispeer.Cursor{Subscriber: "other", Topic: "b", Epoch: 6, Offset: 1}
	for _, c := range []whispeer.Cursor{old, cur, other} {
		if err := cs.SaveCursor(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	listed := listCursors(t, cs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for round := range 2 {
		s = open(t, dir)
		cs = cursorStore(t, s)
		checkCursor(t, cs, cur)
		checkCursor(t, cs, other)
		checkListedSame(t, cs, listed)
		if _, ok, err := cs.LoadCursor(ctx, "client", "b"); ok || err != nil {
			t.Fatalf("round %d: LoadCursor of a cursor never saved: %v, %v", round, ok, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// testReopenDeletedCursors checks that deleted cursors stay deleted when
// the store is closed and opened again, whether they were saved before
// the last opening or since.
func testReopenDeletedCursors(t *testing.T, open func(*testing.T, string) whispeer.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	cs := cursorStore(t, s)
	gone := whispeer.Cursor{Subscriber: "gone", Topic: "a", Epoch: 5, Offset: 2}
	kept := whispeer.Cursor{Subscriber: "kept", Topic: "a", Epoch: 5, Offset: 3}
	for _, c := range []whispeer.Cursor{gone, kept} {
		if err := cs.SaveCursor(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	cs = cursorStore(t, s)
	fresh := whispeer.Cursor{Subscriber: "gone", Topic: "b", Epoch: 6, Offset: 1}
	if err := cs.SaveCursor(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	if err := cs.DeleteCursors(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		s = open(t, dir)
		cs = cursorStore(t, s)
		checkNoCursor(t, cs, "gone", "a")
		checkNoCursor(t, cs, "gone", "b")
		checkCursor(t, cs, kept)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func testReopenTrimmed(t *testing.T, open func(*testing.T, string) whispeer.Store) {
	dir := t.TempDir()
	s := open(t, dir)
	want := appendN(t, s, "t", 40)
	trim(t, s, "t", whispeer.Retention{MaxMessages: 15})
	appendN(t, s, "u", 3)
	trim(t, s, "u", whispeer.Retention{MaxAge: time.Nanosecond})
	before, beforeU := info(t, s, "t"), info(t, s, "u")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	defer s.Close()
	if got := info(t, s, "t"); got != before {
		t.Fatalf("trimmed topic after reopening: %+v, want %+v", got, before)
	}
	if got := info(t, s, "u"); got != beforeU {
		t.Fatalf("emptied topic after reopening: %+v, want %+v", got, beforeU)
	}
	checkSame(t, readAll(t, s, "t", 1, 0), want[25:])
	m := Message("u", 4)
	if err := s.Append(ctx, m, nil); err != nil || m.Seq != 4 {
		t.Fatalf("Append to an emptied topic after reopening: seq %d, %v; want 4", m.Seq, err)
	}
}
