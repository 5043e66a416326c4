package whispeer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newBroker returns a broker closed when the test ends.
func newBroker(t testing.TB, opts ...whispeer.Option) *whispeer.Broker {
	t.Helper()
	b, err := whispeer.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// collector is a sync handler that records the messages it receives.
type collector struct {
	mu   sync.Mutex
	msgs []*whispeer.Message
}

func (c *collector) handle(_ context.Context, m *whispeer.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *collector) topics() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ts []string
	for _, m := range c.msgs {
		ts = append(ts, m.Topic)
	}
	return ts
}

// chanHandler forwards messages to a channel, for async subscriptions.
func chanHandler(ch chan<- *whispeer.Message) whispeer.Handler {
	return func(ctx context.Context, m *whispeer.Message) error {
		select {
		case ch <- m:
		case <-ctx.Done():
		}
		return nil
	}
}

func publish(t testing.TB, b *whispeer.Broker, topic, payload string, opts ...whispeer.PublishOption) {
	t.Helper()
	if err := b.Publish(context.Background(), topic, []byte(payload), opts...); err != nil {
		t.Fatalf("Publish(%q): %v", topic, err)
	}
}

func TestBroker_ZeroConfigAsync(t *testing.T) {
	b := newBroker(t)
	ch := make(chan *whispeer.Message, 1)
	if _, err := b.Subscribe("chat", chanHandler(ch)); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "chat", "hello")
	m := <-ch
	if m.Topic != "chat" || string(m.Payload) != "hello" {
		t.Fatalf("got %q on %q, want hello on chat", m.Payload, m.Topic)
	}
}

func TestBroker_PublishWildcard(t *testing.T) {
	tests := []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"chat/*", []string{"chat/a", "chat/b"}, []string{"chat", "chat/a/b", "other/a"}},
		{"sensor/+/temperature", []string{"sensor/kitchen/temperature"}, []string{"sensor/temperature", "sensor/a/b/temperature", "sensor/kitchen/humidity"}},
		{"chat/#", []string{"chat", "chat/a", "chat/a/b"}, []string{"chats", "other/chat"}},
		{"#", []string{"a", "a/b/c"}, nil},
		{"+/b", []string{"a/b", "x/b"}, []string{"b", "a/b/c"}},
		{"a/b", []string{"a/b"}, []string{"a", "a/b/c", "a/bb"}},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			b := newBroker(t)
			var c collector
			if _, err := b.Subscribe(tt.pattern, c.handle, whispeer.WithInline()); err != nil {
				t.Fatal(err)
			}
			for _, topic := range append(append([]string(nil), tt.match...), tt.miss...) {
				publish(t, b, topic, "x")
			}
			if got, want := strings.Join(c.topics(), ","), strings.Join(tt.match, ","); got != want {
				t.Errorf("delivered %q, want %q", got, want)
			}
		})
	}
}

func TestBroker_InvalidTopic(t *testing.T) {
	b := newBroker(t, whispeer.WithTopicLimits(16, 3))
	for _, topic := range []string{"", "a/+", "a/#", "*", "a//b", "/a", "a/", "a/b/c/d", strings.Repeat("x", 17), "bad\xff", "nul\x00"} {
		t.Run(fmt.Sprintf("%q", topic), func(t *testing.T) {
			err := b.Publish(context.Background(), topic, nil)
			if !errors.Is(err, whispeer.ErrInvalidTopic) {
				t.Fatalf("Publish(%q) = %v, want ErrInvalidTopic", topic, err)
			}
			if whispeer.ErrorCode(err) != whispeer.CodeInvalid {
				t.Errorf("code = %v, want invalid", whispeer.ErrorCode(err))
			}
		})
	}
}

func TestBroker_InvalidPattern(t *testing.T) {
	b := newBroker(t, whispeer.WithTopicLimits(16, 3))
	for _, p := range []string{"", "#/a", "a/#/b", "a+/b", "a/b#", "a//b", "a/b/c/d", strings.Repeat("x", 17), "bad\xff"} {
		t.Run(fmt.Sprintf("%q", p), func(t *testing.T) {
			_, err := b.Subscribe(p, (&collector{}).handle)
			if !errors.Is(err, whispeer.ErrInvalidPattern) {
				t.Fatalf("Subscribe(%q) = %v, want ErrInvalidPattern", p, err)
			}
		})
	}
}

func TestBroker_DuplicateSubscription(t *testing.T) {
	b := newBroker(t)
	var c collector
	if _, err := b.Subscribe("chat", c.handle, whispeer.WithInline(), whispeer.WithSubscriber("conn-1")); err != nil {
		t.Fatal(err)
	}
	_, err := b.Subscribe("chat", c.handle, whispeer.WithInline(), whispeer.WithSubscriber("conn-1"))
	if !errors.Is(err, whispeer.ErrDuplicateSubscription) {
		t.Fatalf("second Subscribe = %v, want ErrDuplicateSubscription", err)
	}
	other, err := b.Subscribe("chat", c.handle, whispeer.WithInline(), whispeer.WithSubscriber("conn-2"))
	if err != nil {
		t.Fatalf("another subscriber: %v", err)
	}
	publish(t, b, "chat", "x")
	if n := len(c.topics()); n != 2 {
		t.Fatalf("delivered %d times, want 2 (once per subscriber)", n)
	}
	// Once unsubscribed, the subscriber may subscribe again.
	other.Unsubscribe()
	if _, err := b.Subscribe("chat", c.handle, whispeer.WithInline(), whispeer.WithSubscriber("conn-2")); err != nil {
		t.Fatalf("resubscribe after unsubscribe: %v", err)
	}
}

func TestBroker_Unsubscribe(t *testing.T) {
	b := newBroker(t)
	var c collector
	sub, err := b.Subscribe("a", c.handle, whispeer.WithInline())
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "1")
	if err := sub.Unsubscribe(); err != nil {
		t.Fatal(err)
	}
	<-sub.Done()
	publish(t, b, "a", "2")
	if n := len(c.topics()); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Fatalf("second Unsubscribe: %v", err)
	}
	if got := b.Stats().Subscriptions; got != 0 {
		t.Fatalf("Stats().Subscriptions = %d, want 0", got)
	}
}

func TestBroker_UnsubscribeAsyncDropsPending(t *testing.T) {
	var drops []whispeer.DropReason
	var mu sync.Mutex
	b := newBroker(t, whispeer.WithDropHandler(func(d whispeer.Drop) {
		mu.Lock()
		drops = append(drops, d.Reason)
		mu.Unlock()
	}))
	started, release := make(chan struct{}), make(chan struct{})
	sub, err := b.Subscribe("a", func(ctx context.Context, m *whispeer.Message) error {
		if string(m.Payload) == "0" {
			close(started)
			<-release
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		publish(t, b, "a", fmt.Sprint(i))
	}
	<-started
	sub.Unsubscribe()
	close(release)
	<-sub.Done()
	st := sub.Stats()
	if st.Delivered != 1 || st.Dropped != 3 {
		t.Fatalf("stats = %+v, want 1 delivered and 3 dropped", st)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range drops {
		if r != whispeer.DropUnsubscribed {
			t.Errorf("drop reason %v, want unsubscribed", r)
		}
	}
}

func TestBroker_MessageFields(t *testing.T) {
	b := newBroker(t)
	var c collector
	if _, err := b.Subscribe("#", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "1")
	publish(t, b, "a", "2", whispeer.WithID("mine"), whispeer.WithQoS(whispeer.AtLeastOnce),
		whispeer.WithHeaders(map[string]string{"k": "v"}))
	publish(t, b, "b", "3")
	m := c.msgs
	if len(m) != 3 {
		t.Fatalf("got %d messages, want 3", len(m))
	}
	if m[0].ID == "" || m[0].ID == m[2].ID {
		t.Errorf("generated ids %q and %q, want unique and non-empty", m[0].ID, m[2].ID)
	}
	if m[1].ID != "mine" || m[1].QoS != whispeer.AtLeastOnce || m[1].Headers.Map()["k"] != "v" {
		t.Errorf("options not applied: %+v", m[1])
	}
	if m[0].Seq != 1 || m[1].Seq != 2 || m[2].Seq != 1 {
		t.Errorf("seqs = %d,%d,%d, want 1,2,1 (per topic)", m[0].Seq, m[1].Seq, m[2].Seq)
	}
	if m[0].Time.IsZero() || m[1].Time.Before(m[0].Time) {
		t.Errorf("timestamps %v, %v", m[0].Time, m[1].Time)
	}
}

// TestBroker_WithTime checks that a publisher's time stamps the message,
// and that a zero time leaves it to the broker's clock.
func TestBroker_WithTime(t *testing.T) {
	b := newBroker(t)
	var c collector
	if _, err := b.Subscribe("#", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	read := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	publish(t, b, "a", "1", whispeer.WithTime(read))
	before := time.Now()
	publish(t, b, "a", "2", whispeer.WithTime(time.Time{}))
	if len(c.msgs) != 2 {
		t.Fatalf("got %d messages, want 2", len(c.msgs))
	}
	if !c.msgs[0].Time.Equal(read) {
		t.Errorf("Time = %v, want the publisher's %v", c.msgs[0].Time, read)
	}
	if c.msgs[1].Time.Before(before.Add(-time.Second)) {
		t.Errorf("Time = %v with a zero WithTime, want the broker's clock (about %v)", c.msgs[1].Time, before)
	}
}

func TestBroker_GeneratedIDsUnique(t *testing.T) {
	b := newBroker(t)
	seen := make(map[string]bool)
	var mu sync.Mutex
	if _, err := b.Subscribe("#", func(_ context.Context, m *whispeer.Message) error {
		mu.Lock()
		defer mu.Unlock()
		if seen[m.ID] {
			t.Errorf("duplicate id %q", m.ID)
		}
		seen[m.ID] = true
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 1000 {
				publish(t, b, fmt.Sprintf("t/%d", g), "")
			}
		})
	}
	wg.Wait()
	if len(seen) != 4000 {
		t.Fatalf("saw %d ids, want 4000", len(seen))
	}
}

func TestBroker_Limits(t *testing.T) {
	b := newBroker(t, whispeer.WithMaxPayload(4), whispeer.WithMaxTopics(2), whispeer.WithMaxSubscriptions(1))
	ctx := context.Background()
	if err := b.Publish(ctx, "a", []byte("12345")); !errors.Is(err, whispeer.ErrPayloadTooLarge) {
		t.Errorf("large payload: %v, want ErrPayloadTooLarge", err)
	}
	publish(t, b, "a", "")
	publish(t, b, "b", "")
	publish(t, b, "a", "") // existing topics stay usable
	if err := b.Publish(ctx, "c", nil); !errors.Is(err, whispeer.ErrTooManyTopics) {
		t.Errorf("third topic: %v, want ErrTooManyTopics", err)
	}
	if _, err := b.Subscribe("a", (&collector{}).handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe("b", (&collector{}).handle); !errors.Is(err, whispeer.ErrTooManySubscriptions) {
		t.Errorf("second subscription: %v, want ErrTooManySubscriptions", err)
	}
	bigHeaders := map[string]string{}
	for i := range whispeer.MaxHeaders + 1 {
		bigHeaders[fmt.Sprint(i)] = ""
	}
	for name, opt := range map[string]whispeer.PublishOption{
		"qos 3":         whispeer.WithQoS(3),
		"long id":       whispeer.WithID(strings.Repeat("i", whispeer.MaxIDBytes+1)),
		"many headers":  whispeer.WithHeaders(bigHeaders),
		"large headers": whispeer.WithHeaders(map[string]string{"k": strings.Repeat("v", whispeer.MaxHeaderBytes)}),
	} {
		if err := b.Publish(ctx, "a", nil, opt); !errors.Is(err, whispeer.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

func TestNew_InvalidOptions(t *testing.T) {
	tests := map[string]whispeer.Option{
		"topic bytes":   whispeer.WithTopicLimits(0, 3),
		"topic levels":  whispeer.WithTopicLimits(10, 0),
		"payload":       whispeer.WithMaxPayload(-1),
		"topics":        whispeer.WithMaxTopics(0),
		"subscriptions": whispeer.WithMaxSubscriptions(0),
		"drain":         whispeer.WithDrainTimeout(-1),
		"queue":         whispeer.WithSubscriberDefaults(whispeer.WithQueueSize(0)),
		"overflow":      whispeer.WithSubscriberDefaults(whispeer.WithOverflow(9)),
		"redeliveries":  whispeer.WithSubscriberDefaults(whispeer.WithMaxRedeliveries(-1)),
	}
	for name, opt := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := whispeer.New(opt); !errors.Is(err, whispeer.ErrInvalidOption) {
				t.Fatalf("New = %v, want ErrInvalidOption", err)
			}
		})
	}
}

func TestBroker_Closed(t *testing.T) {
	b, err := whispeer.New()
	if err != nil {
		t.Fatal(err)
	}
	sub, err := b.Subscribe("a", (&collector{}).handle)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	<-sub.Done()
	if err := b.Publish(context.Background(), "a", nil); !errors.Is(err, whispeer.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if _, err := b.Subscribe("a", (&collector{}).handle); !errors.Is(err, whispeer.ErrClosed) {
		t.Errorf("Subscribe after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := sub.Unsubscribe(); err != nil {
		t.Errorf("Unsubscribe after Close = %v", err)
	}
}
