package whispeer_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/whispeer-io/whispeer"
)

func ExampleBroker_Subscribe() {
	b, _ := whispeer.New()
	defer b.Close()

	_, err := b.Subscribe("sensor/+/temperature", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("%s: %s\n", m.Topic, m.Payload)
		return nil
	}, whispeer.WithSync())
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	b.Publish(ctx, "sensor/kitchen/temperature", []byte("21.5"))
	b.Publish(ctx, "sensor/kitchen/humidity", []byte("40")) // no match
	// Output: sensor/kitchen/temperature: 21.5
}

func ExampleNewTopic() {
	type Order struct {
		ID    int    `json:"id"`
		Items string `json:"items"`
	}
	b, _ := whispeer.New()
	defer b.Close()

	orders, _ := whispeer.NewTopic[Order](b, "orders", whispeer.WithTypeEnforcement())
	done := make(chan struct{})
	orders.Subscribe(func(_ context.Context, o Order, m *whispeer.Message) error {
		fmt.Printf("order %d: %s (seq %d)\n", o.ID, o.Items, m.Seq)
		close(done)
		return nil
	})
	orders.Publish(context.Background(), Order{ID: 7, Items: "tea"})
	<-done

	err := b.Publish(context.Background(), "orders", []byte("not an order"))
	fmt.Println(errors.Is(err, whispeer.ErrTypeMismatch))
	// Output:
	// order 7: tea (seq 1)
	// true
}
