package redis_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/internal/redistest"
)

// TestBackplane_ManyTopicsShareConnections watches 2,000 topics and
// checks that the backplane's goroutines do not grow with them, that a
// message published on another node reaches each topic tried, and that
// once every watch is gone no channel is subscribed in Redis any more.
func TestBackplane_ManyTopicsShareConnections(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(*testing.T) (url string, servers []*redistest.Server)
	}{
		{"single", func(t *testing.T) (string, []*redistest.Server) {
			s := redistest.Start(t)
			return s.URL(), []*redistest.Server{s}
		}},
		{"cluster", func(t *testing.T) (string, []*redistest.Server) {
			c := redistest.StartCluster(t, 3)
			return c.URL(), c.Nodes
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, servers := tc.start(t)
			bp, got := startBackplane(t, url)
			pub := node(t, url, "m")
			ctx := context.Background()

			before := runtime.NumGoroutine()
			const topics = 2000
			for i := range topics {
				if err := bp.Watch(ctx, fmt.Sprintf("t/%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if after := runtime.NumGoroutine(); after > before+50 {
				t.Errorf("goroutines grew from %d to %d with %d topics watched", before, after, topics)
			}
			for _, i := range []int{0, 777, topics - 1} {
				topic := fmt.Sprintf("t/%d", i)
				if err := pub.Publish(ctx, topic, []byte("x")); err != nil {
					t.Fatal(err)
				}
				select {
				case m := <-got:
					if m.Topic != topic {
						t.Fatalf("received a message of %s, want %s", m.Topic, topic)
					}
				case <-time.After(20 * time.Second):
					t.Fatalf("no message of %s received", topic)
				}
			}

			for i := range topics {
				bp.Unwatch(fmt.Sprintf("t/%d", i))
			}
			deadline := time.Now().Add(20 * time.Second)
			for n := shardChannels(t, servers); n > 0; n = shardChannels(t, servers) {
				if time.Now().After(deadline) {
					t.Fatalf("%d channels still subscribed after every watch ended", n)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// shardChannels counts the sharded channels subscribed on servers.
func shardChannels(t *testing.T, servers []*redistest.Server) int {
	t.Helper()
	n := 0
	for _, s := range servers {
		r, err := s.Do("PUBSUB", "SHARDCHANNELS", "m:*")
		if err != nil {
			t.Fatal(err)
		}
		chans, _ := r.([]any)
		n += len(chans)
	}
	return n
}
