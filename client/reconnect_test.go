package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// fastReconnect keeps the tests quick: a lost connection is retried at
// once and then every few milliseconds.
var fastReconnect = client.WithReconnect(time.Millisecond, 20*time.Millisecond)

// events returns options that report connections and disconnections.
func events() (opts []client.Option, up chan struct{}, down chan error) {
	up, down = make(chan struct{}, 16), make(chan error, 16)
	return []client.Option{
		client.WithConnectHandler(func() { up <- struct{}{} }),
		client.WithDisconnectHandler(func(err error) { down <- err }),
		fastReconnect,
	}, up, down
}

// publishAll publishes n QoS 1 messages to topic from workers goroutines
// and returns once each has been acknowledged (or failed the test).
func publishAll(t *testing.T, c *client.Client, topic string, n, workers int) {
	t.Helper()
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if err := c.Publish(ctx, topic, fmt.Appendf(nil, "m%04d", i), client.WithQoS(client.AtLeastOnce)); err != nil {
					t.Errorf("publish %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// distinct reads deliveries until it has seen n distinct payloads.
func distinct(t *testing.T, got <-chan *client.Message, n int) {
	t.Helper()
	seen := make(map[string]bool, n)
	for len(seen) < n {
		seen[string(recv(t, got).Payload)] = true
	}
}

// TestClient_Reconnect loses the connection in the middle of a stream of
// QoS 1 publishes, by a server restart or a cut, and checks that every
// message is acknowledged to the publisher and reaches the subscriber.
func TestClient_Reconnect(t *testing.T) {
	const n = 400
	for _, tc := range []struct {
		name, scheme string
		restart      bool
	}{
		{"restart/tcp", "tcp", true}, {"restart/ws", "ws", true},
		{"cut/tcp", "tcp", false}, {"cut/ws", "ws", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var pubs atomic.Int64
				half := make(chan struct{})
				var once sync.Once
				var srv *clienttest.Server
				srv, via := newPipeServer(t, clienttest.WithInspect(func(f *wire.Frame) {
					if f.Type == wire.TypePublish && pubs.Add(1) == n/2 {
						if tc.restart {
							once.Do(func() { close(half) })
						} else {
							srv.Cut()
						}
					}
				}))
				opts, up, _ := events()
				sub := dial(t, srv.URL(tc.scheme), append(opts, via)...)
				h, got := collect(4 * n)
				if _, err := sub.Subscribe("orders", h); err != nil {
					t.Fatal(err)
				}
				recv(t, up)
				popts, pup, _ := events()
				pub := dial(t, srv.URL(tc.scheme), append(popts, via)...)
				recv(t, pup)
				if tc.restart {
					go func() {
						<-half
						srv.Stop()
						srv.Start()
					}()
				}
				publishAll(t, pub, "orders", n, 8)
				distinct(t, got, n)
				recv(t, up)  // the subscriber came back
				recv(t, pup) // and so did the publisher
				if s := pub.Stats(); s.Published != n || s.Reconnects < 1 {
					t.Errorf("publisher stats %+v", s)
				}
			})
		})
	}
}

func TestClient_ResumeAfterReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		opts, up, down := events()
		errs := make(chan error, 8)
		c := dial(t, srv.URL("tcp"), append(opts, via, errorsTo(errs))...)
		recv(t, up)
		h, got := collect(16)
		s, err := c.Subscribe("log", h)
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		for i := range 3 {
			if err := srv.Broker().Publish(ctx, "log", fmt.Appendf(nil, "%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		for range 3 {
			recv(t, got)
		}
		if epoch, seq := s.Position(); epoch != srv.Epoch() || seq != 3 {
			t.Fatalf("position %d/%d, want %d/3", epoch, seq, srv.Epoch())
		}
		srv.Stop()
		recv(t, down)
		for i := 3; i < 6; i++ { // published while the subscriber is away
			if err := srv.Broker().Publish(ctx, "log", fmt.Appendf(nil, "%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		recv(t, up)
		for i := 3; i < 6; i++ {
			m := recv(t, got)
			if string(m.Payload) != fmt.Sprint(i) || !m.Replayed || m.Seq != uint64(i+1) {
				t.Fatalf("after resuming got %q (seq %d, replayed %v), want %d", m.Payload, m.Seq, m.Replayed, i)
			}
		}
		for len(errs) > 0 {
			if err := <-errs; errors.Is(err, client.ErrGap) {
				t.Fatalf("resume reported a gap: %v", err)
			}
		}
	})
}

func TestClient_PublishBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var arrived []string
		var mu sync.Mutex
		srv, via := newPipeServer(t)
		if _, err := srv.Broker().Subscribe("buf", func(_ context.Context, m *whispeer.Message) error {
			mu.Lock()
			arrived = append(arrived, string(m.Payload))
			mu.Unlock()
			return nil
		}, whispeer.WithInline()); err != nil {
			t.Fatal(err)
		}
		opts, up, down := events()
		c := dial(t, srv.URL("tcp"), append(opts, via, client.WithPublishBuffer(600))...)
		recv(t, up)
		srv.Stop()
		recv(t, down)
		ctx := ctxT(t)
		var sent []string
		for i := 0; ; i++ {
			p := fmt.Sprintf("msg-%03d", i)
			err := c.Publish(ctx, "buf", []byte(p))
			if errors.Is(err, client.ErrBufferFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			sent = append(sent, p)
		}
		if len(sent) < 10 {
			t.Fatalf("only %d publishes buffered", len(sent))
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		recv(t, up)
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if fmt.Sprint(arrived) != fmt.Sprint(sent) {
			t.Fatalf("server got %v\nwant %v", arrived, sent)
		}
	})
}

func TestClient_PublishAckedWhileDisconnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		opts, up, down := events()
		c := dial(t, srv.URL("ws"), append(opts, via)...)
		recv(t, up)
		srv.Stop()
		recv(t, down)
		acked := make(chan error, 1)
		go func() { acked <- c.Publish(ctxT(t), "t", []byte("x"), client.WithQoS(client.AtLeastOnce)) }()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, acked); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClient_PublishFailFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		opts, up, down := events()
		c := dial(t, srv.URL("tcp"), append(opts, via, client.WithPublishBuffer(0))...)
		recv(t, up)
		srv.Stop()
		recv(t, down)
		ctx := ctxT(t)
		if err := c.Publish(ctx, "t", []byte("x")); !errors.Is(err, client.ErrDisconnected) {
			t.Errorf("QoS 0: %v", err)
		}
		if err := c.Publish(ctx, "t", []byte("x"), client.WithQoS(client.AtLeastOnce)); !errors.Is(err, client.ErrDisconnected) {
			t.Errorf("QoS 1: %v", err)
		}
		if err := c.Flush(ctx); !errors.Is(err, client.ErrDisconnected) {
			t.Errorf("Flush: %v", err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		recv(t, up)
		if err := c.Publish(ctx, "t", []byte("x"), client.WithQoS(client.AtLeastOnce)); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClient_WithoutReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		down := make(chan error, 1)
		c := dial(t, srv.URL("tcp"), via, client.WithoutReconnect(), client.WithDisconnectHandler(func(err error) { down <- err }))
		s, err := c.Subscribe("t", func(context.Context, *client.Message) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		srv.Cut()
		if err := recv(t, down); !errors.Is(err, client.ErrDisconnected) {
			t.Fatalf("disconnected with %v", err)
		}
		recv(t, s.Done())
		if !errors.Is(s.Err(), client.ErrDisconnected) {
			t.Fatalf("subscription ended with %v", s.Err())
		}
		if err := c.Publish(ctxT(t), "t", nil); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("publish after the loss: %v", err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestClient_DeadConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 20 * time.Millisecond
		srv, via := newPipeServer(t, clienttest.WithPingInterval(interval), clienttest.WithoutPongs())
		opts, up, down := events()
		dial(t, srv.URL("tcp"), append(opts, via)...)
		recv(t, up)
		start := time.Now()
		if err := recv(t, down); !errors.Is(err, client.ErrTimeout) {
			t.Fatalf("disconnected with %v, want ErrTimeout", err)
		}
		// A PING after an idle interval, and no answer for another.
		if d := time.Since(start); d != 2*interval {
			t.Fatalf("given up %v after connecting, want %v", d, 2*interval)
		}
		recv(t, up) // and reconnected
	})
}

// TestClient_ReconnectBackoff checks the waits between reconnection
// attempts to a server that is down: each is drawn from zero to a ceiling
// that starts at the initial wait and doubles up to the maximum.
func TestClient_ReconnectBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, _ := newPipeServer(t)
		attempts := make(chan time.Time, 64)
		counted := client.WithDialer(func(ctx context.Context, network, addr string) (net.Conn, error) {
			attempts <- time.Now()
			return srv.DialContext(ctx, network, addr)
		})
		const initial, max = 100 * time.Millisecond, 800 * time.Millisecond
		opts, up, down := events()
		dial(t, srv.URL("tcp"), append(opts, counted, client.WithReconnect(initial, max))...)
		recv(t, up)
		recv(t, attempts) // Dial's
		srv.Stop()
		recv(t, down)
		last, ceiling := time.Now(), initial
		for i := range 8 {
			at := recv(t, attempts)
			if wait := at.Sub(last); wait > ceiling {
				t.Fatalf("attempt %d came %v after the one before, past the ceiling %v", i+1, wait, ceiling)
			}
			last, ceiling = at, min(2*ceiling, max)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		recv(t, up)
		if d := time.Since(last); d > max {
			t.Fatalf("reconnected %v after the last failed attempt, past the maximum wait %v", d, max)
		}
	})
}

func TestClient_KeepAlive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pings atomic.Int64
		enough := make(chan struct{})
		srv, via := newPipeServer(t, clienttest.WithPingInterval(200*time.Millisecond), clienttest.WithInspect(func(f *wire.Frame) {
			if f.Type == wire.TypePing && pings.Add(1) == 5 {
				close(enough)
			}
		}))
		opts, up, down := events()
		dial(t, srv.URL("tcp"), append(opts, via)...)
		recv(t, up)
		recv(t, enough)
		synctest.Wait() // a disconnection would have been reported
		select {
		case err := <-down:
			t.Fatalf("a server that answers PINGs was dropped: %v", err)
		default:
		}
	})
}

func TestClient_ResubscribeRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := whispeer.New(whispeer.WithMaxSubscriptions(2)) // one is the fake's own
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		srv, via := newPipeServer(t, clienttest.WithBroker(b))
		opts, up, down := events()
		errs := make(chan error, 8)
		c := dial(t, srv.URL("tcp"), append(opts, via, errorsTo(errs))...)
		recv(t, up)
		s, err := c.Subscribe("a", func(context.Context, *client.Message) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		srv.Stop()
		recv(t, down)
		// Someone else takes the last subscription while the client is away.
		if _, err := b.Subscribe("b", func(context.Context, *whispeer.Message) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		recv(t, s.Done())
		if !errors.Is(s.Err(), whispeer.ErrTooManySubscriptions) {
			t.Fatalf("subscription ended with %v", s.Err())
		}
		waitFor(t, errs, func(err error) bool { return errors.Is(err, whispeer.ErrTooManySubscriptions) })
	})
}
