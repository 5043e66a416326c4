package client_test

import (
	"errors"
	"fmt"
	"testing"
	"testing/synctest"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// history publishes payloads 1..n to topic through the server's broker.
func history(t *testing.T, srv *clienttest.Server, topic string, n int) {
	t.Helper()
	for i := 1; i <= n; i++ {
		if err := srv.Broker().Publish(ctxT(t), topic, fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestClient_SubscribeLast(t *testing.T) {
	srv := newServer(t)
	history(t, srv, "h", 5)
	c := dial(t, srv.URL("tcp"))
	h, got := collect(8)
	if _, err := c.Subscribe("h", h, client.WithLast(3)); err != nil {
		t.Fatal(err)
	}
	for i := 3; i <= 5; i++ {
		if m := recv(t, got); string(m.Payload) != fmt.Sprint(i) || !m.Replayed || m.Seq != uint64(i) {
			t.Fatalf("replay got %q (seq %d, replayed %v), want %d", m.Payload, m.Seq, m.Replayed, i)
		}
	}
	history(t, srv, "h", 1)
	if m := recv(t, got); m.Replayed || m.Seq != 6 {
		t.Fatalf("live message %+v", m)
	}
}

func TestClient_SubscribeResume(t *testing.T) {
	srv := newServer(t)
	history(t, srv, "h", 5)
	errs := make(chan error, 4)
	c := dial(t, srv.URL("tcp"), errorsTo(errs))
	h, got := collect(8)
	s, err := c.Subscribe("h", h, client.WithResume(srv.Epoch(), 3))
	if err != nil {
		t.Fatal(err)
	}
	for i := 4; i <= 5; i++ {
		if m := recv(t, got); string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("got %q, want %d", m.Payload, i)
		}
	}
	if epoch, seq := s.Position(); epoch != srv.Epoch() || seq != 5 {
		t.Fatalf("position %d/%d", epoch, seq)
	}

	// Another epoch: the history is not the one the offset refers to.
	if _, err := c.Subscribe("h", h, client.WithResume(srv.Epoch()+1, 3)); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, errs); !errors.Is(err, client.ErrGap) {
		t.Fatalf("reported %v, want ErrGap", err)
	}
}

func TestClient_ResumeUnsupported(t *testing.T) {
	srv := newServer(t, clienttest.WithCaps(wire.CapE2E))
	c := dial(t, srv.URL("tcp"))
	h, _ := collect(1)
	if _, err := c.Subscribe("h", h, client.WithLast(3)); !errors.Is(err, client.ErrUnsupported) {
		t.Fatalf("WithLast without the capability: %v", err)
	}
	if _, err := c.Subscribe("h", h); err != nil {
		t.Fatal(err)
	}
}

func TestClient_SubscribeWhileDisconnected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		opts, up, down := events()
		c := dial(t, srv.URL("tcp"), append(opts, via)...)
		recv(t, up)
		srv.Stop()
		recv(t, down)
		h, got := collect(1)
		subscribed := make(chan error, 1)
		go func() {
			_, err := c.Subscribe("later", h)
			subscribed <- err
		}()
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, subscribed); err != nil {
			t.Fatal(err)
		}
		history(t, srv, "later", 1)
		recv(t, got)
	})
}
