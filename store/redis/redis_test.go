package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/redistest"
	"github.com/whispeer-io/whispeer/store/redis"
	"github.com/whispeer-io/whispeer/store/storetest"
)

func TestMain(m *testing.M) {
	// A cluster client that refreshed its view closes the connections it
	// dropped 5 seconds later, in a goroutine of its own.
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/redis/rueidis.(*clusterClient)._refresh.func2"))
}

// prefixes numbers the key prefixes of the stores open makes, so that
// each starts empty in a Redis that others used.
var prefixes atomic.Int64

// open returns an empty store in the Redis at url, under a prefix of its own.
func open(t *testing.T, url string, opts ...redis.Option) *redis.Store {
	t.Helper()
	opts = append([]redis.Option{redis.WithPrefix(fmt.Sprint("t", prefixes.Add(1)))}, opts...)
	s, err := redis.Open(url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// The contract's tests append messages that repeat a publisher's id: they
// run on stores that do not de-duplicate (TestStore_DedupWindow tests
// that).

func TestStore(t *testing.T) {
	url := redistest.Start(t).URL()
	storetest.Run(t, func(t *testing.T) whispeer.Store { return open(t, url, redis.WithDedup(0)) })
}

func TestStore_Cluster(t *testing.T) {
	c := redistest.StartCluster(t, 3)
	storetest.Run(t, func(t *testing.T) whispeer.Store { return open(t, c.URL(), redis.WithDedup(0)) })
}

// TestStore_LostHistory checks that a topic whose keys Redis lost, as
// when it restarts empty, gets a new epoch and starts again at offset 1.
func TestStore_LostHistory(t *testing.T) {
	s := open(t, redistest.Start(t).URL())
	defer s.Close()
	ctx := context.Background()
	for i := 1; i <= 3; i++ {
		if err := s.Append(ctx, storetest.Message("lost", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	before, err := s.Topic(ctx, "lost")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Client().Do(ctx, s.Client().B().Flushall().Build()).Error(); err != nil {
		t.Fatal(err)
	}
	m := storetest.Message("lost", 4)
	ep, err := s.AppendEpoch(ctx, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != 1 || ep == before.Epoch || ep == 0 {
		t.Fatalf("after Redis lost the topic: offset %d, epoch %x (was %x); want offset 1 under a new epoch", m.Seq, ep, before.Epoch)
	}
	after, err := s.Topic(ctx, "lost")
	if err != nil || after.Epoch != ep || after.Last != 1 {
		t.Fatalf("Topic after the loss: %+v, %v; want epoch %x, last 1", after, err, ep)
	}
}

// TestStore_StreamLost checks that a topic whose stream alone is gone,
// its meta left counting messages, also gets a new epoch.
func TestStore_StreamLost(t *testing.T) {
	s := open(t, redistest.Start(t).URL())
	defer s.Close()
	ctx := context.Background()
	if err := s.Append(ctx, storetest.Message("half", 1), nil); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Topic(ctx, "half")
	if err := s.Client().Do(ctx, s.Client().B().Del().Key(prefix(s)+":{half}:s").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	after, err := s.Topic(ctx, "half")
	if err != nil || after.Epoch == before.Epoch || after.Last != 0 {
		t.Fatalf("Topic after its stream was lost: %+v, %v; want a new epoch, last 0 (was %+v)", after, err, before)
	}
}

// prefix returns the key prefix of s.
func prefix(s *redis.Store) string {
	p, _, _ := strings.Cut(s.Channel("x"), ":{")
	return p
}

// TestStore_AppendAsyncDone checks that appends queued with a callback,
// as a cluster node queues its clients' QoS 1 publishes, are each
// confirmed once, in order, and readable when confirmed; and that one
// Redis refused is reported to its callback.
func TestStore_AppendAsyncDone(t *testing.T) {
	srv := redistest.Start(t)
	s := open(t, srv.URL())
	defer s.Close()
	ctx := context.Background()
	const n = 500
	results := make(chan error, n)
	for i := 1; i <= n; i++ {
		m := storetest.Message("async", i)
		m.QoS = whispeer.AtLeastOnce
		if err := s.AppendAsync(ctx, m, func(err error) { results <- err }); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if err := <-results; err != nil {
			t.Fatalf("done: %v", err)
		}
	}
	var got []uint64
	err := s.Read(ctx, "async", 1, 0, func(m *whispeer.Message) error {
		got = append(got, m.Seq)
		return nil
	})
	if err != nil || len(got) != n || got[0] != 1 || got[n-1] != n {
		t.Fatalf("read %d messages (%v), want offsets 1..%d", len(got), err, n)
	}

	srv.Stop()
	m := storetest.Message("async", n+1)
	m.QoS = whispeer.AtLeastOnce
	if err := s.AppendAsync(ctx, m, func(err error) { results <- err }); err == nil {
		if err := <-results; err == nil {
			t.Fatal("an append Redis never took was confirmed")
		}
	}
}
