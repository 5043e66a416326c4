package whispeer_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
)

func TestBroker_OrderPerPublisher(t *testing.T) {
	const publishers, perPublisher = 4, 2000
	b := newBroker(t, whispeer.WithSubscriberDefaults(whispeer.WithOverflow(whispeer.Block),
		whispeer.WithBlockTimeout(time.Minute)))
	var mu sync.Mutex
	last := make(map[string]int)
	lastSeq := make(map[string]uint64)
	done := make(chan struct{})
	received := 0
	_, err := b.Subscribe("orders/#", func(_ context.Context, m *whispeer.Message) error {
		n, _ := strconv.Atoi(string(m.Payload))
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := last[m.Topic]; ok && n != prev+1 {
			t.Errorf("%s: got %d after %d", m.Topic, n, prev)
		}
		if m.Seq <= lastSeq[m.Topic] {
			t.Errorf("%s: seq %d after %d", m.Topic, m.Seq, lastSeq[m.Topic])
		}
		last[m.Topic], lastSeq[m.Topic] = n, m.Seq
		if received++; received == publishers*perPublisher {
			close(done)
		}
		return nil
	}, whispeer.WithQueueSize(16))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			topic := fmt.Sprintf("orders/%d", p)
			for i := range perPublisher {
				publish(t, b, topic, strconv.Itoa(i))
			}
		})
	}
	wg.Wait()
	<-done
}

// blockedSubscriber subscribes a handler that waits for release before
// handling the message "0", so the tests can fill its queue.
func blockedSubscriber(t *testing.T, b *whispeer.Broker, opts ...whispeer.SubscribeOption) (sub *whispeer.Subscription, started, release chan struct{}, got *collector) {
	t.Helper()
	started, release, got = make(chan struct{}), make(chan struct{}), &collector{}
	sub, err := b.Subscribe("q", func(ctx context.Context, m *whispeer.Message) error {
		if string(m.Payload) == "0" {
			close(started)
			<-release
		}
		return got.handle(ctx, m)
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "q", "0")
	<-started
	return sub, started, release, got
}

func payloads(c *collector) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := ""
	for _, m := range c.msgs {
		s += string(m.Payload)
	}
	return s
}

func TestBroker_Overflow(t *testing.T) {
	tests := []struct {
		policy    whispeer.Overflow
		delivered string
		reason    whispeer.DropReason
	}{
		{whispeer.DropOldest, "045", whispeer.DropEvicted},
		{whispeer.DropNewest, "012", whispeer.DropQueueFull},
		{whispeer.Block, "012", whispeer.DropTimeout},
	}
	// In a synctest bubble, a publish that waits for room does so on the
	// bubble's clock, for exactly the block timeout.
	const blockTimeout = time.Second
	for _, tt := range tests {
		t.Run(tt.policy.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testOverflow(t, tt.policy, tt.delivered, tt.reason, blockTimeout) })
		})
	}
}

// testOverflow publishes five messages to a subscriber whose handler holds
// the first and whose queue holds two, and checks what is delivered and
// dropped, and how long each publish waited for room.
func testOverflow(t *testing.T, policy whispeer.Overflow, delivered string, reason whispeer.DropReason, blockTimeout time.Duration) {
	drops := make(chan whispeer.Drop, 10)
	b := newBroker(t, whispeer.WithDropHandler(func(d whispeer.Drop) { drops <- d }))
	sub, _, release, got := blockedSubscriber(t, b, whispeer.WithQueueSize(2),
		whispeer.WithOverflow(policy), whispeer.WithBlockTimeout(blockTimeout))
	for i := 1; i <= 5; i++ {
		start := time.Now()
		publish(t, b, "q", strconv.Itoa(i)) // 1, 2 fill the queue; 3, 4, 5 overflow
		var want time.Duration
		if policy == whispeer.Block && i > 2 {
			want = blockTimeout
		}
		if d := time.Since(start); d != want {
			t.Errorf("publish %d waited %v, want %v", i, d, want)
		}
	}
	close(release)
	b.Close()
	if p := payloads(got); p != delivered {
		t.Errorf("delivered %q, want %q", p, delivered)
	}
	if st := sub.Stats(); st.Dropped != 3 || st.Delivered != 3 {
		t.Errorf("stats %+v, want 3 delivered, 3 dropped", st)
	}
	if n := b.Stats().Dropped; n != 3 {
		t.Errorf("broker dropped %d, want 3", n)
	}
	for range 3 {
		if d := <-drops; d.Reason != reason || d.Subscription != sub {
			t.Errorf("drop %v, want %v", d.Reason, reason)
		}
	}
}

func TestBroker_BlockWaitsForRoom(t *testing.T) {
	b := newBroker(t)
	sub, _, release, got := blockedSubscriber(t, b, whispeer.WithQueueSize(1),
		whispeer.WithOverflow(whispeer.Block), whispeer.WithBlockTimeout(time.Hour))
	publish(t, b, "q", "1") // fills the queue
	published := make(chan error)
	go func() { published <- b.Publish(context.Background(), "q", []byte("2")) }()
	close(release) // the handler drains the queue, making room for "2"
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	b.Close()
	if p := payloads(got); p != "012" || sub.Stats().Dropped != 0 {
		t.Fatalf("delivered %q with %d drops, want 012 and none", p, sub.Stats().Dropped)
	}
}

func TestBroker_SlowSubscriberDoesNotBlockOthers(t *testing.T) {
	b := newBroker(t)
	_, _, release, _ := blockedSubscriber(t, b, whispeer.WithQueueSize(1))
	defer close(release)
	fast := make(chan *whispeer.Message, 100)
	if _, err := b.Subscribe("q", chanHandler(fast)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 100; i++ {
		publish(t, b, "q", strconv.Itoa(i))
	}
	for i := 1; i <= 100; i++ {
		if m := <-fast; string(m.Payload) != strconv.Itoa(i) {
			t.Fatalf("fast subscriber got %q, want %d", m.Payload, i)
		}
	}
}

func TestBroker_CloseDrains(t *testing.T) {
	b, err := whispeer.New()
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	release := make(chan struct{})
	if _, err := b.Subscribe("a", func(ctx context.Context, m *whispeer.Message) error {
		<-release
		return c.handle(ctx, m)
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		publish(t, b, "a", strconv.Itoa(i))
	}
	close(release)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if p := payloads(&c); p != "0123456789" {
		t.Fatalf("delivered %q before Close returned, want all ten", p)
	}
}

func TestBroker_ShutdownDeadline(t *testing.T) {
	var mu sync.Mutex
	reasons := map[whispeer.DropReason]int{}
	b, err := whispeer.New(whispeer.WithDropHandler(func(d whispeer.Drop) {
		mu.Lock()
		reasons[d.Reason]++
		mu.Unlock()
	}))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	canceled := make(chan struct{})
	if _, err := b.Subscribe("a", func(ctx context.Context, m *whispeer.Message) error {
		close(started)
		<-ctx.Done() // a handler that only returns when told to
		close(canceled)
		return ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		publish(t, b, "a", "")
	}
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown = %v, want context.Canceled", err)
	}
	<-canceled
	if reasons[whispeer.DropShutdown] != 2 {
		t.Fatalf("drops %v, want 2 shutdown drops", reasons)
	}
}

func TestBroker_Redelivery(t *testing.T) {
	var errs []error
	var mu sync.Mutex
	b := newBroker(t, whispeer.WithErrorHandler(func(_ *whispeer.Subscription, _ *whispeer.Message, err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}))
	attempts := map[string]int{}
	done := make(chan struct{})
	sub, err := b.Subscribe("a", func(_ context.Context, m *whispeer.Message) error {
		attempts[string(m.Payload)]++
		if string(m.Payload) == "end" {
			close(done)
			return nil
		}
		return errors.New("not now")
	}, whispeer.WithMaxRedeliveries(2), whispeer.WithRedeliveryDelay(time.Microsecond))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "qos0")
	publish(t, b, "a", "qos1", whispeer.WithQoS(whispeer.AtLeastOnce))
	publish(t, b, "a", "end")
	<-done
	b.Close() // wait for the handler's last call to be counted
	if attempts["qos0"] != 1 || attempts["qos1"] != 3 {
		t.Fatalf("attempts %v, want qos0 once and qos1 three times", attempts)
	}
	if st := sub.Stats(); st.Failed != 4 || st.Delivered != 1 {
		t.Fatalf("stats %+v, want 4 failed, 1 delivered", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 4 {
		t.Fatalf("error handler called %d times, want 4", len(errs))
	}
}

func TestBroker_HandlerPanic(t *testing.T) {
	errs := make(chan error, 2)
	b := newBroker(t, whispeer.WithErrorHandler(func(_ *whispeer.Subscription, _ *whispeer.Message, err error) {
		errs <- err
	}))
	for _, opt := range []whispeer.SubscribeOption{whispeer.WithInline(), whispeer.WithQueueSize(1)} {
		if _, err := b.Subscribe("a", func(context.Context, *whispeer.Message) error { panic("boom") }, opt); err != nil {
			t.Fatal(err)
		}
	}
	publish(t, b, "a", "")
	for range 2 {
		if err := <-errs; !errors.Is(err, whispeer.ErrHandlerPanic) {
			t.Fatalf("error %v, want ErrHandlerPanic", err)
		}
	}
	publish(t, b, "a", "") // the broker and its subscriptions still work
	for range 2 {
		<-errs
	}
}

func TestBroker_ConcurrentChurn(t *testing.T) {
	b := newBroker(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				_ = b.Publish(ctx, fmt.Sprintf("t/%d/%d", w, i%8), []byte("x"))
			}
		})
	}
	patterns := []string{"t/#", "t/+/3", "t/1/*", "#", "t/2/5"}
	for i := range 400 {
		opt := whispeer.WithInline()
		if i%2 == 0 {
			opt = whispeer.WithQueueSize(4)
		}
		sub, err := b.Subscribe(patterns[i%len(patterns)], (&collector{}).handle, opt)
		if err != nil {
			t.Fatal(err)
		}
		sub.Unsubscribe()
	}
	cancel()
	wg.Wait()
	if n := b.Stats().Subscriptions; n != 0 {
		t.Fatalf("%d subscriptions left, want 0", n)
	}
}
