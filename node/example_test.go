package node_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/node"
)

func ExampleDefault() {
	n, err := node.Default() // encryption and compression, the key in memory
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	got := make(chan string, 1)
	n.Subscribe("greetings", func(_ context.Context, m *whispeer.Message) error {
		got <- string(m.Payload) // opened by the broker
		return nil
	})
	n.Publish(context.Background(), "greetings", []byte("hello"))
	fmt.Println(<-got)
	// Output: hello
}

func ExampleDefaultWithPersistence() {
	dir, err := os.MkdirTemp("", "whispeer")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	db := node.SQLite(filepath.Join(dir, "whispeer.db")) // its key in whispeer.db.key
	for _, text := range []string{"first run", "second run"} {
		n, err := node.DefaultWithPersistence(db)
		if err != nil {
			log.Fatal(err)
		}
		n.Publish(context.Background(), "log", []byte(text), whispeer.WithQoS(whispeer.AtLeastOnce))
		n.Close()
	}
	n, err := node.DefaultWithPersistence(db)
	if err != nil {
		log.Fatal(err)
	}
	defer n.Close()
	got := make(chan string, 2)
	n.Subscribe("log", func(_ context.Context, m *whispeer.Message) error {
		got <- string(m.Payload)
		return nil
	}, whispeer.WithReplay(10))
	fmt.Println(<-got)
	fmt.Println(<-got)
	// Output:
	// first run
	// second run
}
