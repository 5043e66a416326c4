package client_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

func TestClient_CloseFlushes(t *testing.T) {
	const n = 2000
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			var pubs atomic.Int64
			all := make(chan struct{})
			srv := newServer(t, clienttest.WithInspect(func(f *wire.Frame) {
				if f.Type == wire.TypePublish && pubs.Add(1) == n {
					close(all)
				}
			}))
			c := dial(t, srv.URL(scheme))
			ctx := ctxT(t)
			payload := make([]byte, 1024)
			for range n {
				if err := c.Publish(ctx, "flush", payload); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			recv(t, all)
			if err := c.Publish(ctx, "flush", payload); !errors.Is(err, client.ErrClosed) {
				t.Errorf("Publish after Close: %v", err)
			}
			if _, err := c.Subscribe("x", func(context.Context, *client.Message) error { return nil }); !errors.Is(err, client.ErrClosed) {
				t.Errorf("Subscribe after Close: %v", err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

func TestClient_CloseFinishesHandlers(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL("tcp"))
	release := make(chan struct{})
	var handled atomic.Int64
	s, err := c.Subscribe("work", func(context.Context, *client.Message) error {
		<-release
		handled.Add(1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	_, first := collect(1)
	probe, err := c.Subscribe("work", func(_ context.Context, m *client.Message) error {
		first <- m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for i := range 5 {
		if err := c.Publish(ctx, "work", fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		recv(t, first) // every message reached the client, so both queues hold them
	}
	close(release)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 5 {
		t.Fatalf("Close returned after %d of 5 queued messages were handled", n)
	}
	recv(t, s.Done())
	recv(t, probe.Done())
	if !errors.Is(s.Err(), client.ErrClosed) {
		t.Fatalf("subscription ended with %v", s.Err())
	}
}

func TestClient_DrainWaitsForReconnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var pubs atomic.Int64
		srv, via := newPipeServer(t, clienttest.WithInspect(func(f *wire.Frame) {
			if f.Type == wire.TypePublish {
				pubs.Add(1)
			}
		}))
		opts, up, down := events()
		c := dial(t, srv.URL("tcp"), append(opts, via)...)
		recv(t, up)
		srv.Stop()
		recv(t, down)
		ctx := ctxT(t)
		for range 10 {
			if err := c.Publish(ctx, "later", []byte("x")); err != nil {
				t.Fatal(err)
			}
		}
		drained := make(chan error, 1)
		go func() { drained <- c.Drain(ctx) }()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, drained); err != nil {
			t.Fatal(err)
		}
		if n := pubs.Load(); n != 10 {
			t.Fatalf("server got %d of the 10 buffered publishes", n)
		}
	})
}

func TestClient_DrainCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		opts, up, down := events()
		c := dial(t, srv.URL("tcp"), append(opts, via)...)
		recv(t, up)
		srv.Stop()
		recv(t, down)
		ctx, cancel := context.WithCancel(context.Background())
		failed := make(chan error, 1)
		go func() {
			failed <- c.Publish(context.Background(), "t", []byte("x"), client.WithQoS(client.AtLeastOnce))
		}()
		if err := c.Publish(ctx, "t", []byte("y")); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := c.Drain(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Drain = %v", err)
		}
		if err := recv(t, failed); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("pending QoS 1 publish = %v", err)
		}
	})
}

func TestClient_InflightWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pubs := make(chan string, 8)
		url, via := newRawPipeServer(t, func(_ int, c net.Conn) {
			rd := greet(c)
			for rd != nil {
				f, err := rd.Next()
				if err != nil {
					return
				}
				switch f.Type {
				case wire.TypePing:
					c.Write(wire.AppendPong(nil))
				case wire.TypePublish:
					pubs <- string(f.Publish.ID) // and never acknowledged
				}
			}
		})
		c := dial(t, url, via, client.WithMaxInflight(1))
		first := make(chan error, 1)
		go func() {
			first <- c.Publish(context.Background(), "t", []byte("1"), client.WithQoS(client.AtLeastOnce), client.WithID("one"))
		}()
		if id := recv(t, pubs); id != "one" {
			t.Fatalf("server got %q", id)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := c.Publish(ctx, "t", []byte("2"), client.WithQoS(client.AtLeastOnce), client.WithID("two")); !errors.Is(err, context.Canceled) {
			t.Fatalf("publish past the window: %v", err)
		}
		if err := c.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the server has read whatever was sent
		select {
		case id := <-pubs:
			t.Fatalf("%q was sent past the window", id)
		default:
		}
		// The PUBACK will never come: a Drain bounded by an ended context
		// gives up on it at once.
		if err := c.Drain(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Drain = %v", err)
		}
		if err := recv(t, first); !errors.Is(err, client.ErrClosed) {
			t.Fatalf("unacknowledged publish = %v", err)
		}
	})
}
