package whispeer

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// replaySource is a broker that keeps a topic's messages for a replay:
// in its in-memory history or in a store, its subscriptions paced or not.
type replaySource struct {
	name  string
	opt   func() Option
	paced bool
	async bool
}

func replaySources() []replaySource {
	var out []replaySource
	for _, src := range []struct {
		name string
		opt  func() Option
	}{
		{"history", func() Option { return WithHistory(1 << 16) }},
		{"store", func() Option { return WithStore(NewMemoryStore(0)) }},
	} {
		out = append(out,
			replaySource{name: src.name + "/inline", opt: src.opt},
			replaySource{name: src.name + "/paced", opt: src.opt, paced: true},
			replaySource{name: src.name + "/async", opt: src.opt, async: true})
	}
	return out
}

// subscribe subscribes h to topic with a replay of n, and returns a
// channel closed once the catch-up is over: at once for an inline
// subscription, whose Subscribe returns only then.
func (src replaySource) subscribe(t *testing.T, b *Broker, topic string, n int, h Handler) (*Subscription, <-chan struct{}) {
	t.Helper()
	done := make(chan struct{})
	opts := []SubscribeOption{WithReplay(n)}
	switch {
	case src.paced:
		opts = append(opts, WithInline(), WithPacing(Pacing{
			Room: func() <-chan struct{} { return nil },
			Done: func(bool) { close(done) },
		}))
	case src.async:
		opts = append(opts, WithQueueSize(1<<16))
	default:
		opts = append(opts, WithInline())
	}
	s, err := b.Subscribe(topic, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !src.paced {
		close(done)
	}
	return s, done
}

func publishN(t *testing.T, b *Broker, topic string, from, to int, opts ...PublishOption) {
	t.Helper()
	for i := from; i <= to; i++ {
		if err := b.Publish(context.Background(), topic, []byte(strconv.Itoa(i)), opts...); err != nil {
			t.Error(err)
			return
		}
	}
}

// offsets records the offsets a handler receives and signals when it has
// received want of them.
type offsets struct {
	mu   sync.Mutex
	got  []uint64
	want int
	all  chan struct{}
}

func newOffsets(want int) *offsets { return &offsets{want: want, all: make(chan struct{})} }

func (o *offsets) add(m *Message) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, m.Seq)
	if len(o.got) == o.want {
		close(o.all)
	}
}

// check fails unless the offsets received are 1…want, each once, in order.
func (o *offsets) check(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.got) != o.want {
		t.Fatalf("received %d messages, want %d", len(o.got), o.want)
	}
	for i, seq := range o.got {
		if seq != uint64(i+1) {
			t.Fatalf("message %d has offset %d, want %d (offsets %v…)", i, seq, i+1, o.got[max(0, i-3):min(len(o.got), i+3)])
		}
	}
}

// A handler given replayed history runs under no lock of the broker's:
// it may publish to the replayed topic, subscribe and unsubscribe to it,
// and read it, and what it publishes reaches it after the history, live.
func TestReplay_HandlerCallsBroker(t *testing.T) {
	for _, src := range replaySources() {
		t.Run(src.name, func(t *testing.T) {
			b, err := New(src.opt())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			publishN(t, b, "t", 1, 3)
			ctx := context.Background()
			got := newOffsets(4)
			first := true
			_, done := src.subscribe(t, b, "t", 3, func(_ context.Context, m *Message) error {
				if first {
					first = false
					if topicLocked(b, "t") {
						t.Error("the replay runs under the topic's lock")
						return nil // calling the broker would deadlock
					}
					if err := b.Publish(ctx, "t", []byte("from the replay")); err != nil {
						t.Error(err)
					}
					other, err := b.Subscribe("t", func(context.Context, *Message) error { return nil }, WithReplay(1), WithInline())
					if err != nil {
						t.Error(err)
					} else if err := other.Unsubscribe(); err != nil {
						t.Error(err)
					}
					if _, err := b.TopicInfo(ctx, "t"); err != nil {
						t.Error(err)
					}
				}
				got.add(m)
				return nil
			})
			<-done
			if t.Failed() {
				return
			}
			<-got.all
			got.check(t)
		})
	}
}

// Live messages published while a subscription replays a long history
// reach it after the history, in offset order, with no gap and no
// duplicate, whether they fit the messages a catch-up holds back or
// overflow them (then they are read from the history or store).
func TestReplay_LiveMeetsHistory(t *testing.T) {
	const stored = 3000
	for _, src := range replaySources() {
		for _, live := range []int{100, 3 * maxPending} {
			for _, qos := range []QoS{AtMostOnce, ExactlyOnce} {
				if qos == ExactlyOnce && src.name[:5] != "store" {
					continue // the gate holds ExactlyOnce messages only with a store
				}
				t.Run(fmt.Sprintf("%s/live=%d/%v", src.name, live, qos), func(t *testing.T) {
					b, err := New(src.opt())
					if err != nil {
						t.Fatal(err)
					}
					defer b.Close()
					publishN(t, b, "t", 1, stored)
					got := newOffsets(stored + live)
					started, release := make(chan struct{}), make(chan struct{})
					subscribed := make(chan struct{})
					go func() {
						defer close(subscribed)
						_, done := src.subscribe(t, b, "t", stored, func(_ context.Context, m *Message) error {
							if m.Seq == 1 {
								close(started)
								<-release
							}
							got.add(m)
							return nil
						})
						<-done
					}()
					<-started // the replay is under way, and waits
					publishN(t, b, "t", stored+1, stored+live, WithQoS(qos))
					close(release)
					<-subscribed
					<-got.all
					got.check(t)
				})
			}
		}
	}
}

// Publishers that keep publishing while a subscription catches up hold
// it back no longer than it takes to catch up: every message reaches it,
// in order, once each.
func TestReplay_ConcurrentPublishers(t *testing.T) {
	const stored, live = 2000, 2000
	for _, src := range replaySources() {
		t.Run(src.name, func(t *testing.T) {
			b, err := New(src.opt())
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			publishN(t, b, "t", 1, stored)
			got := newOffsets(stored + live)
			published := make(chan struct{})
			go func() {
				defer close(published)
				publishN(t, b, "t", stored+1, stored+live)
			}()
			_, done := src.subscribe(t, b, "t", stored+live, func(_ context.Context, m *Message) error {
				got.add(m)
				return nil
			})
			<-done
			<-published
			<-got.all
			got.check(t)
		})
	}
}

// room is a paced subscriber's window, shut until opened.
type room struct {
	open   atomic.Bool
	opened chan struct{}
}

func newRoom() *room { return &room{opened: make(chan struct{})} }

func (r *room) room() <-chan struct{} {
	if r.open.Load() {
		return nil
	}
	return r.opened
}

func (r *room) let() {
	r.open.Store(true)
	close(r.opened)
}

// A subscriber that never takes its replay holds back no publisher of
// its topic, even with no store behind the in-memory history: past the
// messages a catch-up holds back, the oldest are let go, and once the
// subscriber takes them it receives the rest in order, once each, told
// (Recovered false) of those the history no longer held.
func TestReplay_StalledCatchUpHoldsNoPublisher(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(WithHistory(10))
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		publishN(t, b, "t", 1, 10)
		r := newRoom()
		done := make(chan bool, 1)
		var mu sync.Mutex
		var got []uint64
		s, err := b.Subscribe("t", func(_ context.Context, m *Message) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, m.Seq)
			return nil
		}, WithInline(), WithReplay(10), WithPacing(Pacing{Room: r.room, Done: func(ok bool) { done <- ok }}))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Unsubscribe()
		const live = 3 * maxPending
		start := time.Now()
		publishN(t, b, "t", 11, 10+live)
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("publishers waited %v for a stalled catch-up", waited)
		}
		r.let()
		if <-done {
			t.Error("recovered, though the history dropped messages the catch-up let go")
		}
		mu.Lock()
		defer mu.Unlock()
		for i := 1; i < len(got); i++ {
			if got[i] <= got[i-1] {
				t.Fatalf("offset %d after %d", got[i], got[i-1])
			}
		}
		if len(got) == 0 || got[len(got)-1] != 10+live {
			t.Fatalf("last offset received %v, want %d", got[max(0, len(got)-1):], 10+live)
		}
	})
}

// outageBackplane is a backplane that carries nothing and is down when
// told.
type outageBackplane struct{ down atomic.Bool }

func (*outageBackplane) Start(func(*Message, uint64)) error  { return nil }
func (*outageBackplane) Watch(context.Context, string) error { return nil }
func (*outageBackplane) Unwatch(string)                      {}
func (*outageBackplane) Close() error                        { return nil }
func (o *outageBackplane) Down() bool                        { return o.down.Load() }

// A QoS 0 message delivered by this broker alone while its backplane is
// down reaches a subscription still catching up on its topic too, after
// the messages before it.
func TestReplay_LocalOnlyReachesCatchUp(t *testing.T) {
	bp := &outageBackplane{}
	b, err := New(WithStore(NewMemoryStore(0)), WithBackplane(bp))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	publishN(t, b, "t", 1, 5)
	bp.down.Store(true)
	r := newRoom()
	done := make(chan bool, 1)
	var got []*Message // written by the catch-up until done
	s, err := b.Subscribe("t", func(_ context.Context, m *Message) error {
		got = append(got, m.Clone())
		return nil
	}, WithInline(), WithReplay(5), WithPacing(Pacing{Room: r.room, Done: func(ok bool) { done <- ok }}))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Unsubscribe()
	if err := b.Publish(context.Background(), "t", []byte("local")); err != nil {
		t.Fatal(err)
	}
	r.let()
	if !<-done {
		t.Error("not recovered")
	}
	if len(got) != 6 {
		t.Fatalf("received %d messages, want the 5 stored and the local one", len(got))
	}
	for i, m := range got[:5] {
		if m.Seq != uint64(i+1) {
			t.Fatalf("message %d has offset %d (%q)", i, m.Seq, m.Payload)
		}
	}
	if m := got[5]; m.Seq != 0 || string(m.Payload) != "local" {
		t.Fatalf("last message: offset %d, payload %q; want the local one", m.Seq, m.Payload)
	}
}
