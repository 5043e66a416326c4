package whispeer_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/memory"
)

var once = whispeer.WithQoS(whispeer.ExactlyOnce)

// ids returns the ids of the collected messages.
func ids(c *collector) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		out = append(out, m.ID)
	}
	return out
}

func wantIDs(t testing.TB, c *collector, want ...string) {
	t.Helper()
	if got := ids(c); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("delivered %v, want %v", got, want)
	}
}

func TestBroker_ExactlyOnceRetries(t *testing.T) {
	for name, opts := range map[string][]whispeer.Option{
		"memory": nil,
		"store":  {whispeer.WithStore(memory.New())},
	} {
		t.Run(name, func(t *testing.T) {
			b := newBroker(t, opts...)
			var c1, c2 collector
			for _, c := range []*collector{&c1, &c2} {
				if _, err := b.Subscribe("o/#", c.handle, whispeer.WithInline()); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				publish(t, b, "o/1", "a", once, whispeer.WithID("a"), whispeer.WithPublisher(whispeer.PublisherName("p")))
			}
			publish(t, b, "o/1", "a", once, whispeer.WithID("a"), whispeer.WithPublisher(whispeer.PublisherName("q"))) // another publisher
			publish(t, b, "o/1", "b", once, whispeer.WithID("b"), whispeer.WithPublisher(whispeer.PublisherName("p")))
			publish(t, b, "o/1", "a", whispeer.WithQoS(whispeer.AtLeastOnce), whispeer.WithID("a"), whispeer.WithPublisher(whispeer.PublisherName("p")))
			wantIDs(t, &c1, "a", "a", "b", "a")
			wantIDs(t, &c2, "a", "a", "b", "a")
			if got := b.Stats().Duplicates; got != 2 {
				t.Fatalf("Duplicates = %d, want 2", got)
			}
			if name == "store" {
				if info, _ := b.TopicInfo(context.Background(), "o/1"); info.Messages != 4 {
					t.Fatalf("stored %d messages, want 4", info.Messages)
				}
			}
		})
	}
}

func TestBroker_ExactlyOnceAsyncSubscriber(t *testing.T) {
	b := newBroker(t)
	ch := make(chan *whispeer.Message, 10)
	if _, err := b.Subscribe("t", chanHandler(ch)); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"x", "x", "y", "x", "y"} {
		publish(t, b, "t", id, once, whispeer.WithID(id))
	}
	for _, want := range []string{"x", "y"} {
		if m := <-ch; m.ID != want || m.QoS != whispeer.ExactlyOnce {
			t.Fatalf("got %s at QoS %d, want %s at QoS 2", m.ID, m.QoS, want)
		}
	}
	b.Close() // drains the queue
	if len(ch) != 0 {
		t.Fatalf("got %s again", (<-ch).ID)
	}
}

func TestBroker_ExactlyOnceWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBroker(t, whispeer.WithDedup(whispeer.Dedup{Window: time.Minute}))
		var c collector
		if _, err := b.Subscribe("t", c.handle, whispeer.WithInline()); err != nil {
			t.Fatal(err)
		}
		publish(t, b, "t", "1", once, whispeer.WithID("a"))
		time.Sleep(59 * time.Second)
		publish(t, b, "t", "2", once, whispeer.WithID("a")) // inside the window
		time.Sleep(2 * time.Second)
		publish(t, b, "t", "3", once, whispeer.WithID("a")) // a minute and a second after the first
		wantIDs(t, &c, "a", "a")
		if p := string(c.msgs[1].Payload); p != "3" {
			t.Fatalf("second delivery %q, want the publish after the window", p)
		}
	})
}

func TestBroker_ExactlyOnceHeldLimit(t *testing.T) {
	b := newBroker(t, whispeer.WithDedup(whispeer.Dedup{MaxPerPublisher: 2}))
	var c collector
	if _, err := b.Subscribe("t", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	acked := func(error) {}
	for _, id := range []string{"a", "b"} {
		if err := b.PublishAsync(ctx, "t", []byte(id), acked, once, whispeer.WithID(id), whispeer.WithPublisher(whispeer.PublisherName("p"))); err != nil {
			t.Fatal(err)
		}
	}
	err := b.PublishAsync(ctx, "t", []byte("c"), acked, once, whispeer.WithID("c"), whispeer.WithPublisher(whispeer.PublisherName("p")))
	if !errors.Is(err, whispeer.ErrDedupLimit) || whispeer.ErrorCode(err) != whispeer.CodeLimit {
		t.Fatalf("a third held id: %v, want ErrDedupLimit", err)
	}
	publish(t, b, "t", "x", once, whispeer.WithID("x"), whispeer.WithPublisher(whispeer.PublisherName("other"))) // another publisher's room
	if !b.Release("p", "a") || b.Release("p", "nothing") {
		t.Fatal("Release reports the wrong ids as known")
	}
	if err := b.PublishAsync(ctx, "t", []byte("c"), acked, once, whispeer.WithID("c"), whispeer.WithPublisher(whispeer.PublisherName("p"))); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	publish(t, b, "t", "b", once, whispeer.WithID("b"), whispeer.WithPublisher(whispeer.PublisherName("p"))) // held: a duplicate
	b.Release("p", "b")
	publish(t, b, "t", "a", once, whispeer.WithID("a"), whispeer.WithPublisher(whispeer.PublisherName("p"))) // evicted for c: new
	wantIDs(t, &c, "a", "b", "x", "c", "a")
}

func TestBroker_ExactlyOnceTotalLimit(t *testing.T) {
	b := newBroker(t, whispeer.WithDedup(whispeer.Dedup{MaxPerPublisher: 2, MaxTotal: 3}))
	ctx := context.Background()
	for i, p := range []string{"p", "p", "q"} {
		if err := b.PublishAsync(ctx, "t", nil, func(error) {}, once, whispeer.WithID(fmt.Sprint(i)), whispeer.WithPublisher(whispeer.PublisherName(p))); err != nil {
			t.Fatal(err)
		}
	}
	err := b.Publish(ctx, "t", nil, once, whispeer.WithID("r"), whispeer.WithPublisher(whispeer.PublisherName("r")))
	if !errors.Is(err, whispeer.ErrDedupLimit) {
		t.Fatalf("a fourth id in all: %v, want ErrDedupLimit", err)
	}
	b.Release("q", "2")
	if err := b.Publish(ctx, "t", nil, once, whispeer.WithID("r"), whispeer.WithPublisher(whispeer.PublisherName("r"))); err != nil {
		t.Fatalf("another publisher's released id gives way: %v", err)
	}
	if err := b.PublishAsync(ctx, "t", nil, func(error) {}, once, whispeer.WithID("r2"), whispeer.WithPublisher(whispeer.PublisherName("r"))); err != nil {
		t.Fatalf("a publisher gives up its own released id: %v", err)
	}
	if err := b.Publish(ctx, "t", nil, once, whispeer.WithID("2"), whispeer.WithPublisher(whispeer.PublisherName("q"))); !errors.Is(err, whispeer.ErrDedupLimit) {
		t.Fatalf("with every id held: %v, want ErrDedupLimit", err)
	}
}

func TestBroker_ExactlyOnceSyncReleases(t *testing.T) {
	b := newBroker(t, whispeer.WithDedup(whispeer.Dedup{MaxPerPublisher: 2}))
	for i := range 10 {
		publish(t, b, "t", "x", once, whispeer.WithID(fmt.Sprint(i)))
	}
	for range 10 { // ids the broker generates are never held
		if err := b.PublishAsync(context.Background(), "t", nil, func(error) {}, once); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBroker_ExactlyOnceRetryWaitsForFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &gatedStore{Store: memory.New(), added: make(chan struct{}, 1)}
		b := newBroker(t, whispeer.WithStore(g))
		var c collector
		if _, err := b.Subscribe("t", c.handle, whispeer.WithInline()); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		first, retry := make(chan error, 1), make(chan error, 1)
		if err := b.PublishAsync(ctx, "t", nil, func(err error) { first <- err }, once, whispeer.WithID("a")); err != nil {
			t.Fatal(err)
		}
		<-g.added
		if err := b.PublishAsync(ctx, "t", nil, func(err error) { retry <- err }, once, whispeer.WithID("a")); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-retry:
			t.Fatalf("the retry was answered (%v) before the first was durable", err)
		default:
		}
		g.release()
		if err1, err2 := <-first, <-retry; err1 != nil || err2 != nil {
			t.Fatalf("first %v, retry %v", err1, err2)
		}
		synctest.Wait() // the message is fanned out once durable, in a goroutine of its own
		wantIDs(t, &c, "a")
	})
}

// failOnce is a store whose first Append fails.
type failOnce struct {
	whispeer.Store
	failed bool
}

func (f *failOnce) Append(ctx context.Context, m *whispeer.Message, done func(error)) error {
	if !f.failed {
		f.failed = true
		return errors.New("disk full")
	}
	return f.Store.Append(ctx, m, done)
}

func TestBroker_ExactlyOnceFailedFirstIsRetried(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(&failOnce{Store: memory.New()}))
	var c collector
	if _, err := b.Subscribe("t", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), "t", nil, once, whispeer.WithID("a")); err == nil {
		t.Fatal("the store did not refuse the first publish")
	}
	publish(t, b, "t", "", once, whispeer.WithID("a"))
	publish(t, b, "t", "", once, whispeer.WithID("a"))
	wantIDs(t, &c, "a")
}

func TestBroker_ExactlyOnceConcurrentRetries(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()))
	var c collector
	if _, err := b.Subscribe("t/+", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprint(i)
				if err := b.Publish(context.Background(), "t/"+fmt.Sprint(i%3), []byte(id), once,
					whispeer.WithID(id), whispeer.WithPublisher(whispeer.PublisherName(fmt.Sprint("p", g%2)))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]int{}
	c.mu.Lock()
	for _, m := range c.msgs {
		seen[m.PublisherID+"/"+m.ID]++
	}
	c.mu.Unlock()
	if len(seen) != 400 {
		t.Fatalf("%d distinct messages delivered, want 400", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("%s delivered %d times", k, n)
		}
	}
	if d := b.Stats().Duplicates; d != 8*200-400 {
		t.Fatalf("Duplicates = %d, want %d", d, 8*200-400)
	}
}

func TestWithDedup_Invalid(t *testing.T) {
	for _, d := range []whispeer.Dedup{{Window: -time.Second}, {MaxPerPublisher: -1}, {MaxPerPublisher: 10, MaxTotal: 5}} {
		if _, err := whispeer.New(whispeer.WithDedup(d)); !errors.Is(err, whispeer.ErrInvalidOption) {
			t.Errorf("WithDedup(%+v): %v, want ErrInvalidOption", d, err)
		}
	}
}

// wrapped is a store that wraps another and does not find its
// exactly-once messages at once.
type wrapped struct{ whispeer.Store }

func (wrapped) ReadExactlyOnce(context.Context, time.Time, func(string, string, time.Time) error) error {
	return errors.ErrUnsupported
}

func TestBroker_ExactlyOnceWindowLoadedFromStore(t *testing.T) {
	t.Run("memory", func(t *testing.T) { testWindowLoaded(t, memory.New()) })
	t.Run("wrapped", func(t *testing.T) { testWindowLoaded(t, wrapped{memory.New()}) })
}

func testWindowLoaded(t *testing.T, st whispeer.Store) {
	now := time.Now()
	ctx := context.Background()
	for i, at := range []time.Duration{-time.Hour, -30 * time.Minute, -time.Minute, -time.Second} {
		for _, topic := range []string{"a", "b"} {
			m := &whispeer.Message{Topic: topic, ID: fmt.Sprint(topic, i), PublisherID: "p", QoS: whispeer.ExactlyOnce, Time: now.Add(at)}
			if err := st.Append(ctx, m, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := newBroker(t, whispeer.WithStore(st), whispeer.WithDedup(whispeer.Dedup{Window: 10 * time.Minute}))
	var c collector
	if _, err := b.Subscribe("#", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a0", "a1", "a2", "a3", "b1", "b2", "b3"} {
		publish(t, b, id[:1], "", once, whispeer.WithID(id), whispeer.WithPublisher(whispeer.PublisherName("p")))
	}
	publish(t, b, "a", "", once, whispeer.WithID("a3"), whispeer.WithPublisher(whispeer.PublisherName("q")))
	wantIDs(t, &c, "a0", "a1", "b1", "a3") // older than the window, and another publisher's
}

func TestBroker_ExactlyOnceAcrossRestart(t *testing.T) {
	for name, open := range durableStores {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			pub := whispeer.WithPublisher(whispeer.PublisherName("alice/app-1"))
			b := newBroker(t, whispeer.WithStore(open(t, dir)))
			publish(t, b, "o", "1", once, whispeer.WithID("a"), pub)
			publish(t, b, "o", "2", once, whispeer.WithID("b"), pub)
			publish(t, b, "o", "3", once, whispeer.WithID("a"), whispeer.WithPublisher(whispeer.PublisherName("bob")))
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b = newBroker(t, whispeer.WithStore(open(t, dir)))
			var c collector
			if _, err := b.Subscribe("o", c.handle, whispeer.WithInline()); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"a", "b", "a", "c"} {
				publish(t, b, "o", "again", once, whispeer.WithID(id), pub)
			}
			wantIDs(t, &c, "c")
			if info, _ := b.TopicInfo(context.Background(), "o"); info.Messages != 4 {
				t.Fatalf("stored %d messages, want 4", info.Messages)
			}
		})
	}
}

// client is a publisher as a server's client connection is: a connection
// id, and a stable id when its client named one.
type client struct{ conn, stable string }

func (c client) PublisherID() string { return c.conn }
func (c client) StableID() string    { return c.stable }

func TestBroker_ExactlyOnceStablePublisher(t *testing.T) {
	b := newBroker(t)
	var c collector
	if _, err := b.Subscribe("t", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	for _, p := range []client{{"tcp:1", "alice/app"}, {"tcp:2", "alice/app"}, {"tcp:3", ""}, {"tcp:4", ""}} {
		publish(t, b, "t", p.conn, once, whispeer.WithID("a"), whispeer.WithPublisher(p))
	}
	if got := payloads(&c); got != "tcp:1tcp:3tcp:4" {
		t.Fatalf("delivered %s; want a retry on a new connection recognised by its stable id, and none without", got)
	}
	if id := c.msgs[0].PublisherID; id != "alice/app" {
		t.Fatalf("PublisherID = %q, want the stable id", id)
	}
}

func TestBroker_ExactlyOnceHeldExpire(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBroker(t, whispeer.WithDedup(whispeer.Dedup{Window: time.Minute, MaxPerPublisher: 1}))
		ctx := context.Background()
		publishAsync := func(id string) error {
			return b.PublishAsync(ctx, "t", nil, func(error) {}, once, whispeer.WithID(id))
		}
		if err := publishAsync("a"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(59 * time.Second)
		if err := publishAsync("b"); !errors.Is(err, whispeer.ErrDedupLimit) {
			t.Fatalf("with a held id in the window: %v, want ErrDedupLimit", err)
		}
		time.Sleep(2 * time.Second)
		if b.Release("", "a") {
			t.Fatal("an id past the window is still remembered")
		}
		if err := publishAsync("b"); err != nil {
			t.Fatalf("once the held id left the window: %v", err)
		}
	})
}

func TestBroker_ExactlyOnceConcurrentReleases(t *testing.T) {
	b := newBroker(t, whispeer.WithStore(memory.New()))
	var delivered sync.Map
	if _, err := b.Subscribe("t", func(_ context.Context, m *whispeer.Message) error {
		if _, dup := delivered.LoadOrStore(m.PublisherID+"/"+m.ID, true); dup {
			t.Errorf("%s/%s delivered twice", m.PublisherID, m.ID)
		}
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		pub := fmt.Sprint("p", g%2)
		wg.Go(func() {
			for i := range 500 {
				id := fmt.Sprint(i)
				acked := make(chan error, 1)
				err := b.PublishAsync(context.Background(), "t", nil, func(err error) { acked <- err }, once,
					whispeer.WithID(id), whispeer.WithPublisher(whispeer.PublisherName(pub)))
				if err == nil {
					err = <-acked
				}
				if err != nil {
					t.Error(err)
					return
				}
				b.Release(pub, id) // both of a publisher's goroutines release it: one finds it released
			}
		})
	}
	wg.Wait()
	n := 0
	delivered.Range(func(any, any) bool { n++; return true })
	if n != 1000 {
		t.Fatalf("%d messages delivered, want 1000", n)
	}
}
