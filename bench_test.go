package whispeer_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
)

// counter is a handler that signals once it has seen n messages.
type counter struct {
	n, want atomic.Int64
	done    chan struct{}
}

func newCounter(want int) *counter {
	c := &counter{done: make(chan struct{})}
	c.want.Store(int64(want))
	return c
}

func (c *counter) handle(context.Context, *whispeer.Message) error {
	if c.n.Add(1) == c.want.Load() {
		close(c.done)
	}
	return nil
}

// lossless makes async subscriptions apply backpressure instead of
// dropping, so a benchmark measures delivered messages.
var lossless = []whispeer.SubscribeOption{
	whispeer.WithOverflow(whispeer.Block), whispeer.WithBlockTimeout(time.Hour), whispeer.WithQueueSize(8192),
}

func BenchmarkPublish_NoSubscribers(b *testing.B) {
	br := newBroker(b)
	ctx, payload := context.Background(), make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "bench/topic", payload)
	}
}

// BenchmarkPublish_History publishes to a topic whose in-memory history
// ([whispeer.WithHistory]) is full: each append reuses the oldest entry.
func BenchmarkPublish_History(b *testing.B) {
	br := newBroker(b, whispeer.WithHistory(64))
	ctx, payload := context.Background(), make([]byte, 128)
	for range 64 {
		br.Publish(ctx, "bench/topic", payload)
	}
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "bench/topic", payload)
	}
}

func BenchmarkPublish_1Sync(b *testing.B) {
	br := newBroker(b)
	c := newCounter(-1)
	br.Subscribe("bench/topic", c.handle, whispeer.WithInline())
	ctx, payload := context.Background(), make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		br.Publish(ctx, "bench/topic", payload)
	}
}

// BenchmarkPublish_Async publishes to n async subscriptions of one topic and
// waits until every copy is handled. deliveries/s and ns/delivery are the
// figures to compare.
func BenchmarkPublish_Async(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("subs=%d", n), func(b *testing.B) {
			br := newBroker(b)
			counters := make([]*counter, n)
			for i := range counters {
				counters[i] = newCounter(b.N)
				if _, err := br.Subscribe("bench/topic", counters[i].handle, lossless...); err != nil {
					b.Fatal(err)
				}
			}
			ctx, payload := context.Background(), make([]byte, 128)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				br.Publish(ctx, "bench/topic", payload)
			}
			for _, c := range counters {
				<-c.done
			}
			b.StopTimer()
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/sec, "msgs/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
		})
	}
}

func BenchmarkPublish_Parallel(b *testing.B) {
	br := newBroker(b)
	c := newCounter(-1)
	br.Subscribe("bench/#", c.handle, lossless...)
	payload := make([]byte, 128)
	var topic atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		name, ctx := fmt.Sprintf("bench/%d", topic.Add(1)), context.Background()
		for pb.Next() {
			br.Publish(ctx, name, payload)
		}
	})
}

// BenchmarkPublish_ExactlyOnce publishes QoS 2 messages of distinct ids
// from one publisher to one sync subscriber, past the window's count, so
// that each publish also evicts the oldest id.
func BenchmarkPublish_ExactlyOnce(b *testing.B) {
	br := newBroker(b, whispeer.WithDedup(whispeer.Dedup{MaxPerPublisher: 1000}))
	if _, err := br.Subscribe("t", func(context.Context, *whispeer.Message) error { return nil }, whispeer.WithInline()); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprint("id-", i)
	}
	ctx, payload := context.Background(), []byte("payload")
	pub := whispeer.WithPublisher(whispeer.PublisherName("p"))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := br.Publish(ctx, "t", payload, once, whispeer.WithID(ids[i%len(ids)]), pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublish_ExactlyOnceParallel publishes from parallel publishers,
// each under its own identity to its own topic with an inline subscriber,
// at QoS 1 and at QoS 2: what QoS 2 adds is the de-duplication window,
// whose lock the publishers share.
func BenchmarkPublish_ExactlyOnceParallel(b *testing.B) {
	for _, qos := range []whispeer.QoS{whispeer.AtLeastOnce, whispeer.ExactlyOnce} {
		b.Run(fmt.Sprint("qos", int(qos)), func(b *testing.B) {
			br := newBroker(b, whispeer.WithHistory(0), whispeer.WithDedup(whispeer.Dedup{MaxPerPublisher: 1000}))
			if _, err := br.Subscribe("bench/+", func(context.Context, *whispeer.Message) error { return nil }, whispeer.WithInline()); err != nil {
				b.Fatal(err)
			}
			ids := make([]string, 4096)
			for i := range ids {
				ids[i] = fmt.Sprint("id-", i)
			}
			var n atomic.Int64
			payload := make([]byte, 128)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				k := n.Add(1)
				ctx, topic := context.Background(), fmt.Sprint("bench/", k)
				opts := []whispeer.PublishOption{whispeer.WithQoS(qos), whispeer.WithPublisher(whispeer.PublisherName(fmt.Sprint("p", k))), whispeer.WithID("")}
				for i := 0; pb.Next(); i++ {
					opts[2] = whispeer.WithID(ids[i%len(ids)])
					if err := br.Publish(ctx, topic, payload, opts...); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkPublish_Topics publishes round-robin over 10,000 topics with one
// inline subscription each, as one publisher spread over many topics does.
// Each publish names its topic with a string of its own, as a server that
// reads topics off the wire does, so the broker's lookup compares bytes.
func BenchmarkPublish_Topics(b *testing.B) {
	const n = 10000
	br := newBroker(b, whispeer.WithMaxTopics(2*n))
	c := newCounter(-1)
	names := make([]string, n)
	for i := range names {
		name := fmt.Sprintf("bench/topics/%05d", i)
		if _, err := br.Subscribe(name, c.handle, whispeer.WithInline()); err != nil {
			b.Fatal(err)
		}
		names[i] = strings.Clone(name)
	}
	ctx, payload := context.Background(), make([]byte, 128)
	for _, name := range names {
		br.Publish(ctx, name, payload)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		br.Publish(ctx, names[i], payload)
		if i++; i == n {
			i = 0
		}
	}
}
