// Command replay shows history: a subscriber that arrives late receives the
// last messages of its topics first, then live ones, with no gap and no
// duplicate.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/whispeer-io/whispeer"
)

func main() {
	b, err := whispeer.New(whispeer.WithHistory(3))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		if err := b.Publish(ctx, "chat", fmt.Appendf(nil, "message %d", i)); err != nil {
			log.Fatal(err)
		}
	}

	done := make(chan struct{})
	_, err = b.Subscribe("chat", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("seq %d: %s\n", m.Seq, m.Payload)
		if m.Seq == 6 {
			close(done)
		}
		return nil
	}, whispeer.WithReplay(10))
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Publish(ctx, "chat", []byte("message 6 (live)")); err != nil {
		log.Fatal(err)
	}
	<-done
}
