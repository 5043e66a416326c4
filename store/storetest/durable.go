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
	cur := whispeer.Cursor{Subscriber: "client", Topic: "a", Epoch: 5, Offset: 12}
	if err := s.SaveCursor(ctx, cur); err != nil {
		t.Fatal(err)
	}
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
		checkCursor(t, s, cur)
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
