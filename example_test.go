package whispeer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
)

func ExampleBroker_Subscribe() {
	b, _ := whispeer.New()
	defer b.Close()

	_, err := b.Subscribe("sensor/+/temperature", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("%s: %s\n", m.Topic, m.Payload)
		return nil
	}, whispeer.WithInline())
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

// wiretap is a plugin that sees each delivery as routed, as a transport
// forwards it.
type wiretap struct{}

func (wiretap) Name() string { return "wiretap" }

func (wiretap) OnDeliver(_ *whispeer.Subscription, m *whispeer.Message) {
	fmt.Printf("in transit, an envelope: %v\n", envelope.IsEnvelope(m.Payload))
}

func ExampleWithEncryption() {
	keys := envelope.NewKeyring()
	keys.Generate()
	b, _ := whispeer.New(whispeer.WithEncryption(keys), whispeer.ForTopics("public/#", whispeer.Plaintext()),
		whispeer.WithPlugin(wiretap{}))
	defer b.Close()

	b.Subscribe("#", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("subscriber: %s\n", m.Payload)
		return nil
	}, whispeer.WithInline())

	b.Publish(context.Background(), "chat/lobby", []byte("sealed in transit"))
	b.Publish(context.Background(), "public/news", []byte("plaintext"))
	// Output:
	// in transit, an envelope: true
	// subscriber: sealed in transit
	// in transit, an envelope: false
	// subscriber: plaintext
}

func ExampleWithPublisher() {
	b, err := whispeer.New()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	var got []byte
	if _, err := b.Subscribe("chat/#", func(_ context.Context, m *whispeer.Message) error {
		got = append(got, m.Topic+"="+string(m.Payload)+";"...)
		return nil
	}, whispeer.WithInline()); err != nil {
		log.Fatal(err)
	}
	// A publisher that reads messages into a buffer of its own names
	// itself: the broker copies the payload, so the buffer is free again
	// once Publish returns.
	buf := []byte("hello")
	if err := b.Publish(context.Background(), "chat/lobby", buf, whispeer.WithPublisher(whispeer.PublisherName("reader"))); err != nil {
		log.Fatal(err)
	}
	copy(buf, "HELLO")
	fmt.Println(string(got))
	// Output: chat/lobby=hello;
}

func ExampleWithDedup() {
	b, _ := whispeer.New(whispeer.WithDedup(whispeer.Dedup{Window: time.Minute}))
	defer b.Close()

	b.Subscribe("orders", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("order %s: %s\n", m.ID, m.Payload)
		return nil
	}, whispeer.WithInline())
	ctx := context.Background()
	billing := whispeer.WithPublisher(whispeer.PublisherName("billing"))
	for range 3 { // a publisher retrying, as after a lost acknowledgement
		if err := b.Publish(ctx, "orders", []byte("2 books"), whispeer.WithQoS(whispeer.ExactlyOnce),
			whispeer.WithID("o-7"), billing); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println("retries recognised:", b.Stats().Duplicates)
	// Output:
	// order o-7: 2 books
	// retries recognised: 2
}
