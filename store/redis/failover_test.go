package redis_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/store/redis"
)

// startBackplane opens a publishing store on url with prefix "m" and
// starts its backplane, whose received messages it returns on a channel.
func startBackplane(t *testing.T, url string, opts ...redis.Option) (*redis.Backplane, <-chan *whispeer.Message) {
	t.Helper()
	st, err := redis.Open(url, append([]redis.Option{redis.WithPrefix("m"), redis.WithPublish()}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bp, err := redis.NewBackplane(st)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *whispeer.Message, 16)
	if err := bp.Start(func(m *whispeer.Message, _ uint64) { got <- m }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	return bp, got
}

// receivedOnce publishes to topic through pub until a message of topic
// comes out of got: the topic's channel is subscribed again.
func receivedOnce(t *testing.T, pub *whispeer.Broker, topic string, got <-chan *whispeer.Message) {
	t.Helper()
	ctx := context.Background()
	waitFor(t, "a message of the moved topic", func() bool {
		if err := pub.Publish(ctx, topic, []byte("x")); err != nil {
			return false
		}
		select {
		case m := <-got:
			return m.Topic == topic
		case <-time.After(time.Second):
			return false
		}
	})
}

// TestBackplane_FollowsSlotsOfARemovedMaster removes a master of a Redis
// Cluster, its slots taken over by another, and checks that the backplane
// counts itself up again and receives the messages of a topic watched on
// the removed master, now subscribed where its slot is.
func TestBackplane_FollowsSlotsOfARemovedMaster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	bp, got := startBackplane(t, c.URL(), redis.WithTimeout(time.Second))
	pub := node(t, c.URL(), "m")
	ctx := context.Background()
	gone, heir, other := c.Nodes[2], c.Nodes[0], c.Nodes[1]

	topic := ""
	for i := 0; topic == ""; i++ {
		// A key of another master's slot is MOVED.
		if _, err := gone.Do("EXISTS", fmt.Sprintf("m:{t/%d}:p", i)); err == nil {
			topic = fmt.Sprintf("t/%d", i)
		}
	}
	for _, tp := range []string{topic, "a", "b", "c"} {
		if err := bp.Watch(ctx, tp); err != nil {
			t.Fatal(err)
		}
	}

	ranges := slotsOf(t, heir, gone.Addr)
	id := mustDo(t, gone, "CLUSTER", "MYID").(string)
	gone.Kill()
	for _, s := range []*redistest.Server{heir, other} {
		mustDo(t, s, "CLUSTER", "FORGET", id)
	}
	mustDo(t, heir, append([]string{"CLUSTER", "ADDSLOTSRANGE"}, ranges...)...)
	mustDo(t, heir, "CLUSTER", "BUMPEPOCH")
	waitFor(t, "the other master to see every slot served", func() bool {
		info, _ := mustDo(t, other, "CLUSTER", "INFO").(string)
		return strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384")
	})

	waitFor(t, "the backplane to be up again", bp.Up)
	receivedOnce(t, pub, topic, got)
}

// TestBackplane_FailedWatchLeavesNoChannel makes a watch's subscribe time
// out while Redis holds it back, then subscribes it, and checks that the
// channel does not stay subscribed once no watch needs it.
func TestBackplane_FailedWatchLeavesNoChannel(t *testing.T) {
	s := redistest.Start(t)
	bp, _ := startBackplane(t, s.URL(), redis.WithTimeout(300*time.Millisecond))
	ctx := context.Background()
	if err := bp.Watch(ctx, "first"); err != nil { // connects the shard
		t.Fatal(err)
	}
	mustDo(t, s, "CLIENT", "PAUSE", "1500", "ALL")
	if err := bp.Watch(ctx, "late"); err == nil {
		t.Fatal("a watch held back past the store's timeout succeeded")
	}
	// Redis answers in order: once this one is subscribed, so was "late".
	waitFor(t, "Redis to answer again", func() bool { return bp.Watch(ctx, "after") == nil })
	bp.Unwatch("first")
	bp.Unwatch("after")
	waitFor(t, "every channel to be unsubscribed", func() bool {
		return shardChannels(t, []*redistest.Server{s}) == 0
	})
}

// slotsOf returns the slot ranges that s says the master at addr serves,
// as "from", "to" pairs.
func slotsOf(t *testing.T, s *redistest.Server, addr string) []string {
	t.Helper()
	var ranges []string
	for _, r := range mustDo(t, s, "CLUSTER", "SLOTS").([]any) {
		e := r.([]any)
		n := e[2].([]any)
		if fmt.Sprintf("%s:%d", n[0], n[1]) == addr {
			ranges = append(ranges, fmt.Sprint(e[0]), fmt.Sprint(e[1]))
		}
	}
	if len(ranges) == 0 {
		t.Fatalf("no slot served by %s", addr)
	}
	return ranges
}

// mustDo sends one command to s and fails the test on an error.
func mustDo(t *testing.T, s *redistest.Server, args ...string) any {
	t.Helper()
	r, err := s.Do(args...)
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

// waitFor polls ok until it holds, failing the test after 30 seconds.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBackplane_RetriesAChannelWhoseSlotMoved moves the slot of a watched
// topic while the masters disagree on who holds it, so that subscribing
// its channel again fails at first, then settles the move, and checks
// that the backplane subscribes the channel where the slot went.
func TestBackplane_RetriesAChannelWhoseSlotMoved(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	from, to, other := c.Nodes[1], c.Nodes[2], c.Nodes[0]
	warned := make(chan struct{}, 1)
	log := slog.New(&warnHook{warned: warned})
	st, err := redis.Open(c.URL(), redis.WithPrefix("m"), redis.WithPublish(), redis.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bp, err := redis.NewBackplane(st, redis.WithBackplaneLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *whispeer.Message, 16)
	if err := bp.Start(func(m *whispeer.Message, _ uint64) { got <- m }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bp.Close() })
	ctx := context.Background()

	topic := ""
	for i := 0; topic == ""; i++ {
		if _, err := from.Do("EXISTS", fmt.Sprintf("m:{t/%d}:p", i)); err == nil {
			topic = fmt.Sprintf("t/%d", i)
		}
	}
	if err := bp.Watch(ctx, topic); err != nil {
		t.Fatal(err)
	}
	slot := fmt.Sprint(mustDo(t, from, "CLUSTER", "KEYSLOT", "m:{"+topic+"}:p"))
	id := mustDo(t, to, "CLUSTER", "MYID").(string)
	// The master gives the slot up, and unsubscribes its channels; the
	// new one does not take it yet, and sends the backplane back.
	mustDo(t, from, "CLUSTER", "SETSLOT", slot, "NODE", id)
	select {
	case <-warned:
	case <-time.After(30 * time.Second):
		t.Fatal("no warning that the channel could not be subscribed again")
	}
	for _, s := range []*redistest.Server{to, other} {
		mustDo(t, s, "CLUSTER", "SETSLOT", slot, "NODE", id)
	}
	mustDo(t, to, "CLUSTER", "BUMPEPOCH")

	pub := node(t, c.URL(), "m")
	receivedOnce(t, pub, topic, got)
}

// warnHook is a slog handler that signals warned at each warning.
type warnHook struct{ warned chan struct{} }

func (h *warnHook) Enabled(context.Context, slog.Level) bool { return true }
func (h *warnHook) Handle(_ context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn && strings.Contains(r.Message, "could not be subscribed again") {
		select {
		case h.warned <- struct{}{}:
		default:
		}
	}
	return nil
}
func (h *warnHook) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *warnHook) WithGroup(string) slog.Handler      { return h }
