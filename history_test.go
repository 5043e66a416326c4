package whispeer_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/memory"
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
				opts = append(opts, whispeer.WithInline())
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
	if _, err := b.Subscribe("chat", c.handle, whispeer.WithInline(), whispeer.WithReplay(2)); err != nil {
		t.Fatal(err)
	}
	if p := payloads(&c); p != "45" {
		t.Fatalf("replayed %q, want 45", p)
	}
}

// TestBroker_ReplayNoGapNoDuplicate subscribes with replay while publishers
// run, and checks every topic's sequence numbers arrive in order, once
// each, and contiguous unless the subscription says it is not recovered:
// a catch-up that falls behind the in-memory history misses what it
// dropped.
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
			gap := false
			s, err := b.Subscribe(pattern, func(_ context.Context, m *whispeer.Message) error {
				mu.Lock()
				defer mu.Unlock()
				if want, ok := next[m.Topic]; ok && m.Seq != want {
					if m.Seq < want {
						t.Errorf("%s: seq %d, want %d", m.Topic, m.Seq, want)
					}
					gap = true
				}
				next[m.Topic] = m.Seq + 1
				return nil
			}, whispeer.WithInline(), whispeer.WithReplay(1000))
			if err != nil {
				t.Fatal(err)
			}
			cancel()
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			if gap && s.Recovered() {
				t.Error("a gap, and the subscription says it is recovered")
			}
		})
	}
}

// TestBroker_RetentionEveryInterval checks that the broker applies
// retention on its own every retention interval, to the in-memory history
// as to a store, on the clock of a synctest bubble.
func TestBroker_RetentionEveryInterval(t *testing.T) {
	for name, opt := range map[string]whispeer.Option{
		"in memory": whispeer.WithHistory(10),
		"store":     whispeer.WithStore(memory.New()),
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newBroker(t, opt, whispeer.WithRetentionInterval(10*time.Second),
					whispeer.WithRetention("#", whispeer.Retention{MaxAge: time.Minute}))
				kept := func() int {
					synctest.Wait()
					info, err := b.TopicInfo(context.Background(), "t")
					if err != nil {
						t.Fatal(err)
					}
					return info.Messages
				}
				publish(t, b, "t", "old")
				publish(t, b, "t", "old")
				time.Sleep(30 * time.Second)
				publish(t, b, "t", "new")
				time.Sleep(35 * time.Second)
				if n := kept(); n != 3 {
					t.Fatalf("%d messages kept 65 s in, want 3: none is a minute old at the last trim", n)
				}
				time.Sleep(10 * time.Second)
				if n := kept(); n != 1 {
					t.Fatalf("%d messages kept 75 s in, want 1: the trim at 70 s removes the two older than a minute", n)
				}
			})
		})
	}
}

// TestBroker_RetentionLease checks that the retention loop trims only
// while its lease says so, as a cluster's node that does not hold the
// lease, and that Trim trims regardless.
func TestBroker_RetentionLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var held atomic.Bool
		b := newBroker(t, whispeer.WithHistory(10), whispeer.WithRetentionInterval(time.Second),
			whispeer.WithRetention("#", whispeer.Retention{MaxMessages: 1}),
			whispeer.WithRetentionLease(func(context.Context) bool { return held.Load() }))
		kept := func() int {
			synctest.Wait()
			info, err := b.TopicInfo(context.Background(), "t")
			if err != nil {
				t.Fatal(err)
			}
			return info.Messages
		}
		for range 3 {
			publish(t, b, "t", "m")
		}
		time.Sleep(5 * time.Second)
		if n := kept(); n != 3 {
			t.Fatalf("%d messages kept without the lease, want 3", n)
		}
		held.Store(true)
		time.Sleep(time.Second)
		if n := kept(); n != 1 {
			t.Fatalf("%d messages kept once the lease is held, want 1", n)
		}
		held.Store(false)
		publish(t, b, "t", "m")
		if err := b.Trim(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := kept(); n != 1 {
			t.Fatalf("%d messages kept after Trim without the lease, want 1", n)
		}
	})
}

// TestBroker_HistoryTrimmedAndDeleted checks the in-memory history's
// offsets and order through retention, growth past a trim, and deletion.
func TestBroker_HistoryTrimmedAndDeleted(t *testing.T) {
	b := newBroker(t, whispeer.WithHistory(10), whispeer.WithRetention("t", whispeer.Retention{MaxMessages: 2}))
	for i := 1; i <= 4; i++ {
		publish(t, b, "t", fmt.Sprint(i))
	}
	if err := b.Trim(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 5; i <= 7; i++ { // fills the room the trim left, then grows
		publish(t, b, "t", fmt.Sprint(i))
	}
	ctx := context.Background()
	info, err := b.TopicInfo(ctx, "t")
	if err != nil || info.First != 3 || info.Last != 7 || info.Messages != 5 || info.Bytes != 5 {
		t.Fatalf("TopicInfo = %+v, %v; want offsets 3 to 7, 5 messages of 1 byte", info, err)
	}
	var c collector
	if _, err := b.Subscribe("t", c.handle, whispeer.WithInline(), whispeer.WithReplay(10)); err != nil {
		t.Fatal(err)
	}
	if p := payloads(&c); p != "34567" {
		t.Fatalf("replayed %q, want 34567", p)
	}
	if err := b.DeleteTopic(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	after, err := b.TopicInfo(ctx, "t")
	if err != nil || after.Epoch == info.Epoch || after.Last != 0 || after.Messages != 0 {
		t.Fatalf("TopicInfo after DeleteTopic = %+v, %v; want a new epoch and no message", after, err)
	}
	publish(t, b, "t", "8")
	if s := seqs(&c); s[len(s)-1] != 1 {
		t.Fatalf("first message after DeleteTopic has seq %d, want 1", s[len(s)-1])
	}
}
