// Command quickstart is whispeer's "simple example" written the Go way: a
// broker with encryption and compression, a typed subscriber, and typed
// publishes.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
)

// MyData is the payload type of the "some-event" topic.
type MyData struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

func main() {
	// A keyring with one random master key; real deployments load a key
	// file written by `whispeer keygen` with envelope.LoadKeyFile.
	keys := envelope.NewKeyring()
	if _, err := keys.Generate(); err != nil {
		log.Fatal(err)
	}

	// The builder of the plan, as functional options. whispeer.New() alone
	// is a working in-memory broker.
	b, err := whispeer.New(
		whispeer.WithEncryption(keys),
		whispeer.WithCompression(envelope.CompressZstd),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	events, err := whispeer.NewTopic[MyData](b, "some-event")
	if err != nil {
		log.Fatal(err)
	}
	received := make(chan struct{}, 2)
	_, err = events.Subscribe(func(ctx context.Context, d MyData, m *whispeer.Message) error {
		fmt.Printf("received %+v on %s (seq %d)\n", d, m.Topic, m.Seq)
		received <- struct{}{}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	myData := MyData{Name: "myname", ID: 123}
	// broker.publish("some-event", my_data)
	if err := events.Publish(ctx, myData); err != nil {
		log.Fatal(err)
	}
	// broker.publish::<MyData>("some-event", my_data)
	if err := whispeer.Publish[MyData](ctx, b, "some-event", myData); err != nil {
		log.Fatal(err)
	}
	<-received
	<-received
}
