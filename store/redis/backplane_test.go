package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/store/redis"
)

// node returns a broker that is one node of a cluster on the Redis at url,
// its keys under prefix.
func node(t *testing.T, url, prefix string, opts ...whispeer.Option) *whispeer.Broker {
	t.Helper()
	return nodeWith(t, url, []redis.Option{redis.WithPrefix(prefix)}, opts...)
}

// nodeWith is node with the store's options.
func nodeWith(t *testing.T, url string, sopts []redis.Option, opts ...whispeer.Option) *whispeer.Broker {
	t.Helper()
	st, err := redis.Open(url, append([]redis.Option{redis.WithPublish()}, sopts...)...)
	if err != nil {
		t.Fatal(err)
	}
	bp, err := redis.NewBackplane(st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := whispeer.New(append([]whispeer.Option{whispeer.WithStore(st), whispeer.WithBackplane(bp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// collector gathers the messages a subscription receives.
type collector struct {
	mu   sync.Mutex
	msgs []*whispeer.Message
	more chan struct{}
}

func newCollector() *collector { return &collector{more: make(chan struct{}, 1)} }

func (c *collector) handle(_ context.Context, m *whispeer.Message) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
	select {
	case c.more <- struct{}{}:
	default:
	}
	return nil
}

// wait returns the messages once there are n, failing t after a while.
func (c *collector) wait(t *testing.T, n int) []*whispeer.Message {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		got := append([]*whispeer.Message(nil), c.msgs...)
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-c.more:
		case <-deadline:
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
	}
}

// checkOrder checks that msgs hold per publisher ids "p<k>-<i>" in
// order, and that each topic's offsets rise.
func checkOrder(t *testing.T, msgs []*whispeer.Message, publishers, per int) {
	t.Helper()
	next := map[string]int{}
	last := map[string]uint64{}
	for _, m := range msgs {
		var p, i int
		if _, err := fmt.Sscanf(m.ID, "p%d-%d", &p, &i); err != nil {
			t.Fatalf("id %q", m.ID)
		}
		k := fmt.Sprint(m.Topic, "/", p)
		if i != next[k] {
			t.Fatalf("%s: publisher %d's message %d after %d", m.Topic, p, i, next[k]-1)
		}
		next[k]++
		if m.Seq <= last[m.Topic] {
			t.Fatalf("%s: offset %d after %d", m.Topic, m.Seq, last[m.Topic])
		}
		last[m.Topic] = m.Seq
	}
	if len(msgs) != publishers*per*len(last) {
		t.Fatalf("received %d messages, want %d", len(msgs), publishers*per*len(last))
	}
}

// TestBackplane_CrossNode publishes on one node from several publishers
// and checks that subscriptions on another, to a topic and to patterns,
// receive every message once, in per-publisher order and offset order.
func TestBackplane_CrossNode(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(*testing.T) string
	}{
		{"single", func(t *testing.T) string { return redistest.Start(t).URL() }},
		{"cluster", func(t *testing.T) string { return redistest.StartCluster(t, 3).URL() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			a, b := node(t, url, "x"), node(t, url, "x")
			exact, plus, all, local := newCollector(), newCollector(), newCollector(), newCollector()
			for _, s := range []struct {
				pattern string
				c       *collector
				on      *whispeer.Broker
			}{{"chat/a", exact, b}, {"chat/+", plus, b}, {"#", all, b}, {"chat/b", local, a}} {
				if _, err := s.on.Subscribe(s.pattern, s.c.handle); err != nil {
					t.Fatal(err)
				}
			}
			const publishers, per = 3, 50
			var wg sync.WaitGroup
			for p := range publishers {
				wg.Go(func() {
					for i := range per {
						for _, topic := range []string{"chat/a", "chat/b"} {
							if err := a.Publish(context.Background(), topic, []byte("hello"), whispeer.WithID(fmt.Sprintf("p%d-%d", p, i))); err != nil {
								t.Error(err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			checkOrder(t, exact.wait(t, publishers*per), publishers, per)
			checkOrder(t, plus.wait(t, 2*publishers*per), publishers, per)
			checkOrder(t, all.wait(t, 2*publishers*per), publishers, per)
			checkOrder(t, local.wait(t, publishers*per), publishers, per)
		})
	}
}

// TestBackplane_ResumeElsewhere checks that a subscriber that received
// part of a topic on one node resumes on another from its offset without
// a gap or a duplicate, and that after Redis restarted empty a resume is
// told it did not recover and the topic has a new epoch.
func TestBackplane_ResumeElsewhere(t *testing.T) {
	srv := redistest.Start(t)
	a, b := node(t, srv.URL(), "r"), node(t, srv.URL(), "r")
	ctx := context.Background()
	first := newCollector()
	sub, err := a.Subscribe("orders", first.handle)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := b.Publish(ctx, "orders", []byte("x"), whispeer.WithID(fmt.Sprintf("p0-%d", i)), whispeer.WithQoS(whispeer.AtLeastOnce)); err != nil {
			t.Fatal(err)
		}
	}
	got := first.wait(t, 10)
	sub.Unsubscribe()
	info, err := b.TopicInfo(ctx, "orders")
	if err != nil {
		t.Fatal(err)
	}
	at := got[5]
	for i := 10; i < 15; i++ {
		if err := a.Publish(ctx, "orders", []byte("x"), whispeer.WithID(fmt.Sprintf("p0-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	rest := newCollector()
	rs, err := b.Subscribe("orders", rest.handle, whispeer.WithResume(info.Epoch, at.Seq))
	if err != nil {
		t.Fatal(err)
	}
	msgs := rest.wait(t, 9)
	for i, m := range msgs {
		if want := fmt.Sprintf("p0-%d", i+6); m.ID != want || m.Seq != at.Seq+uint64(i)+1 {
			t.Fatalf("resumed message %d: %s at %d, want %s at %d", i, m.ID, m.Seq, want, at.Seq+uint64(i)+1)
		}
	}
	if !rs.Recovered() {
		t.Fatal("a resume within the history did not recover")
	}

	srv.Restart()
	// The first command on each connection may meet the one Redis closed.
	retry(t, func() error {
		return a.Publish(ctx, "orders", []byte("x"), whispeer.WithID("p0-100"), whispeer.WithQoS(whispeer.AtLeastOnce))
	})
	var again whispeer.TopicInfo
	retry(t, func() (err error) { again, err = b.TopicInfo(ctx, "orders"); return err })
	if again.Epoch == info.Epoch || again.Last != 1 {
		t.Fatalf("after Redis restarted empty: %+v, want a new epoch and offset 1 (was %+v)", again, info)
	}
	var late *whispeer.Subscription
	retry(t, func() (err error) {
		late, err = b.Subscribe("orders", newCollector().handle, whispeer.WithResume(info.Epoch, 14))
		return err
	})
	if late.Recovered() {
		t.Fatal("a resume from the epoch Redis lost reports it recovered")
	}
}

// TestBackplane_SealedInRedis checks that a topic sealed by the
// publisher's broker reaches a subscriber on another node opened, and
// that no byte of its plaintext is anywhere in Redis.
func TestBackplane_SealedInRedis(t *testing.T) {
	srv := redistest.Start(t)
	kr := keyring(t)
	a := node(t, srv.URL(), "e", whispeer.WithEncryption(kr))
	b := node(t, srv.URL(), "e", whispeer.WithEncryption(kr))
	c := newCollector()
	if _, err := b.Subscribe("secret/x", c.handle); err != nil {
		t.Fatal(err)
	}
	secret := []byte("the plaintext nobody between must read")
	if err := a.Publish(context.Background(), "secret/x", secret); err != nil {
		t.Fatal(err)
	}
	if got := c.wait(t, 1)[0]; string(got.Payload) != string(secret) {
		t.Fatalf("subscriber on the other node got %q", got.Payload)
	}
	keys, err := srv.KeysContaining([]byte("plaintext nobody"))
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("the plaintext is in Redis, in %v", keys)
	}
	if keys, _ := srv.KeysContaining([]byte("secret/x")); len(keys) == 0 {
		t.Fatal("found no key of the topic: the check looked in the wrong place")
	}
}

func keyring(t *testing.T) *envelope.Keyring {
	t.Helper()
	kr := envelope.NewKeyring()
	if _, err := kr.Generate(); err != nil {
		t.Fatal(err)
	}
	return kr
}

// retry calls fn until it succeeds, a few times at most.
func retry(t *testing.T, fn func() error) {
	t.Helper()
	var err error
	for range 5 {
		if err = fn(); err == nil {
			return
		}
	}
	t.Fatal(err)
}

// TestBackplane_Partition cuts one node off from Redis while another
// publishes, heals it, and checks that its subscriber then receives every
// message, in order: the node resubscribes and reads what it missed from
// the store.
func TestBackplane_Partition(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	a, b := node(t, srv.URL(), "p"), node(t, proxy.URL(), "p")
	c := newCollector()
	if _, err := b.Subscribe("p/x", c.handle); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	publish := func() {
		t.Helper()
		if err := a.Publish(ctx, "p/x", []byte("x"), whispeer.WithID(fmt.Sprintf("p0-%d", n))); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for range 5 {
		publish()
	}
	c.wait(t, 5)
	proxy.Cut()
	for range 5 {
		publish()
	}
	proxy.Heal()
	// Publish until the healed node's subscription is back and the next
	// message shows it the gap.
	deadline := time.Now().Add(20 * time.Second)
	for {
		publish()
		c.mu.Lock()
		got := len(c.msgs)
		c.mu.Unlock()
		if got >= 11 || time.Now().After(deadline) {
			break
		}
		select {
		case <-c.more:
		case <-time.After(50 * time.Millisecond):
		}
	}
	msgs := c.wait(t, n)
	checkOrder(t, msgs[:n], 1, n)
}

// BenchmarkBackplane_CrossNode publishes b.N 64-byte messages at qos on
// one node, from one publisher, and waits until a subscriber on another
// node has them all.
func BenchmarkBackplane_CrossNode(b *testing.B) {
	for _, qos := range []whispeer.QoS{whispeer.AtMostOnce, whispeer.AtLeastOnce} {
		b.Run(fmt.Sprint("qos", qos), func(b *testing.B) {
			srv := redistest.Start(b)
			pa, pb := benchNode(b, srv.URL()), benchNode(b, srv.URL())
			got := make(chan struct{}, 1)
			var n atomic.Int64
			want := int64(b.N)
			if _, err := pb.Subscribe("bench", func(context.Context, *whispeer.Message) error {
				if n.Add(1) == want {
					got <- struct{}{}
				}
				return nil
			}, whispeer.WithInline()); err != nil {
				b.Fatal(err)
			}
			payload := make([]byte, 64)
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				if err := pa.Publish(ctx, "bench", payload, whispeer.WithQoS(qos)); err != nil {
					b.Fatal(err)
				}
			}
			<-got
		})
	}
}

func benchNode(b *testing.B, url string) *whispeer.Broker {
	st, err := redis.Open(url, redis.WithPublish())
	if err != nil {
		b.Fatal(err)
	}
	bp, err := redis.NewBackplane(st)
	if err != nil {
		b.Fatal(err)
	}
	br, err := whispeer.New(whispeer.WithStore(st), whispeer.WithBackplane(bp))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	return br
}

// TestBackplane_QueueBoundedInBytes holds the backplane's delivery back
// and checks that payloads past WithQueueBytes are dropped and counted,
// though far fewer than WithQueue's bound wait.
func TestBackplane_QueueBoundedInBytes(t *testing.T) {
	s := redistest.Start(t)
	st, err := redis.Open(s.URL(), redis.WithPrefix("m"), redis.WithPublish())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bp, err := redis.NewBackplane(st, redis.WithQueueBytes(1))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	if err := bp.Start(func(*whispeer.Message, uint64) { <-release }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	t.Cleanup(func() { close(release) })
	pub := node(t, s.URL(), "m")
	ctx := context.Background()
	const topics = 5
	for i := range topics {
		if err := bp.Watch(ctx, fmt.Sprintf("t/%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range topics {
		if err := pub.Publish(ctx, fmt.Sprintf("t/%d", i), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	// One payload is being delivered, one may wait: the others are dropped.
	deadline := time.Now().Add(20 * time.Second)
	for bp.Dropped() < topics-2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d payloads dropped, want at least %d", bp.Dropped(), topics-2)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
