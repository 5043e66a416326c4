// Command quickstart is whispeer's "simple example": an in-memory broker,
// a typed subscriber and a typed publish.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/whispeer-io/whispeer"
)

// MyData is the payload type of the "some-event" topic.
type MyData struct {
	Name string `json:"name"`
	ID   int    `json:"id"`
}

func main() {
	b, err := whispeer.New()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	events, err := whispeer.NewTopic[MyData](b, "some-event")
	if err != nil {
		log.Fatal(err)
	}
	received := make(chan struct{})
	_, err = events.Subscribe(func(ctx context.Context, d MyData, m *whispeer.Message) error {
		fmt.Printf("received %+v on %s (seq %d)\n", d, m.Topic, m.Seq)
		close(received)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	if err := events.Publish(ctx, MyData{Name: "myname", ID: 123}); err != nil {
		log.Fatal(err)
	}
	<-received
}
