package client_test

import (
	"bytes"
	"context"
	"errors"
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

func TestClient_PublishSubscribe(t *testing.T) {
	for _, tc := range []struct {
		scheme string
		tls    bool
	}{{"tcp", false}, {"ws", false}, {"tls", true}, {"wss", true}} {
		t.Run(tc.scheme, func(t *testing.T) {
			testPublishSubscribe(t, tc.scheme, tc.tls, false)
		})
		// The same over in-memory connections from WithDialer, in a
		// synctest bubble.
		t.Run(tc.scheme+"/dialer", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testPublishSubscribe(t, tc.scheme, tc.tls, true) })
		})
	}
}

// testPublishSubscribe publishes at QoS 0 and 1 through a fake server
// and checks what a subscriber of the same client receives.
func testPublishSubscribe(t *testing.T, scheme string, withTLS, inMemory bool) {
	var sopts []clienttest.Option
	if withTLS {
		sopts = append(sopts, clienttest.WithTLS())
	}
	var copts []client.Option
	var srv *clienttest.Server
	if inMemory {
		var via client.Option
		srv, via = newPipeServer(t, sopts...)
		copts = append(copts, via)
	} else {
		srv = newServer(t, sopts...)
	}
	if withTLS {
		copts = append(copts, client.WithTLSConfig(srv.ClientTLS()))
	}
	c := dial(t, srv.URL(scheme), copts...)
	h, got := collect(4)
	if _, err := c.Subscribe("chat/#", h); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := c.Publish(ctx, "chat/a", []byte("zero"), client.WithHeaders(map[string]string{"k": "v"})); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctx, "chat/b", []byte("one"), client.WithQoS(client.AtLeastOnce)); err != nil {
		t.Fatal(err)
	}
	m := recv(t, got)
	if m.Topic != "chat/a" || string(m.Payload) != "zero" || !hasHeader(m.Headers, "k", "v") || m.QoS != 0 || m.Seq != 1 || m.Time.IsZero() {
		t.Errorf("first message = %+v", m)
	}
	m = recv(t, got)
	if m.Topic != "chat/b" || string(m.Payload) != "one" || m.QoS != client.AtLeastOnce || m.ID == "" {
		t.Errorf("second message = %+v", m)
	}
	c.Close() // the handler's second call has been counted once Close returns
	if s := c.Stats(); s.Published != 2 || s.Delivered != 2 {
		t.Errorf("stats = %+v", s)
	}
}

func TestClient_PublishQoS1Refused(t *testing.T) {
	b, err := whispeer.New(whispeer.WithMaxPayload(8))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := newServer(t, clienttest.WithBroker(b))
	c := dial(t, srv.URL("tcp"))
	err = c.Publish(ctxT(t), "big", []byte("more than eight"), client.WithQoS(client.AtLeastOnce))
	if !errors.Is(err, whispeer.ErrPayloadTooLarge) || whispeer.ErrorCode(err) != whispeer.CodeTooLarge {
		t.Fatalf("err = %v, want ErrPayloadTooLarge", err)
	}
	var se *client.ServerError
	if !errors.As(err, &se) || se.Code != wire.CodeTooLarge {
		t.Fatalf("err = %#v, want a ServerError", err)
	}
	if err := c.Publish(ctxT(t), "small", []byte("ok"), client.WithQoS(client.AtLeastOnce)); err != nil {
		t.Fatal(err)
	}
}

func TestClient_PublishQoS0Refused(t *testing.T) {
	b, err := whispeer.New(whispeer.WithMaxPayload(8))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := newServer(t, clienttest.WithBroker(b))
	errs := make(chan error, 4)
	c := dial(t, srv.URL("tcp"), errorsTo(errs))
	if err := c.Publish(ctxT(t), "big", []byte("more than eight")); err != nil {
		t.Fatal(err)
	}
	err = recv(t, errs)
	var se *client.ServerError
	if !errors.As(err, &se) || se.Ref != wire.TypePublish || se.Fatal || !errors.Is(err, whispeer.ErrPayloadTooLarge) {
		t.Fatalf("reported %v", err)
	}
	if !c.Connected() {
		t.Fatal("a refused publish closed the connection")
	}
}

func TestClient_InvalidArguments(t *testing.T) {
	srv := newServer(t)
	c := dial(t, srv.URL("tcp"))
	ctx := ctxT(t)
	if err := c.Publish(ctx, "a/+", nil); !errors.Is(err, whispeer.ErrInvalidTopic) {
		t.Errorf("publish to a pattern: %v", err)
	}
	if err := c.Publish(ctx, "a", nil, client.WithQoS(client.ExactlyOnce)); !errors.Is(err, client.ErrUnsupported) {
		t.Errorf("publish at QoS 2: %v", err)
	}
	if _, err := c.Subscribe("a/#/b", func(context.Context, *client.Message) error { return nil }); !errors.Is(err, whispeer.ErrInvalidPattern) {
		t.Errorf("subscribe to a bad pattern: %v", err)
	}
	if _, err := c.Subscribe("a/+", func(context.Context, *client.Message) error { return nil }, client.WithResume(1, 2)); !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Errorf("resume a pattern: %v", err)
	}
	for _, u := range []string{"http://x", "tcp://", "::"} {
		if _, err := client.Dial(ctx, u); !errors.Is(err, whispeer.ErrInvalidOption) {
			t.Errorf("Dial(%q) = %v", u, err)
		}
	}
}

func TestClient_AutoAck(t *testing.T) {
	acks := make(chan string, 8)
	srv := newServer(t, clienttest.WithInspect(func(f *wire.Frame) {
		if f.Type == wire.TypePubAck {
			acks <- string(f.Ack.ID)
		}
	}))
	c := dial(t, srv.URL("tcp"))
	h, got := collect(1)
	if _, err := c.Subscribe("jobs", h); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), "jobs", []byte("j1"), client.WithQoS(client.AtLeastOnce), client.WithID("job-1")); err != nil {
		t.Fatal(err)
	}
	recv(t, got)
	if id := recv(t, acks); id != "job-1" {
		t.Fatalf("ack for %q", id)
	}
	// The server shows a frame before it handles it: once the PING behind
	// the ack is answered, the ack has been handled.
	if err := c.Flush(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := srv.Redeliver(); n != 0 {
		t.Fatalf("%d deliveries still unacknowledged", n)
	}
}

func TestClient_NoAckOnError(t *testing.T) {
	acks := make(chan string, 8)
	srv := newServer(t, clienttest.WithInspect(func(f *wire.Frame) {
		if f.Type == wire.TypePubAck && f.Ack.SID != 0 {
			acks <- string(f.Ack.ID)
		}
	}))
	errs := make(chan error, 8)
	c := dial(t, srv.URL("tcp"), errorsTo(errs))
	calls := make(chan *client.Message, 4)
	fail := errors.New("not yet")
	if _, err := c.Subscribe("jobs", func(_ context.Context, m *client.Message) error {
		calls <- m
		if m.ID == "job-1" && !m.Redelivered {
			return fail
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := c.Publish(ctx, "jobs", []byte("j1"), client.WithQoS(client.AtLeastOnce), client.WithID("job-1")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, calls); m.Redelivered {
		t.Fatal("first delivery flagged redelivered")
	}
	var de *client.DeliveryError
	if err := recv(t, errs); !errors.As(err, &de) || !errors.Is(err, fail) || de.ID != "job-1" {
		t.Fatalf("reported %v", err)
	}
	if n := srv.Redeliver(); n != 1 {
		t.Fatalf("Redeliver sent %d, want the failed delivery", n)
	}
	if m := recv(t, calls); !m.Redelivered || string(m.Payload) != "j1" {
		t.Fatalf("redelivery = %+v", m)
	}
	if id := recv(t, acks); id != "job-1" {
		t.Fatalf("ack for %q", id)
	}
	// Everything the client sent before a later marker's ack has arrived:
	// the failed attempt was never acknowledged.
	if err := c.Publish(ctx, "jobs", []byte("j2"), client.WithQoS(client.AtLeastOnce), client.WithID("job-2")); err != nil {
		t.Fatal(err)
	}
	recv(t, calls)
	if id := recv(t, acks); id != "job-2" {
		t.Fatalf("job-1 acknowledged twice (then %q)", id)
	}
}

func TestClient_Unsubscribe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		c := dial(t, srv.URL("tcp"), via)
		h, got := collect(4)
		sub, err := c.Subscribe("news", h)
		if err != nil {
			t.Fatal(err)
		}
		other, others := collect(4)
		if _, err := c.Subscribe("news", other); err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		if err := c.Publish(ctx, "news", []byte("1")); err != nil {
			t.Fatal(err)
		}
		recv(t, got)
		recv(t, others)
		if err := sub.Unsubscribe(); err != nil {
			t.Fatal(err)
		}
		recv(t, sub.Done())
		if err := sub.Unsubscribe(); err != nil || sub.Err() != nil {
			t.Fatalf("second Unsubscribe = %v, Err = %v", err, sub.Err())
		}
		if err := c.Publish(ctx, "news", []byte("2")); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, others); string(m.Payload) != "2" {
			t.Fatalf("got %q", m.Payload)
		}
		if err := c.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // what was to be delivered has been
		select {
		case m := <-got:
			t.Fatalf("delivered after Unsubscribe: %q", m.Payload)
		default:
		}
	})
}

func TestClient_SubscribeRefused(t *testing.T) {
	b, err := whispeer.New(whispeer.WithMaxSubscriptions(2)) // one is the fake's own
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := newServer(t, clienttest.WithBroker(b))
	c := dial(t, srv.URL("tcp"))
	h := func(context.Context, *client.Message) error { return nil }
	if _, err := c.Subscribe("a", h); err != nil {
		t.Fatal(err)
	}
	_, err = c.Subscribe("b", h)
	var se *client.ServerError
	if !errors.Is(err, whispeer.ErrTooManySubscriptions) || !errors.As(err, &se) || se.Ref != wire.TypeSubscribe {
		t.Fatalf("err = %v", err)
	}
}

func TestClient_Flush(t *testing.T) {
	var pubs atomic.Int64
	srv := newServer(t, clienttest.WithRecording(), clienttest.WithInspect(func(f *wire.Frame) {
		if f.Type == wire.TypePublish {
			pubs.Add(1)
		}
	}))
	c := dial(t, srv.URL("ws"))
	ctx := ctxT(t)
	for range 100 {
		if err := c.Publish(ctx, "t", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(srv.Received(), []byte("whispeer-go/1.0")) {
		t.Error("HELLO not recorded")
	}
	if n := pubs.Load(); n != 100 {
		t.Fatalf("server handled %d publishes before the PONG, want 100", n)
	}
}

// TestClient_SlowConsumer runs in a synctest bubble on the in-memory fake
// server, so that the reader's wait for room passes on the bubble's clock.
func TestClient_SlowConsumer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, via := newPipeServer(t)
		errs := make(chan error, 16)
		c := dial(t, srv.URL("tcp"), via, errorsTo(errs))
		started, release := make(chan struct{}, 1), make(chan struct{})
		free := sync.OnceFunc(func() { close(release) })
		defer free() // a failing test lets the handler return, so Close ends
		if _, err := c.Subscribe("s", func(context.Context, *client.Message) error {
			started <- struct{}{}
			<-release
			return nil
		}, client.WithQueueSize(1), client.WithMaxQoS(client.AtMostOnce)); err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t)
		if err := c.Publish(ctx, "s", []byte("in the handler")); err != nil {
			t.Fatal(err)
		}
		recv(t, started)
		for _, p := range []string{"queued", "dropped"} {
			if err := c.Publish(ctx, "s", []byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		start := time.Now()
		var de *client.DeliveryError
		if err := recv(t, errs); !errors.Is(err, client.ErrSlowConsumer) || !errors.As(err, &de) || de.Topic != "s" {
			t.Fatalf("reported %v", err)
		}
		if d := time.Since(start); d != client.DefaultSlowConsumerWait {
			t.Fatalf("dropped after %v, want the slow-consumer wait, %v", d, client.DefaultSlowConsumerWait)
		}
		free()
		recv(t, started)
		if s := c.Stats(); s.Dropped != 1 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestClient_HandlerPanic(t *testing.T) {
	srv := newServer(t)
	errs := make(chan error, 4)
	c := dial(t, srv.URL("tcp"), errorsTo(errs))
	h, got := collect(1)
	if _, err := c.Subscribe("p", func(ctx context.Context, m *client.Message) error {
		if string(m.Payload) == "boom" {
			panic("boom")
		}
		return h(ctx, m)
	}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	for _, p := range []string{"boom", "fine"} {
		if err := c.Publish(ctx, "p", []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := recv(t, errs); !errors.Is(err, whispeer.ErrHandlerPanic) {
		t.Fatalf("reported %v", err)
	}
	if m := recv(t, got); string(m.Payload) != "fine" {
		t.Fatalf("got %q", m.Payload)
	}
}
