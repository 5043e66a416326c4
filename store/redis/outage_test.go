package redis_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/store/redis"
)

// TestBackplane_LocalDuringOutage cuts a node from Redis: its clients'
// QoS 0 publishes still reach its own subscribers, without an offset, a
// QoS 1 publish fails, and its goroutines do not grow with the publishes.
// Once healed, the node receives another node's messages again, every
// one in offset order, and a resume from an offset gets the stored
// messages and none of those delivered only locally.
func TestBackplane_LocalDuringOutage(t *testing.T) {
	srv := redistest.Start(t)
	proxy := redistest.NewProxy(t, srv.Addr)
	a := node(t, srv.URL(), "o")
	b := nodeWith(t, proxy.URL(), []redis.Option{redis.WithPrefix("o"), redis.WithTimeout(time.Second)})
	ctx := context.Background()
	c := newCollector()
	if _, err := b.Subscribe("o/x", c.handle); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := b.Publish(ctx, "o/x", []byte("x"), whispeer.WithID(fmt.Sprintf("s-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	stored := c.wait(t, 3)
	info, err := a.TopicInfo(ctx, "o/x")
	if err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	// Publish until the node knows Redis is gone and delivers locally.
	local := func(m *whispeer.Message) bool { return strings.HasPrefix(m.ID, "l-") }
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; count(c, local) == 0; i++ {
		if time.Now().After(deadline) {
			t.Fatal("no QoS 0 publish reached the cut node's own subscriber")
		}
		b.Publish(ctx, "o/x", []byte("x"), whispeer.WithID(fmt.Sprintf("l-%d", i)))
		select {
		case <-c.more:
		case <-time.After(50 * time.Millisecond):
		}
	}
	before := runtime.NumGoroutine()
	const n = 1000
	for i := range n {
		if err := b.Publish(ctx, "o/x", []byte("x"), whispeer.WithID(fmt.Sprintf("m-%d", i))); err != nil {
			t.Fatalf("QoS 0 publish %d while Redis is cut: %v", i, err)
		}
	}
	during := func(m *whispeer.Message) bool { return strings.HasPrefix(m.ID, "m-") }
	for deadline := time.Now().Add(20 * time.Second); count(c, during) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d QoS 0 publishes reached the cut node's own subscriber", count(c, during), n)
		}
		select {
		case <-c.more:
		case <-time.After(50 * time.Millisecond):
		}
	}
	i := 0
	for _, m := range c.wait(t, 0) {
		if !during(m) {
			continue
		}
		if want := fmt.Sprintf("m-%d", i); m.ID != want || m.Seq != 0 {
			t.Fatalf("local delivery %d: %s at offset %d, want %s with none", i, m.ID, m.Seq, want)
		}
		i++
	}
	if err := b.Publish(ctx, "o/x", []byte("x"), whispeer.WithQoS(whispeer.AtLeastOnce)); err == nil {
		t.Fatal("a QoS 1 publish succeeded while its node is cut from Redis")
	}
	if after := runtime.NumGoroutine(); after > before+20 {
		t.Errorf("goroutines grew from %d to %d with %d publishes during the outage", before, after, n)
	}
	if got := b.Stats().LocalOnly; got < n {
		t.Errorf("Stats().LocalOnly = %d, want at least %d", got, n)
	}

	proxy.Heal()
	// Publish on the other node until the healed one's subscriber has
	// three of these messages: it must have every one, from the first.
	healed := func(m *whispeer.Message) bool { return strings.HasPrefix(m.ID, "h-") }
	deadline = time.Now().Add(30 * time.Second)
	sent := 0
	for count(c, healed) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the healed node's subscriber gets no message from the other node")
		}
		if err := a.Publish(ctx, "o/x", []byte("x"), whispeer.WithID(fmt.Sprintf("h-%d", sent)), whispeer.WithQoS(whispeer.AtLeastOnce)); err != nil {
			t.Fatal(err)
		}
		sent++
		select {
		case <-c.more:
		case <-time.After(50 * time.Millisecond):
		}
	}
	last := stored[2].Seq
	for _, m := range c.wait(t, 0) {
		if !healed(m) {
			continue
		}
		if want := fmt.Sprintf("h-%d", m.Seq-stored[2].Seq-1); m.ID != want || m.Seq != last+1 {
			t.Fatalf("after the heal: %s at offset %d, want %s at %d", m.ID, m.Seq, want, last+1)
		}
		last = m.Seq
	}

	rest := newCollector()
	rs, err := b.Subscribe("o/x", rest.handle, whispeer.WithResume(info.Epoch, stored[0].Seq))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range rest.wait(t, 2+sent)[:2+sent] {
		if m.Seq != stored[0].Seq+uint64(i)+1 || local(m) || strings.HasPrefix(m.ID, "m-") {
			t.Fatalf("resumed message %d: %s at offset %d", i, m.ID, m.Seq)
		}
	}
	if !rs.Recovered() {
		t.Fatal("a resume across the outage did not recover")
	}
}

// count returns how many of c's messages satisfy f.
func count(c *collector, f func(*whispeer.Message) bool) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.msgs {
		if f(m) {
			n++
		}
	}
	return n
}
