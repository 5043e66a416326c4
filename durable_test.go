package whispeer_test

import (
	"context"
	"errors"
	"maps"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/memory"
)

// durables returns what b.Durables gives.
func durables(t *testing.T, b *whispeer.Broker) map[string]time.Time {
	t.Helper()
	got := make(map[string]time.Time)
	err := b.Durables(context.Background(), func(name string, saved time.Time) bool {
		got[name] = saved
		return true
	})
	if err != nil {
		t.Fatalf("Durables: %v", err)
	}
	return got
}

// TestBroker_Durables checks that Durables names every durable
// subscription with cursors, with the last time one was saved, that
// TouchDurable makes that now without moving the cursor, and that a
// forgotten one is no longer named.
func TestBroker_Durables(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBroker(t, whispeer.WithStore(memory.New()))
		start := time.Now()
		var c collector
		s, err := b.Subscribe("q/+", c.handle, whispeer.WithInline(), whispeer.WithDurable("c"), whispeer.WithManualAck())
		if err != nil {
			t.Fatal(err)
		}
		if got := durables(t, b); len(got) != 0 {
			t.Fatalf("Durables before any ack: %v", got)
		}
		publish(t, b, "q/a", "1")
		publish(t, b, "q/b", "2")
		c.mu.Lock()
		a, bm := c.msgs[0], c.msgs[1]
		c.mu.Unlock()
		if err := s.Ack(a); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		if err := s.Ack(bm); err != nil {
			t.Fatal(err)
		}
		want := map[string]time.Time{"c": start.Add(time.Hour)} // the newest of its cursors
		if got := durables(t, b); !maps.EqualFunc(got, want, time.Time.Equal) {
			t.Fatalf("Durables: %v, want %v", got, want)
		}
		s.Unsubscribe()

		time.Sleep(time.Hour)
		if err := b.TouchDurable(context.Background(), "c", "q/a"); err != nil {
			t.Fatal(err)
		}
		if err := b.TouchDurable(context.Background(), "c", "q/never"); err != nil {
			t.Fatalf("TouchDurable of a topic without a cursor: %v", err)
		}
		want["c"] = start.Add(2 * time.Hour)
		if got := durables(t, b); !maps.EqualFunc(got, want, time.Time.Equal) {
			t.Fatalf("Durables after TouchDurable: %v, want %v", got, want)
		}
		var c2 collector
		if _, err := b.Subscribe("q/+", c2.handle, whispeer.WithInline(), whispeer.WithDurable("c")); err != nil {
			t.Fatal(err)
		}
		if n := len(seqs(&c2)); n != 0 {
			t.Fatalf("resumed after the touch with %d messages again, want none", n)
		}
		if err := b.ForgetDurable(context.Background(), "c"); err != nil {
			t.Fatal(err)
		}
		if got := durables(t, b); len(got) != 0 {
			t.Fatalf("Durables after ForgetDurable: %v", got)
		}
	})
}

func TestBroker_DurablesNeedCursors(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(cursorless{memory.New()}))
	err := b.Durables(context.Background(), func(string, time.Time) bool { return true })
	if !errors.Is(err, whispeer.ErrNoCursors) {
		t.Fatalf("Durables: %v, want ErrNoCursors", err)
	}
	if err := b.TouchDurable(context.Background(), "c", "t"); !errors.Is(err, whispeer.ErrNoCursors) {
		t.Fatalf("TouchDurable: %v, want ErrNoCursors", err)
	}
}
