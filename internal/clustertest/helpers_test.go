package clustertest_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/internal/clustertest"
	"github.com/whispeer-io/whispeer/internal/redistest"
)

// waitTimeout bounds every wait of these tests for something to happen.
const waitTimeout = 30 * time.Second

// backend is the Redis a cluster runs on: one server or a Redis Cluster.
type backend struct {
	url     string
	servers []*redistest.Server // every Redis process, to inspect
	single  *redistest.Server   // the server, when there is one
}

// startBackend starts a single redis-server ("redis") or a 3-master Redis
// Cluster ("redis-cluster").
func startBackend(t *testing.T, kind string) *backend {
	t.Helper()
	if kind == "redis-cluster" {
		c := redistest.StartCluster(t, 3)
		return &backend{url: c.URL(), servers: c.Nodes}
	}
	s := redistest.Start(t)
	return &backend{url: s.URL(), servers: []*redistest.Server{s}, single: s}
}

// keysContaining returns the keys of every server whose name or contents
// hold needle.
func (b *backend) keysContaining(t *testing.T, needle []byte) []string {
	t.Helper()
	var keys []string
	for _, s := range b.servers {
		k, err := s.KeysContaining(needle)
		if err != nil {
			t.Fatalf("read Redis %s: %v", s.Addr, err)
		}
		keys = append(keys, k...)
	}
	return keys
}

// monitors starts recording the commands of every server.
func (b *backend) monitors(t *testing.T) []*redistest.Monitor {
	var ms []*redistest.Monitor
	for _, s := range b.servers {
		ms = append(ms, s.Monitor(t))
	}
	return ms
}

// received is what a native subscription got, in order.
type received struct {
	ch chan client.Message
}

// next returns the next message, failing the test after waitTimeout.
func (r *received) next(t *testing.T) client.Message {
	t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-time.After(waitTimeout):
		t.Fatalf("no message within %v", waitTimeout)
		return client.Message{}
	}
}

// dialNative connects a native client to url (tcp:// or ws://) with
// token, closed when the test ends.
func dialNative(t *testing.T, url, token string, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	opts = append([]client.Option{client.WithToken(token),
		client.WithErrorHandler(func(error) {})}, opts...)
	c, err := client.Dial(ctx, url, opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// subscribeNative subscribes c to pattern and returns what it receives.
func subscribeNative(t *testing.T, c *client.Client, pattern string, opts ...client.SubscribeOption) (*client.Subscription, *received) {
	t.Helper()
	r := &received{ch: make(chan client.Message, 1<<14)}
	sub, err := c.Subscribe(pattern, func(_ context.Context, m *client.Message) error {
		r.ch <- *m
		return nil
	}, opts...)
	if err != nil {
		t.Fatalf("subscribe %s: %v", pattern, err)
	}
	return sub, r
}

// failover returns a client dialer that connects to the first of addrs
// that accepts, whatever address the client asks for: a client that
// reconnects to another node when its own is gone.
func failover(urls ...string) client.Option {
	var hosts []string
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			panic(err)
		}
		hosts = append(hosts, pu.Host)
	}
	return client.WithDialer(func(ctx context.Context, network, _ string) (net.Conn, error) {
		var errs []error
		for _, h := range hosts {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, h)
			if err == nil {
				return c, nil
			}
			errs = append(errs, err)
		}
		return nil, errors.Join(errs...)
	})
}

// waitReadyz waits until node's /readyz answers want.
func waitReadyz(t *testing.T, nd *clustertest.Node, want int) string {
	t.Helper()
	var code int
	var body string
	for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var err error
		if code, body, err = nd.Readyz(); err == nil && code == want {
			return body
		}
	}
	t.Fatalf("%s /readyz = %d %q, want %d", nd.Name, code, body, want)
	return ""
}

// acks records acknowledged publishes, safe for concurrent use.
type acks struct {
	mu  sync.Mutex
	ids map[string]bool
}

// add records id.
func (a *acks) add(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ids == nil {
		a.ids = map[string]bool{}
	}
	a.ids[id] = true
}

// list returns the recorded ids.
func (a *acks) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for id := range a.ids {
		out = append(out, id)
	}
	return out
}
