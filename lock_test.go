package whispeer

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// topicLocked reports whether the lock of topic is held by someone.
func topicLocked(b *Broker, topic string) bool {
	v, ok := b.topics.Load(topic)
	if !ok {
		return false
	}
	ts := v.(*topicState)
	if !ts.mu.TryLock() {
		return true
	}
	ts.mu.Unlock()
	return false
}

// stuckSubscriber subscribes to "q" with a handler that blocks on its
// first message until release is closed, publishes that message and
// returns once the handler holds it.
func stuckSubscriber(t *testing.T, b *Broker, opts ...SubscribeOption) (release chan struct{}) {
	t.Helper()
	started, release := make(chan struct{}), make(chan struct{})
	first := true
	if _, err := b.Subscribe("q", func(context.Context, *Message) error {
		if first {
			first = false
			close(started)
			<-release
		}
		return nil
	}, opts...); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), "q", []byte("0")); err != nil {
		t.Fatal(err)
	}
	<-started
	return release
}

// A drop handler is user code: it runs after the publish has let go of
// the topic's lock, so it may publish to the same topic, or take its time,
// without holding up the topic's other publishers.
func TestRoute_DropHandlerUnlocked(t *testing.T) {
	for _, policy := range []Overflow{DropOldest, DropNewest} {
		t.Run(policy.String(), func(t *testing.T) {
			var b *Broker
			underLock := make(chan bool, 4)
			b, err := New(WithDropHandler(func(d Drop) { underLock <- topicLocked(b, d.Message.Topic) }))
			if err != nil {
				t.Fatal(err)
			}
			release := stuckSubscriber(t, b, WithQueueSize(1), WithOverflow(policy))
			for _, p := range []string{"1", "2"} { // "1" fills the queue, "2" overflows it
				if err := b.Publish(context.Background(), "q", []byte(p)); err != nil {
					t.Fatal(err)
				}
			}
			if <-underLock {
				t.Error("the drop handler ran under the topic's lock")
			}
			close(release)
			b.Close()
		})
	}
}

// A publisher that waits for room in a Block queue waits under no lock:
// the topic stays open to other publishers and subscribers meanwhile.
func TestRoute_BlockWaitsUnlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New()
		if err != nil {
			t.Fatal(err)
		}
		release := stuckSubscriber(t, b, WithQueueSize(1), WithOverflow(Block), WithBlockTimeout(time.Hour))
		if err := b.Publish(context.Background(), "q", []byte("1")); err != nil { // fills the queue
			t.Fatal(err)
		}
		published := make(chan error)
		go func() { published <- b.Publish(context.Background(), "q", []byte("2")) }()
		synctest.Wait() // the publisher of "2" waits for room
		if topicLocked(b, "q") {
			t.Error("a publisher waits for room holding the topic's lock")
		}
		close(release)
		if err := <-published; err != nil {
			t.Fatal(err)
		}
		if st := b.Stats(); st.Dropped != 0 {
			t.Errorf("dropped %d, want 0: the wait ended with room", st.Dropped)
		}
		b.Close()
	})
}
