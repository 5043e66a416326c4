// Command wildcards shows the topic patterns: "+" and "*" match one level,
// "#" matches a level and everything below it.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/whispeer-io/whispeer"
)

func main() {
	b, err := whispeer.New()
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	for _, pattern := range []string{"chat/*", "sensor/+/temperature", "chat/#"} {
		_, err := b.Subscribe(pattern, func(_ context.Context, m *whispeer.Message) error {
			fmt.Printf("%-22s got %s: %s\n", pattern, m.Topic, m.Payload)
			return nil
		}, whispeer.WithInline())
		if err != nil {
			log.Fatal(err)
		}
	}

	ctx := context.Background()
	for _, topic := range []string{"chat", "chat/lobby", "chat/lobby/alice", "sensor/kitchen/temperature"} {
		if err := b.Publish(ctx, topic, []byte("hi")); err != nil {
			log.Fatal(err)
		}
	}
	// Wildcards belong in patterns, not in the topics one publishes to.
	fmt.Println(b.Publish(ctx, "chat/+", []byte("no")))
}
