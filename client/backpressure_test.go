package client_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/server/config"
)

// TestClient_FastStreamLosesNothing publishes QoS 0 as fast as Publish
// goes to one subscriber whose handler is slower than the stream, through
// whispeer's own server with the shipped defaults: the subscriber's
// reader waits for room in the queue rather than dropping, the server
// slows the publisher, and every message arrives. (The publish rate limit
// is off: it refuses a publisher, not a subscriber.)
func TestClient_FastStreamLosesNothing(t *testing.T) {
	const n = 20000
	real := startReal(t, nil, "", "", func(c *config.Config) { c.Server.MaxPublishRate = 0 })
	urls := real.urls
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			var got, dropped, total atomic.Int64
			done := make(chan struct{})
			count := func(c *atomic.Int64) {
				c.Add(1)
				if total.Add(1) == n {
					close(done)
				}
			}
			sub := dial(t, urls[scheme], client.WithCredentials("admin", "password"),
				client.WithErrorHandler(func(err error) {
					if errors.Is(err, client.ErrSlowConsumer) {
						count(&dropped)
					}
				}))
			if _, err := sub.Subscribe("stream/"+scheme, func(_ context.Context, m *client.Message) error {
				sum := sha256.Sum256(m.Payload) // a handler that does some work
				for range 20 {
					sum = sha256.Sum256(sum[:])
				}
				count(&got)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			pub := dial(t, urls[scheme], client.WithCredentials("admin", "password"))
			ctx := ctxT(t)
			payload := make([]byte, 128)
			for range n {
				if err := pub.Publish(ctx, "stream/"+scheme, payload); err != nil {
					t.Fatal(err)
				}
			}
			select {
			case <-done:
			case <-time.After(hang):
			}
			if got.Load() != n || sub.Stats().Dropped != 0 {
				t.Fatalf("received %d of %d, %d dropped (Stats %+v, server %+v)", got.Load(), n, dropped.Load(), sub.Stats(), real.srv.Stats())
			}
		})
	}
}
