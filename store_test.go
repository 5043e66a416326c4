package whispeer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/file"
	"github.com/whispeer-io/whispeer/store/memory"
	"github.com/whispeer-io/whispeer/store/sqlite"
)

// seqs returns the sequence numbers of the collected messages.
func seqs(c *collector) []uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []uint64
	for _, m := range c.msgs {
		out = append(out, m.Seq)
	}
	return out
}

func wantSeqs(t testing.TB, got []uint64, from, to uint64) {
	t.Helper()
	if len(got) != int(to-from+1) {
		t.Fatalf("received seqs %v, want %d..%d", got, from, to)
	}
	for i, s := range got {
		if s != from+uint64(i) {
			t.Fatalf("received seqs %v, want %d..%d", got, from, to)
		}
	}
}

func TestBroker_StoreSeqIsOffset(t *testing.T) {
	st := memory.New()
	b := newBroker(t, whispeer.WithStore(st))
	for range 3 {
		publish(t, b, "chat", "x")
	}
	info, err := b.TopicInfo(context.Background(), "chat")
	if err != nil || info.Last != 3 || info.Epoch == 0 {
		t.Fatalf("TopicInfo = %+v, %v; want Last 3 and an epoch", info, err)
	}
	var c collector
	s, err := b.Subscribe("chat", c.handle, whispeer.WithInline())
	if err != nil {
		t.Fatal(err)
	}
	if e, o := s.Position(); e != info.Epoch || o != 3 {
		t.Fatalf("Position = %x, %d; want %x, 3", e, o, info.Epoch)
	}
	publish(t, b, "chat", "y")
	wantSeqs(t, seqs(&c), 4, 4)
}

func TestBroker_StoreReplay(t *testing.T) {
	for _, isSync := range []bool{true, false} {
		t.Run(fmt.Sprintf("sync=%v", isSync), func(t *testing.T) {
			b := newBroker(t, whispeer.WithStore(memory.New()))
			for i := 1; i <= 5; i++ {
				publish(t, b, "chat/a", fmt.Sprint(i))
			}
			publish(t, b, "chat/b", "b")
			got := make(chan *whispeer.Message, 10)
			opts := []whispeer.SubscribeOption{whispeer.WithReplay(3)}
			if isSync {
				opts = append(opts, whispeer.WithInline())
			}
			if _, err := b.Subscribe("chat/+", chanHandler(got), opts...); err != nil {
				t.Fatal(err)
			}
			publish(t, b, "chat/a", "6")
			per := map[string]string{}
			for range 5 {
				m := <-got
				per[m.Topic] += string(m.Payload)
			}
			if per["chat/a"] != "3456" || per["chat/b"] != "b" {
				t.Fatalf("received %q, want 3456 on chat/a and b on chat/b", per)
			}
		})
	}
}

func TestBroker_Resume(t *testing.T) {
	st := memory.New()
	b := newBroker(t, whispeer.WithStore(st))
	for range 10 {
		publish(t, b, "t", "x")
	}
	info, _ := b.TopicInfo(context.Background(), "t")
	tests := []struct {
		name          string
		epoch, offset uint64
		from          uint64 // first seq received; 11 for live only
		recovered     bool
	}{
		{"after 4", info.Epoch, 4, 5, true},
		{"up to date", info.Epoch, 10, 11, true},
		{"from the start", 0, 0, 1, true},
		{"other epoch", info.Epoch + 1, 4, 11, false},
		{"ahead of the log", info.Epoch, 12, 11, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collector
			s, err := b.Subscribe("t", c.handle, whispeer.WithInline(), whispeer.WithResume(tt.epoch, tt.offset))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Unsubscribe()
			if s.Recovered() != tt.recovered {
				t.Fatalf("Recovered = %v, want %v", s.Recovered(), tt.recovered)
			}
			wantSeqs(t, seqs(&c), tt.from, 10)
		})
	}
	if err := st.Trim(context.Background(), "t", whispeer.Retention{MaxMessages: 3}); err != nil {
		t.Fatal(err)
	}
	var c collector
	s, err := b.Subscribe("t", c.handle, whispeer.WithInline(), whispeer.WithResume(info.Epoch, 2))
	if err != nil {
		t.Fatal(err)
	}
	if s.Recovered() {
		t.Fatal("Recovered after the history was trimmed past the offset")
	}
	wantSeqs(t, seqs(&c), 8, 10)
}

func TestBroker_ResumeRefused(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()))
	h := func(context.Context, *whispeer.Message) error { return nil }
	if _, err := b.Subscribe("t/+", h, whispeer.WithResume(1, 1)); !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Fatalf("resume on a pattern: %v, want ErrInvalidOption", err)
	}
}

// TestBroker_ResumeFromMemory resumes on a broker without a store: its
// in-memory history serves the resume as far as it reaches, and says so
// when it does not.
func TestBroker_ResumeFromMemory(t *testing.T) {
	b := newBroker(t, whispeer.WithHistory(5))
	for range 8 {
		publish(t, b, "t", "x")
	}
	info, err := b.TopicInfo(context.Background(), "t")
	if err != nil || info.Epoch == 0 || info.First != 4 || info.Last != 8 || info.Messages != 5 {
		t.Fatalf("TopicInfo = %+v, %v; want an epoch, offsets 4 to 8", info, err)
	}
	tests := []struct {
		name         string
		offset, from uint64
		recovered    bool
	}{
		{"within the history", 5, 6, true},
		{"before the history", 1, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c collector
			s, err := b.Subscribe("t", c.handle, whispeer.WithInline(), whispeer.WithResume(info.Epoch, tt.offset))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Unsubscribe()
			if s.Recovered() != tt.recovered {
				t.Fatalf("Recovered = %v, want %v", s.Recovered(), tt.recovered)
			}
			wantSeqs(t, seqs(&c), tt.from, 8)
		})
	}
}

// TestBroker_DurableFromMemory makes a durable subscription on a broker
// without a store: its cursor lasts as long as the broker, so a subscriber
// that comes back receives what it missed, as far as the history reaches.
func TestBroker_DurableFromMemory(t *testing.T) {
	b := newBroker(t, whispeer.WithHistory(100))
	var c collector
	s, err := b.Subscribe("t", c.handle, whispeer.WithInline(), whispeer.WithDurable("c"))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		publish(t, b, "t", "x")
	}
	s.Unsubscribe()
	for range 2 {
		publish(t, b, "t", "x")
	}
	var again collector
	if _, err := b.Subscribe("t", again.handle, whispeer.WithInline(), whispeer.WithDurable("c")); err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, seqs(&c), 1, 3)
	wantSeqs(t, seqs(&again), 4, 5)
}

// cursorless is a store that keeps no cursors: it is no CursorStore.
type cursorless struct{ whispeer.Store }

// TestBroker_DurableNeedsCursors checks that a durable subscription on a
// store that keeps no cursors is refused with ErrNoCursors, while replay
// and resume, which need no cursor, are served.
func TestBroker_DurableNeedsCursors(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(cursorless{memory.New()}))
	publish(t, b, "t", "1")
	h := func(context.Context, *whispeer.Message) error { return nil }
	_, err := b.Subscribe("t", h, whispeer.WithDurable("c"))
	if !errors.Is(err, whispeer.ErrNoCursors) || !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Fatalf("durable on a store without cursors: %v, want ErrNoCursors and ErrInvalidOption", err)
	}
	s, err := b.Subscribe("t", h, whispeer.WithResume(0, 0))
	if err != nil {
		t.Fatalf("resume on a store without cursors: %v", err)
	}
	if !s.Recovered() {
		t.Fatal("resume on a store without cursors not recovered")
	}
}

// TestBroker_ResumeNoGapNoDuplicate resumes while publishers run, async
// with a small queue so that catching up outpaces it, and checks every
// message arrives once, in order.
func TestBroker_ResumeNoGapNoDuplicate(t *testing.T) {
	stores := map[string]func(testing.TB, string) whispeer.Store{
		"memory": func(testing.TB, string) whispeer.Store { return memory.New() },
	}
	maps.Copy(stores, durableStores)
	for name, open := range stores {
		for _, isSync := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/sync=%v", name, isSync), func(t *testing.T) {
				testResumeNoGap(t, open(t, t.TempDir()), isSync)
			})
		}
	}
}

func testResumeNoGap(t *testing.T, st whispeer.Store, isSync bool) {
	b := newBroker(t, whispeer.WithStore(st))
	for range 2000 {
		publish(t, b, "live", "")
	}
	info, _ := b.TopicInfo(context.Background(), "live")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	started := make(chan struct{})
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			publish(t, b, "live", "")
			if i == 10 {
				close(started)
			}
		}
	})
	<-started
	var mu sync.Mutex
	next := uint64(1)
	done := make(chan struct{})
	var stop uint64
	opts := []whispeer.SubscribeOption{whispeer.WithResume(info.Epoch, 0), whispeer.WithQueueSize(16), whispeer.WithOverflow(whispeer.DropNewest)}
	if isSync {
		opts = append(opts, whispeer.WithInline())
	}
	_, err := b.Subscribe("live", func(_ context.Context, m *whispeer.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if m.Seq != next {
			t.Errorf("seq %d, want %d", m.Seq, next)
		}
		next = m.Seq + 1
		if stop != 0 && m.Seq == stop {
			close(done)
		}
		return nil
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	wg.Wait()
	last, _ := b.TopicInfo(context.Background(), "live")
	mu.Lock()
	stop = last.Last
	if next > stop {
		close(done)
	}
	mu.Unlock()
	<-done
	if st := b.Stats(); st.Dropped != 0 {
		t.Fatalf("%d messages dropped", st.Dropped)
	}
}

func TestBroker_Durable(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()), whispeer.WithDurableBacklog(5))
	var c collector
	s, err := b.Subscribe("orders", c.handle, whispeer.WithInline(), whispeer.WithDurable("client-1"))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "orders", "1")
	publish(t, b, "orders", "2")
	s.Unsubscribe()
	for i := 3; i <= 5; i++ {
		publish(t, b, "orders", fmt.Sprint(i)) // while the client is away
	}
	var c2 collector
	s, err = b.Subscribe("orders", c2.handle, whispeer.WithInline(), whispeer.WithDurable("client-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Recovered() {
		t.Fatal("not Recovered after a short absence")
	}
	publish(t, b, "orders", "6")
	wantSeqs(t, seqs(&c2), 3, 6)
	s.Unsubscribe()

	for i := 7; i <= 20; i++ {
		publish(t, b, "orders", fmt.Sprint(i))
	}
	var c3 collector
	s, err = b.Subscribe("orders", c3.handle, whispeer.WithInline(), whispeer.WithDurable("client-1"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Recovered() {
		t.Fatal("Recovered though more than the backlog was missed")
	}
	wantSeqs(t, seqs(&c3), 16, 20)
}

// TestBroker_DurableAwayBeforeFirstMessage leaves before any message
// reached the subscription: what is published while it is away still
// reaches it when it comes back, as for a subscriber that had taken some.
func TestBroker_DurableAwayBeforeFirstMessage(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()))
	publish(t, b, "orders", "before")
	var c collector
	s, err := b.Subscribe("orders", c.handle, whispeer.WithInline(), whispeer.WithDurable("client-1"))
	if err != nil {
		t.Fatal(err)
	}
	s.Unsubscribe()
	publish(t, b, "orders", "away-1")
	publish(t, b, "orders", "away-2")
	var c2 collector
	s, err = b.Subscribe("orders", c2.handle, whispeer.WithInline(), whispeer.WithDurable("client-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Recovered() {
		t.Fatal("not Recovered after a short absence")
	}
	wantSeqs(t, seqs(&c2), 2, 3)
	if n := len(seqs(&c)); n != 0 {
		t.Fatalf("the first subscription received %d messages, want none", n)
	}
}

// TestBroker_DurablePatternAsync comes back to a pattern with an async
// handler and receives, per topic, what it missed, then live messages.
func TestBroker_DurablePatternAsync(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()))
	got := make(chan *whispeer.Message, 100)
	s, err := b.Subscribe("room/+", chanHandler(got), whispeer.WithDurable("c"))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "room/a", "a1")
	publish(t, b, "room/b", "b1")
	<-got
	<-got
	s.Unsubscribe()
	<-s.Done()
	publish(t, b, "room/a", "a2")
	publish(t, b, "room/b", "b2")
	publish(t, b, "room/a", "a3")
	if _, err := b.Subscribe("room/+", chanHandler(got), whispeer.WithDurable("c")); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "room/b", "b3")
	per := map[string]string{}
	for range 4 {
		m := <-got
		per[m.Topic] += string(m.Payload)
	}
	if per["room/a"] != "a2a3" || per["room/b"] != "b2b3" {
		t.Fatalf("received %q, want a2a3 and b2b3", per)
	}
}

func TestBroker_DurableManualAck(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()))
	var c collector
	s, err := b.Subscribe("q", c.handle, whispeer.WithInline(), whispeer.WithDurable("c"), whispeer.WithManualAck())
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "q", "1")
	publish(t, b, "q", "2")
	c.mu.Lock()
	first := c.msgs[0]
	c.mu.Unlock()
	if err := s.Ack(first); err != nil {
		t.Fatal(err)
	}
	s.Unsubscribe()
	var c2 collector
	if _, err := b.Subscribe("q", c2.handle, whispeer.WithInline(), whispeer.WithDurable("c")); err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, seqs(&c2), 2, 2) // the unacknowledged one again
}

// gatedStore holds back Append's done until released.
type gatedStore struct {
	whispeer.Store
	mu      sync.Mutex
	pending []func(error)
	added   chan struct{}
}

func (g *gatedStore) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	return g.Store.Append(ctx, m, func(err error) {
		if done == nil {
			return
		}
		g.mu.Lock()
		g.pending = append(g.pending, func(error) { done(err) })
		g.mu.Unlock()
		g.added <- struct{}{}
	})
}

func (g *gatedStore) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, f := range g.pending {
		f(nil)
	}
	g.pending = nil
}

func TestBroker_PublishWaitsForDurability(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedStore{Store: memory.New(), added: make(chan struct{}, 1)}
		b := newBroker(t, whispeer.WithStore(g))
		var c collector
		if _, err := b.Subscribe("d", c.handle, whispeer.WithInline()); err != nil {
			t.Fatal(err)
		}
		publish(t, b, "d", "qos0") // returns without durability
		returned := make(chan error, 1)
		go func() {
			returned <- b.Publish(context.Background(), "d", []byte("qos1"), whispeer.WithQoS(whispeer.AtLeastOnce))
		}()
		<-g.added
		synctest.Wait() // Publish has returned, or waits for good
		select {
		case err := <-returned:
			t.Fatalf("Publish returned %v before the store made the message durable", err)
		default:
		}
		g.release()
		if err := <-returned; err != nil {
			t.Fatal(err)
		}
		wantSeqs(t, seqs(&c), 1, 2)
	})
}

func TestBroker_PublishAsync(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedStore{Store: memory.New(), added: make(chan struct{}, 4)}
		b := newBroker(t, whispeer.WithStore(g))
		acked := make(chan error, 4)
		ctx := context.Background()
		for range 3 {
			if err := b.PublishAsync(ctx, "d", []byte("x"), func(err error) { acked <- err }, whispeer.WithQoS(whispeer.AtLeastOnce)); err != nil {
				t.Fatal(err)
			}
			<-g.added
		}
		if err := b.PublishAsync(ctx, "d", []byte("x"), func(err error) { acked <- err }); err != nil {
			t.Fatal(err)
		}
		if err := <-acked; err != nil { // QoS 0: at once
			t.Fatal(err)
		}
		synctest.Wait() // every ack that is coming has come
		select {
		case err := <-acked:
			t.Fatalf("a QoS 1 publish was acked (%v) before the store made it durable", err)
		default:
		}
		g.release()
		for range 3 {
			if err := <-acked; err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestBroker_DeleteTopic(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()))
	publish(t, b, "t", "1")
	publish(t, b, "t", "2")
	before, _ := b.TopicInfo(context.Background(), "t")
	if err := b.DeleteTopic(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	var c collector
	s, err := b.Subscribe("t", c.handle, whispeer.WithInline(), whispeer.WithResume(before.Epoch, 2))
	if err != nil {
		t.Fatal(err)
	}
	if s.Recovered() {
		t.Fatal("Recovered across a deleted topic")
	}
	publish(t, b, "t", "new")
	wantSeqs(t, seqs(&c), 1, 1)
}

func TestBroker_StoreRetention(t *testing.T) {
	st := memory.New()
	b := newBroker(t, whispeer.WithStore(st),
		whispeer.WithRetention("logs/#", whispeer.Retention{MaxMessages: 2}),
		whispeer.WithRetention("#", whispeer.Retention{MaxMessages: 4}))
	for range 6 {
		publish(t, b, "logs/a", "x")
		publish(t, b, "other", "x")
	}
	if err := b.Trim(context.Background()); err != nil {
		t.Fatal(err)
	}
	for topic, want := range map[string]int{"logs/a": 2, "other": 4} {
		info, _ := b.TopicInfo(context.Background(), topic)
		if info.Messages != want || info.Last != 6 {
			t.Fatalf("%s after Trim: %+v, want %d messages up to 6", topic, info, want)
		}
	}
}

func TestBroker_StoreSurvivesRestart(t *testing.T) {
	for name, open := range durableStores {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			b := newBroker(t, whispeer.WithStore(open(t, dir)))
			for range 3 {
				publish(t, b, "chat", "x", whispeer.WithQoS(whispeer.AtLeastOnce))
			}
			info, _ := b.TopicInfo(context.Background(), "chat")
			b.Close()

			b = newBroker(t, whispeer.WithStore(open(t, dir)))
			var c collector
			s, err := b.Subscribe("chat", c.handle, whispeer.WithInline(), whispeer.WithResume(info.Epoch, 1))
			if err != nil {
				t.Fatal(err)
			}
			if !s.Recovered() {
				t.Fatal("not Recovered after a restart")
			}
			publish(t, b, "chat", "y")
			wantSeqs(t, seqs(&c), 2, 4)
		})
	}
}

// TestBroker_StoreHoldsEnvelopes checks that with encryption on, and with
// encryption at rest for a plaintext topic, a marker in the payloads never
// reaches the store's files, while subscribers still read it back.
func TestBroker_StoreHoldsEnvelopes(t *testing.T) {
	const marker = "CONFIDENTIAL-MARKER-7f3a"
	for name, open := range durableStores {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			kr := newKeyring(t)
			b := newBroker(t, whispeer.WithStore(open(t, dir)), whispeer.WithEncryption(kr),
				whispeer.ForTopics("public/#", whispeer.Plaintext()), whispeer.WithStoreEncryption(newKeyring(t)))
			for _, topic := range []string{"secret", "public/news"} {
				for range 20 {
					publish(t, b, topic, marker, whispeer.WithQoS(whispeer.AtLeastOnce))
				}
			}
			var c collector
			if _, err := b.Subscribe("#", c.handle, whispeer.WithInline(), whispeer.WithReplay(100)); err != nil {
				t.Fatal(err)
			}
			c.mu.Lock()
			n := len(c.msgs)
			for _, m := range c.msgs {
				if string(m.Payload) != marker {
					t.Errorf("replayed %q on %s, want the marker", m.Payload, m.Topic)
				}
			}
			c.mu.Unlock()
			if n != 40 {
				t.Fatalf("replayed %d messages, want 40", n)
			}
			b.Close()
			checkNoMarker(t, dir, marker)
		})
	}
}

func checkNoMarker(t *testing.T, dir, marker string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(marker)) {
			t.Fatalf("the marker is in %s", e.Name())
		}
	}
}

// durableStores open the stores kept on disk, closed with their broker.
var durableStores = map[string]func(testing.TB, string) whispeer.Store{
	"file": func(t testing.TB, dir string) whispeer.Store {
		s, err := file.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		return s
	},
	"sqlite": func(t testing.TB, dir string) whispeer.Store {
		s, err := sqlite.Open(filepath.Join(dir, "whispeer.db"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	},
}

// benchStores open each store with a sync policy, in a directory of its
// own.
var benchStores = []struct {
	name   string
	policy bool // whether the sync policy means anything to the store
	open   func(b *testing.B, dir string, p whispeer.SyncPolicy) whispeer.Store
}{
	{"memory", false, func(*testing.B, string, whispeer.SyncPolicy) whispeer.Store { return memory.New() }},
	{"file", true, func(b *testing.B, dir string, p whispeer.SyncPolicy) whispeer.Store {
		s, err := file.Open(dir, file.WithFsync(p))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}},
	{"sqlite", true, func(b *testing.B, dir string, p whispeer.SyncPolicy) whispeer.Store {
		s, err := sqlite.Open(filepath.Join(dir, "whispeer.db"), sqlite.WithFsync(p))
		if err != nil {
			b.Fatal(err)
		}
		return s
	}},
}

var benchPolicies = []struct {
	name string
	p    whispeer.SyncPolicy
}{
	{"always", whispeer.SyncAlways},
	{"batch", whispeer.SyncEvery(whispeer.DefaultSyncInterval)},
	{"never", whispeer.SyncNever},
}

// BenchmarkStore_Append measures acknowledged durable appends per second:
// one publisher, 128-byte payloads, at most 100 appends waiting for their
// sync.
func BenchmarkStore_Append(b *testing.B) {
	for _, st := range benchStores {
		for _, pol := range benchPolicies {
			if !st.policy && pol.name != "always" {
				continue
			}
			b.Run(st.name+"/"+pol.name, func(b *testing.B) {
				s := st.open(b, b.TempDir(), pol.p)
				defer s.Close()
				payload := bytes.Repeat([]byte("x"), 128)
				slots := make(chan struct{}, 100)
				done := func(err error) {
					if err != nil {
						b.Error(err)
					}
					<-slots
				}
				ctx := context.Background()
				b.ResetTimer()
				for i := range b.N {
					slots <- struct{}{}
					m := &whispeer.Message{Topic: "bench", ID: fmt.Sprint(i), Payload: payload}
					if err := s.Append(ctx, m, done); err != nil {
						b.Fatal(err)
					}
				}
				for range cap(slots) {
					slots <- struct{}{}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

const resumeMessages = 100_000

// BenchmarkBroker_Resume measures a subscriber resuming after 100k missed
// messages kept in each store: Subscribe WithResume delivers them all to a
// sync handler.
func BenchmarkBroker_Resume(b *testing.B) {
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			br, err := whispeer.New(whispeer.WithStore(st.open(b, b.TempDir(), whispeer.SyncNever)))
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			payload := bytes.Repeat([]byte("x"), 128)
			ctx := context.Background()
			for range resumeMessages {
				if err := br.Publish(ctx, "missed", payload); err != nil {
					b.Fatal(err)
				}
			}
			info, _ := br.TopicInfo(ctx, "missed")
			n := 0
			h := func(context.Context, *whispeer.Message) error { n++; return nil }
			b.ResetTimer()
			for range b.N {
				s, err := br.Subscribe("missed", h, whispeer.WithInline(), whispeer.WithResume(info.Epoch, 0))
				if err != nil {
					b.Fatal(err)
				}
				s.Unsubscribe()
			}
			if n != b.N*resumeMessages {
				b.Fatalf("delivered %d, want %d", n, b.N*resumeMessages)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
