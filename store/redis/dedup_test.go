package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/store/redis"
	"github.com/whispeer-io/whispeer/store/storetest"
)

// once returns the options of a QoS 2 publish of id by publisher pub.
func once(id string) []whispeer.PublishOption {
	return []whispeer.PublishOption{whispeer.WithQoS(whispeer.ExactlyOnce), whispeer.WithID(id),
		whispeer.WithPublisher(whispeer.PublisherName("pub"))}
}

// soloNode returns a broker on a store in the Redis at url, under prefix,
// without a backplane: it delivers what it stores to its own subscribers.
func soloNode(t *testing.T, url, prefix string) *whispeer.Broker {
	t.Helper()
	st, err := redis.Open(url, redis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	b, err := whispeer.New(whispeer.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close(); st.Close() })
	return b
}

// TestExactlyOnce_AcrossNodes publishes a QoS 2 message on one node and
// its retry, the same publisher and id, on another, as a publisher does
// whose node was killed before it had its acknowledgement: the retry is
// acknowledged, the message stored once and delivered once to each
// subscription on either node.
func TestExactlyOnce_AcrossNodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(*testing.T) string
		node func(t *testing.T, url, prefix string) *whispeer.Broker
	}{
		{"single", func(t *testing.T) string { return redistest.Start(t).URL() },
			func(t *testing.T, url, prefix string) *whispeer.Broker { return node(t, url, prefix) }},
		{"cluster", func(t *testing.T) string { return redistest.StartCluster(t, 3).URL() },
			func(t *testing.T, url, prefix string) *whispeer.Broker { return node(t, url, prefix) }},
		{"no backplane", func(t *testing.T) string { return redistest.Start(t).URL() }, soloNode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			a, b := tc.node(t, url, "eo"), tc.node(t, url, "eo")
			onA, onB := newCollector(), newCollector()
			if _, err := a.Subscribe("orders", onA.handle); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Subscribe("orders", onB.handle); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if err := a.Publish(ctx, "orders", []byte("first"), once("m1")...); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(ctx, "orders", []byte("retry"), once("m1")...); err != nil {
				t.Fatalf("the retry on another node: %v, want it acknowledged", err)
			}
			acked := make(chan error, 1)
			if err := b.PublishAsync(ctx, "orders", []byte("again"), func(err error) { acked <- err }, once("m1")...); err != nil {
				t.Fatal(err)
			}
			if err := <-acked; err != nil {
				t.Fatalf("a second retry: done(%v), want it acknowledged", err)
			}
			if err := b.Publish(ctx, "orders", []byte("next"), once("m2")...); err != nil {
				t.Fatal(err)
			}
			if tc.name == "no backplane" { // each node delivers what it stored
				if got := onA.wait(t, 1); len(got) != 1 || got[0].ID != "m1" {
					t.Fatalf("node A received %d messages, want m1 alone", len(got))
				}
				if got := onB.wait(t, 1); len(got) != 1 || got[0].ID != "m2" {
					t.Fatalf("node B received %d messages, want m2 alone (m1 was stored through A)", len(got))
				}
			} else {
				checkOnce(t, "node A", onA.wait(t, 2))
				checkOnce(t, "node B", onB.wait(t, 2))
			}
			if n := b.Stats().Duplicates; n != 2 {
				t.Fatalf("node B counted %d duplicates, want 2", n)
			}
			var stored []string
			err := readAll(ctx, url, "eo", "orders", func(m *whispeer.Message) { stored = append(stored, m.ID+"="+string(m.Payload)) })
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 2 || stored[0] != "m1=first" || stored[1] != "m2=next" {
				t.Fatalf("stored %q, want m1=first and m2=next", stored)
			}
		})
	}
}

// checkOnce checks that msgs, what a subscription received, are m1 then
// m2, each once.
func checkOnce(t *testing.T, name string, msgs []*whispeer.Message) {
	t.Helper()
	if len(msgs) != 2 || msgs[0].ID != "m1" || string(msgs[0].Payload) != "first" || msgs[1].ID != "m2" {
		ids := make([]string, len(msgs))
		for i, m := range msgs {
			ids[i] = m.ID + "=" + string(m.Payload)
		}
		t.Fatalf("%s received %q, want m1=first then m2", name, ids)
	}
}

// readAll reads topic's messages from the store under prefix at url.
func readAll(ctx context.Context, url, prefix, topic string, fn func(*whispeer.Message)) error {
	st, err := redis.Open(url, redis.WithPrefix(prefix))
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Read(ctx, topic, 1, 0, func(m *whispeer.Message) error { fn(m); return nil })
}

// TestStore_DedupWindow checks the store's de-duplication of ExactlyOnce
// appends: a repeat of a publisher's id is refused with ErrDuplicate for
// the window, which Redis keeps as the key's expiry, and appended again
// once it has passed; other publishers, other QoS and other ids are not
// affected.
func TestStore_DedupWindow(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(*testing.T) string
	}{
		{"single", func(t *testing.T) string { return redistest.Start(t).URL() }},
		{"cluster", func(t *testing.T) string { return redistest.StartCluster(t, 3).URL() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const window = 300 * time.Millisecond
			s := open(t, tc.url(t), redis.WithDedup(window))
			defer s.Close()
			ctx := context.Background()
			msg := func(pub string, qos whispeer.QoS) *whispeer.Message {
				m := storetest.Message("w", 1)
				m.ID, m.PublisherID, m.QoS = "id", pub, qos
				return m
			}
			appendSeq := func(m *whispeer.Message) uint64 {
				t.Helper()
				if err := s.Append(ctx, m, nil); err != nil {
					t.Fatalf("append of %s's %s: %v", m.PublisherID, m.ID, err)
				}
				return m.Seq
			}
			if seq := appendSeq(msg("p", whispeer.ExactlyOnce)); seq != 1 {
				t.Fatalf("first append at %d", seq)
			}
			err := s.Append(ctx, msg("p", whispeer.ExactlyOnce), nil)
			if !errors.Is(err, whispeer.ErrDuplicate) || whispeer.ErrorCode(err) != whispeer.CodeConflict {
				t.Fatalf("a repeat: %v, want ErrDuplicate", err)
			}
			if seq := appendSeq(msg("q", whispeer.ExactlyOnce)); seq != 2 {
				t.Fatalf("another publisher's id at %d, want 2", seq)
			}
			if seq := appendSeq(msg("p", whispeer.AtLeastOnce)); seq != 3 {
				t.Fatalf("a QoS 1 message with the id at %d, want 3", seq)
			}
			key := prefix(s) + ":{w}:d:1:p:id"
			c := s.Client()
			ttl, err := c.Do(ctx, c.B().Pttl().Key(key).Build()).AsInt64()
			if err != nil || ttl <= 0 || ttl > window.Milliseconds() {
				t.Fatalf("PTTL of the id's key: %d, %v; want it in (0, %d]", ttl, err, window.Milliseconds())
			}
			for { // Redis expires the key once the window has passed
				n, err := c.Do(ctx, c.B().Exists().Key(key).Build()).AsInt64()
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					break
				}
				time.Sleep(time.Duration(max(ttl, 1)) * time.Millisecond)
			}
			if seq := appendSeq(msg("p", whispeer.ExactlyOnce)); seq != 4 {
				t.Fatalf("the id after its window at %d, want 4 (a new message)", seq)
			}
			called := false
			err = s.ReadExactlyOnce(ctx, time.Time{}, func(string, string, time.Time) error { called = true; return nil })
			if err != nil || called {
				t.Fatalf("ReadExactlyOnce: %v, called %v; want nil and no message: the store holds the window", err, called)
			}
		})
	}
}

// TestStore_NoDedup checks that WithDedup(0) appends every repeat.
func TestStore_NoDedup(t *testing.T) {
	s := open(t, redistest.Start(t).URL(), redis.WithDedup(0))
	defer s.Close()
	for i := 1; i <= 2; i++ {
		m := storetest.Message("n", 1)
		m.ID, m.PublisherID, m.QoS = "id", "p", whispeer.ExactlyOnce
		if err := s.Append(context.Background(), m, nil); err != nil || m.Seq != uint64(i) {
			t.Fatalf("append %d: offset %d, %v", i, m.Seq, err)
		}
	}
	err := s.ReadExactlyOnce(context.Background(), time.Time{}, func(string, string, time.Time) error { return nil })
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("ReadExactlyOnce without de-duplication: %v, want errors.ErrUnsupported (the broker reads the topics)", err)
	}
	if _, err := redis.New(s.Client(), redis.WithDedup(-time.Second)); !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Fatalf("WithDedup(-1s): %v, want ErrInvalidOption", err)
	}
}
