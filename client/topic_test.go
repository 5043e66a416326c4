package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
)

type order struct {
	ID    int     `json:"id"`
	Total float64 `json:"total"`
}

func TestTopic_PublishSubscribe(t *testing.T) {
	acks := make(chan string, 4)
	srv := newServer(t, countAcks(acks))
	kr := newKeyring(t)
	errs := make(chan error, 4)
	c := dial(t, srv.URL("tcp"), client.WithKeyring(kr), errorsTo(errs))
	orders, err := client.NewTopic[order](c, "orders/eu")
	if err != nil {
		t.Fatal(err)
	}
	if orders.Name() != "orders/eu" {
		t.Fatalf("Name = %q", orders.Name())
	}
	got := make(chan order, 4)
	if _, err := orders.Subscribe(func(_ context.Context, o order, m *client.Message) error {
		if m.Topic != "orders/eu" {
			t.Errorf("topic %q", m.Topic)
		}
		got <- o
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	if err := orders.Publish(ctx, order{ID: 7, Total: 9.5}, client.WithQoS(client.AtLeastOnce)); err != nil {
		t.Fatal(err)
	}
	if o := recv(t, got); o != (order{7, 9.5}) {
		t.Fatalf("got %+v", o)
	}
	recv(t, acks)

	// A payload that is not an order is reported, acknowledged and skipped.
	if err := c.Publish(ctx, "orders/eu", []byte("not json"), client.WithQoS(client.AtLeastOnce), client.WithID("junk")); err != nil {
		t.Fatal(err)
	}
	var de *client.DeliveryError
	if err := recv(t, errs); !errors.As(err, &de) || de.ID != "junk" || !errors.Is(err, whispeer.ErrTypeMismatch) {
		t.Fatalf("reported %v", err)
	}
	if id := recv(t, acks); id != "junk" {
		t.Fatalf("ack for %q", id)
	}
	if _, err := client.NewTopic[order](c, "orders/+"); !errors.Is(err, whispeer.ErrInvalidTopic) {
		t.Fatalf("NewTopic on a pattern: %v", err)
	}
}

func TestTopic_Codec(t *testing.T) {
	srv := newServer(t)
	errs := make(chan error, 1)
	c := dial(t, srv.URL("tcp"), errorsTo(errs))
	strict, err := client.NewTopic[order](c, "o", client.WithCodec(whispeer.JSON{Strict: true}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := strict.Subscribe(func(context.Context, order, *client.Message) error {
		t.Error("a payload with unknown fields was decoded")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), "o", []byte(`{"id":1,"extra":true}`)); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, errs); !errors.Is(err, whispeer.ErrTypeMismatch) {
		t.Fatalf("reported %v", err)
	}
	if _, err := client.NewTopic[order](c, "o", client.WithCodec(nil)); !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Fatalf("nil codec: %v", err)
	}
}
