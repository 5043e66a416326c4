package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

func trim(t testing.TB, s whispeer.Store, topic string, r whispeer.Retention) {
	t.Helper()
	if err := s.Trim(ctx, topic, r); err != nil {
		t.Fatalf("Trim %s: %v", topic, err)
	}
}

func testTrimMessages(t *testing.T, s whispeer.Store) {
	want := appendN(t, s, "r", 30)
	trim(t, s, "r", whispeer.Retention{MaxMessages: 10})
	checkSame(t, readAll(t, s, "r", 1, 0), want[20:])
	if ti := info(t, s, "r"); ti.First != 21 || ti.Last != 30 || ti.Messages != 10 {
		t.Fatalf("after trim: %+v, want First 21, Last 30, 10 messages", ti)
	}
	m := Message("r", 31)
	if err := s.Append(ctx, m, nil); err != nil || m.Seq != 31 {
		t.Fatalf("Append after trim: seq %d, %v; want 31", m.Seq, err)
	}
	trim(t, s, "r", whispeer.Retention{MaxMessages: 100})
	if ti := info(t, s, "r"); ti.First != 21 {
		t.Fatalf("a looser trim changed First to %d", ti.First)
	}
}

func testTrimBytes(t *testing.T, s whispeer.Store) {
	want := appendN(t, s, "b", 20)
	var n int64
	keep := 0
	for i := len(want) - 1; i >= 0; i-- {
		if n+int64(len(want[i].Payload)) > 200 {
			break
		}
		n += int64(len(want[i].Payload))
		keep++
	}
	trim(t, s, "b", whispeer.Retention{MaxBytes: 200})
	got := readAll(t, s, "b", 1, 0)
	checkSame(t, got, want[len(want)-keep:])
	if ti := info(t, s, "b"); ti.Bytes != n {
		t.Fatalf("Bytes = %d after trim, want %d", ti.Bytes, n)
	}
}

func testTrimAge(t *testing.T, s whispeer.Store) {
	old := time.Now().Add(-2 * time.Hour)
	for i := 1; i <= 5; i++ {
		m := Message("age", i)
		m.Time = old.Add(time.Duration(i) * time.Second)
		if err := s.Append(ctx, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	want := appendN(t, s, "age", 3) // recent ones, offsets 6..8
	trim(t, s, "age", whispeer.Retention{MaxAge: time.Hour})
	got := readAll(t, s, "age", 1, 0)
	if len(got) != 3 || got[0].Seq != 6 {
		t.Fatalf("after trimming by age: %d messages from %d, want 3 from 6", len(got), seqOf(got))
	}
	for i := range got {
		if d := Same(got[i], want[i]); d != "" && got[i].Seq != want[i].Seq+5 {
			t.Fatalf("message %d: %s", i, d)
		}
	}
}

func seqOf(msgs []*whispeer.Message) uint64 {
	if len(msgs) == 0 {
		return 0
	}
	return msgs[0].Seq
}

func testTrimAll(t *testing.T, s whispeer.Store) {
	appendN(t, s, "all", 5)
	before := info(t, s, "all")
	trim(t, s, "all", whispeer.Retention{MaxAge: time.Nanosecond})
	ti := info(t, s, "all")
	if ti.Epoch != before.Epoch || ti.Last != 5 || ti.First != 6 || ti.Messages != 0 || ti.Bytes != 0 {
		t.Fatalf("after trimming everything: %+v, want the same epoch, Last 5, First 6, empty", ti)
	}
	m := Message("all", 6)
	if err := s.Append(ctx, m, nil); err != nil || m.Seq != 6 {
		t.Fatalf("Append after trimming everything: seq %d, %v; want 6", m.Seq, err)
	}
}

func testDelete(t *testing.T, s whispeer.Store) {
	appendN(t, s, "d", 5)
	keep := appendN(t, s, "e", 2)
	before := info(t, s, "d")
	if err := s.Delete(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	ti := info(t, s, "d")
	if ti.Epoch == before.Epoch || ti.Epoch == 0 || ti.Last != 0 || ti.Messages != 0 {
		t.Fatalf("after Delete: %+v, want a new epoch and no message", ti)
	}
	if got := readAll(t, s, "d", 1, 0); len(got) != 0 {
		t.Fatalf("read %d messages of a deleted topic", len(got))
	}
	m := Message("d", 1)
	if err := s.Append(ctx, m, nil); err != nil || m.Seq != 1 {
		t.Fatalf("Append after Delete: seq %d, %v; want 1", m.Seq, err)
	}
	checkSame(t, readAll(t, s, "e", 1, 0), keep)
}

// cursorStore returns s's cursors, skipping t when s keeps none.
func cursorStore(t *testing.T, s whispeer.Store) whispeer.CursorStore {
	t.Helper()
	cs, ok := s.(whispeer.CursorStore)
	if !ok {
		t.Skip("the store keeps no cursors (is no whispeer.CursorStore)")
	}
	return cs
}

func testCursors(t *testing.T, st whispeer.Store) {
	s := cursorStore(t, st)
	if _, ok, err := s.LoadCursor(ctx, "c1", "t"); ok || err != nil {
		t.Fatalf("LoadCursor of nothing: %v, %v", ok, err)
	}
	for _, c := range []whispeer.Cursor{
		{Subscriber: "c1", Topic: "t", Epoch: 7, Offset: 3},
		{Subscriber: "c1", Topic: "u", Epoch: 8, Offset: 1},
		{Subscriber: "c2", Topic: "t", Epoch: 7, Offset: 9},
		{Subscriber: "c1", Topic: "t", Epoch: 7, Offset: 4},
	} {
		if err := s.SaveCursor(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	checkCursor(t, s, whispeer.Cursor{Subscriber: "c1", Topic: "t", Epoch: 7, Offset: 4})
	checkCursor(t, s, whispeer.Cursor{Subscriber: "c1", Topic: "u", Epoch: 8, Offset: 1})
	checkCursor(t, s, whispeer.Cursor{Subscriber: "c2", Topic: "t", Epoch: 7, Offset: 9})
	if err := s.DeleteCursors(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	checkNoCursor(t, s, "c1", "t")
	checkNoCursor(t, s, "c1", "u")
	checkCursor(t, s, whispeer.Cursor{Subscriber: "c2", Topic: "t", Epoch: 7, Offset: 9})
	again := whispeer.Cursor{Subscriber: "c1", Topic: "t", Epoch: 7, Offset: 5}
	if err := s.SaveCursor(ctx, again); err != nil {
		t.Fatal(err)
	}
	checkCursor(t, s, again)
}

func checkNoCursor(t testing.TB, s whispeer.CursorStore, subscriber, topic string) {
	t.Helper()
	if c, ok, err := s.LoadCursor(ctx, subscriber, topic); ok || err != nil {
		t.Fatalf("LoadCursor(%s, %s) of a deleted cursor = %+v, %v, %v", subscriber, topic, c, ok, err)
	}
}

func checkCursor(t testing.TB, s whispeer.CursorStore, want whispeer.Cursor) {
	t.Helper()
	got, ok, err := s.LoadCursor(ctx, want.Subscriber, want.Topic)
	if err != nil || !ok || got != want {
		t.Fatalf("LoadCursor(%s, %s) = %+v, %v, %v; want %+v", want.Subscriber, want.Topic, got, ok, err, want)
	}
}

// testConcurrent appends to a few topics from several goroutines while
// others read, and checks every topic's log is whole and in order.
func testConcurrent(t *testing.T, s whispeer.Store) {
	const writers, per = 4, 200
	topics := []string{"c/0", "c/1", "c/2"}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for _, tp := range topics {
					next := uint64(0)
					err := s.Read(ctx, tp, 1, 0, func(m *whispeer.Message) error {
						if next != 0 && m.Seq != next {
							return errors.New("gap or disorder")
						}
						next = m.Seq + 1
						return nil
					})
					if err != nil {
						t.Errorf("Read %s: %v", tp, err)
						return
					}
				}
			}
		})
	}
	var ww sync.WaitGroup
	for w := range writers {
		ww.Go(func() {
			for i := range per {
				tp := topics[(w+i)%len(topics)]
				if err := s.Append(ctx, Message(tp, w*per+i), nil); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	ww.Wait()
	close(stop)
	wg.Wait()
	total := 0
	for _, tp := range topics {
		got := readAll(t, s, tp, 1, 0)
		for i, m := range got {
			if m.Seq != uint64(i+1) || m.Topic != tp {
				t.Fatalf("%s: message %d has seq %d on %q", tp, i, m.Seq, m.Topic)
			}
		}
		total += len(got)
	}
	if total != writers*per {
		t.Fatalf("read %d messages in all, want %d", total, writers*per)
	}
}

func testClose(t *testing.T, s whispeer.Store) {
	var wg sync.WaitGroup
	for i := 1; i <= 50; i++ {
		wg.Add(1)
		if err := s.Append(ctx, Message("x", i), func(error) { wg.Done() }); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	awaitDones(t, &wg) // every done was called
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Append(ctx, Message("x", 51), nil); !errors.Is(err, whispeer.ErrStoreClosed) {
		t.Fatalf("Append after Close: %v, want ErrStoreClosed", err)
	}
	if err := s.Read(ctx, "x", 1, 0, func(*whispeer.Message) error { return nil }); !errors.Is(err, whispeer.ErrStoreClosed) {
		t.Fatalf("Read after Close: %v, want ErrStoreClosed", err)
	}
}
