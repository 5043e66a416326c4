package whispeer_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/memory"
)

// gate is a subscriber's room for messages: credit messages may be
// handed over before the test gives more.
type gate struct {
	mu     sync.Mutex
	credit int
	wait   chan struct{}
	seqs   []uint64
	spent  chan struct{} // a signal when the credit is used up
}

func (g *gate) room() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.credit > 0 {
		return nil
	}
	if g.wait == nil {
		g.wait = make(chan struct{})
	}
	return g.wait
}

func (g *gate) give(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.credit += n
	if g.wait != nil {
		close(g.wait)
		g.wait = nil
	}
}

func (g *gate) handle(_ context.Context, m *whispeer.Message) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.credit--
	g.seqs = append(g.seqs, m.Seq)
	if g.credit == 0 {
		g.spent <- struct{}{}
	}
	return nil
}

func (g *gate) received() []uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]uint64(nil), g.seqs...)
}

// TestPacing_CatchUpAtSubscribersPace resumes a backlog with room for a
// few messages at a time: the catch-up hands over no more than the room,
// and once it is done the live messages follow the stored ones in order.
func TestPacing_CatchUpAtSubscribersPace(t *testing.T) {
	b, err := whispeer.New(whispeer.WithStore(memory.New()))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	const n = 1000
	for range n {
		if err := b.Publish(ctx, "t", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	g := &gate{spent: make(chan struct{}, 1)}
	done := make(chan bool, 1)
	sub, err := b.Subscribe("t", g.handle, whispeer.WithInline(), whispeer.WithResume(0, 0),
		whispeer.WithPacing(whispeer.Pacing{Room: g.room, Done: func(ok bool) { done <- ok }}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if len(g.received()) != 0 {
		t.Fatal("handed over messages without room")
	}
	recovered := false
	for finished := false; !finished; {
		got := len(g.received())
		g.give(300)
		select {
		case <-g.spent:
		case recovered = <-done:
			finished = true
		}
		if len(g.received()) > got+300 {
			t.Fatalf("handed over %d messages for room for 300", len(g.received())-got)
		}
	}
	if !recovered {
		t.Fatal("catch-up not recovered")
	}
	g.give(1)
	if err := b.Publish(ctx, "t", []byte("live")); err != nil {
		t.Fatal(err)
	}
	got := g.received()
	if len(got) != n+1 {
		t.Fatalf("received %d messages, want %d", len(got), n+1)
	}
	for i, s := range got {
		if s != uint64(i+1) {
			t.Fatalf("message %d has offset %d", i, s)
		}
	}
}

// TestPacing_ReplayHandler checks that a paced subscription tells history
// from live messages by the handler that receives them: the replayed ones
// go to its pacing's Replay, the live ones to its own handler, whether the
// history is the broker's in memory or a store's.
func TestPacing_ReplayHandler(t *testing.T) {
	for name, opt := range map[string]whispeer.Option{
		"history": whispeer.WithHistory(10),
		"store":   whispeer.WithStore(memory.New()),
	} {
		t.Run(name, func(t *testing.T) {
			b := newBroker(t, opt)
			for _, p := range []string{"1", "2", "3"} {
				publish(t, b, "r", p)
			}
			var mu sync.Mutex
			var got []string
			caughtUp := make(chan struct{})
			record := func(kind string) whispeer.Handler {
				return func(_ context.Context, m *whispeer.Message) error {
					mu.Lock()
					defer mu.Unlock()
					got = append(got, kind+string(m.Payload))
					if len(got) == 3 {
						close(caughtUp)
					}
					return nil
				}
			}
			_, err := b.Subscribe("r", record("live "), whispeer.WithInline(), whispeer.WithReplay(3),
				whispeer.WithPacing(whispeer.Pacing{
					Room:   func() <-chan struct{} { return nil },
					Replay: record("replay "),
				}))
			if err != nil {
				t.Fatal(err)
			}
			<-caughtUp
			publish(t, b, "r", "4")
			mu.Lock()
			defer mu.Unlock()
			if want := []string{"replay 1", "replay 2", "replay 3", "live 4"}; !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
