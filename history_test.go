package whispeer_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer"
)

func TestBroker_Replay(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", sync), func(t *testing.T) {
			b := newBroker(t, whispeer.WithHistory(3))
			for i := 1; i <= 5; i++ {
				publish(t, b, "chat", fmt.Sprint(i))
			}
			publish(t, b, "other", "x")
			got := make(chan *whispeer.Message, 10)
			opts := []whispeer.SubscribeOption{whispeer.WithReplay(10)}
			if sync {
				opts = append(opts, whispeer.WithSync())
			}
			if _, err := b.Subscribe("chat", chanHandler(got), opts...); err != nil {
				t.Fatal(err)
			}
			publish(t, b, "chat", "6")
			var s string
			for range 4 {
				s += string((<-got).Payload)
			}
			if s != "3456" {
				t.Fatalf("received %q, want the last three then the live one: 3456", s)
			}
		})
	}
}

func TestBroker_ReplayLimitedToN(t *testing.T) {
	b := newBroker(t, whispeer.WithHistory(10))
	for i := 1; i <= 5; i++ {
		publish(t, b, "chat", fmt.Sprint(i))
	}
	var c collector
	if _, err := b.Subscribe("chat", c.handle, whispeer.WithSync(), whispeer.WithReplay(2)); err != nil {
		t.Fatal(err)
	}
	if p := payloads(&c); p != "45" {
		t.Fatalf("replayed %q, want 45", p)
	}
}

// TestBroker_ReplayNoGapNoDuplicate subscribes with replay while publishers
// run, and checks every topic's sequence numbers arrive contiguous.
func TestBroker_ReplayNoGapNoDuplicate(t *testing.T) {
	for _, pattern := range []string{"live/0", "live/+"} {
		t.Run(pattern, func(t *testing.T) {
			b := newBroker(t, whispeer.WithHistory(1000))
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			started := make(chan struct{}, 3)
			for p := range 3 {
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						publish(t, b, fmt.Sprintf("live/%d", p), "")
						if i == 10 {
							started <- struct{}{}
						}
					}
				})
			}
			for range 3 {
				<-started
			}
			var mu sync.Mutex
			next := map[string]uint64{}
			_, err := b.Subscribe(pattern, func(_ context.Context, m *whispeer.Message) error {
				mu.Lock()
				defer mu.Unlock()
				if want, ok := next[m.Topic]; ok && m.Seq != want {
					t.Errorf("%s: seq %d, want %d", m.Topic, m.Seq, want)
				}
				next[m.Topic] = m.Seq + 1
				return nil
			}, whispeer.WithSync(), whispeer.WithReplay(1000))
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			wg.Wait()
		})
	}
}
