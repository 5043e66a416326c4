// Command quickstart is whispeer's "simple example" written the Go way: a
// broker with the default engines (encryption and compression), a typed
// subscriber, and typed publishes.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/node"
)

// MyData is the payload type of the "some-event" topic.
type MyData struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

func main() {
	// Broker::build_default(): compression and encryption, with a random
	// key kept in memory. The plan's other forms:
	//
	//	node.Build(node.WithEncryption(nil), node.WithCompression(envelope.CompressZstd),
	//		node.WithWebSocket("http://localhost:8080"), node.WithPersistence(node.SQLite("data/db")))
	//	node.DefaultWithWS("localhost:8080")
	//	node.DefaultWithPersistence(node.SQLite("data/db")) // its key in data/db.key
	//	node.DefaultWithPersistenceWS("localhost:8080", node.SQLite("data/db"))
	broker, err := node.Default()
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	events, err := whispeer.NewTopic[MyData](broker.Broker, "some-event")
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
	if err := whispeer.Publish[MyData](ctx, broker.Broker, "some-event", myData); err != nil {
		log.Fatal(err)
	}
	<-received
	<-received
}
