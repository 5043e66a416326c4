// Command persistence keeps a broker's messages in SQLite: publishes at
// QoS 1 return once they are durable, and after a restart a subscriber
// resumes from the last offset it received, with no gap and no duplicate.
package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/store/sqlite"
)

var path = filepath.Join("data", "whispeer.db")

// open starts a broker on the database at path.
func open() *whispeer.Broker {
	st, err := sqlite.Open(path, sqlite.WithFsync(whispeer.SyncAlways))
	if err != nil {
		log.Fatal(err)
	}
	b, err := whispeer.New(
		whispeer.WithStore(st), // the broker closes it
		whispeer.WithRetention("#", whispeer.Retention{MaxMessages: 10000, MaxAge: 24 * time.Hour}),
	)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

func publish(b *whispeer.Broker, text string) {
	err := b.Publish(context.Background(), "orders", []byte(text), whispeer.WithQoS(whispeer.AtLeastOnce))
	if err != nil {
		log.Fatal(err)
	}
}

func main() {
	// First run: a subscriber receives two orders and remembers where it is.
	b := open()
	var epoch, offset uint64
	sub, err := b.Subscribe("orders", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("received #%d: %s\n", m.Seq, m.Payload)
		offset = m.Seq
		return nil
	}, whispeer.WithInline())
	if err != nil {
		log.Fatal(err)
	}
	epoch, _ = sub.Position()
	publish(b, "order 1")
	publish(b, "order 2")
	sub.Unsubscribe()
	publish(b, "order 3 (while the subscriber is away)")
	b.Close()

	// Second run, after a restart: resume after the last offset received.
	b = open()
	defer b.Close()
	sub, err = b.Subscribe("orders", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("resumed #%d: %s\n", m.Seq, m.Payload)
		return nil
	}, whispeer.WithInline(), whispeer.WithResume(epoch, offset))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("recovered:", sub.Recovered())
	publish(b, "order 4 (live)")
}
