package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/envelope"
)

func ExampleDial() {
	srv, err := clienttest.NewServer() // a stand-in for a whispeer server
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, srv.URL("tcp"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	got := make(chan string, 1)
	if _, err := c.Subscribe("chat/+", func(_ context.Context, m *client.Message) error {
		got <- m.Topic + ": " + string(m.Payload)
		return nil // acknowledges a QoS 1 delivery
	}); err != nil {
		log.Fatal(err)
	}
	// At QoS 1, Publish returns once the server has the message.
	if err := c.Publish(ctx, "chat/lobby", []byte("hello"), client.WithQoS(client.AtLeastOnce)); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-got)
	// Output: chat/lobby: hello
}

func ExampleWithKeyring() {
	srv, err := clienttest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	keys := envelope.NewKeyring() // shared by the clients, never by the server
	if _, err := keys.Generate(); err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	c, err := client.Dial(ctx, srv.URL("ws"), client.WithKeyring(keys))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	got := make(chan string, 1)
	if _, err := c.Subscribe("mail/alice", func(_ context.Context, m *client.Message) error {
		got <- string(m.Payload) // opened by the client
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	if err := c.Publish(ctx, "mail/alice", []byte("the secret")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-got)
	// Output: the secret
}

func ExampleNewTopic() {
	srv, err := clienttest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	c, err := client.Dial(ctx, srv.URL("tcp"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	type reading struct {
		Room    string
		Celsius float64
	}
	readings, err := client.NewTopic[reading](c, "sensors/kitchen")
	if err != nil {
		log.Fatal(err)
	}
	got := make(chan reading, 1)
	if _, err := readings.Subscribe(func(_ context.Context, r reading, _ *client.Message) error {
		got <- r
		return nil
	}); err != nil {
		log.Fatal(err)
	}
	if err := readings.Publish(ctx, reading{"kitchen", 21.5}); err != nil {
		log.Fatal(err)
	}
	r := <-got
	fmt.Printf("%s: %.1f°C\n", r.Room, r.Celsius)
	// Output: kitchen: 21.5°C
}

func ExampleWithBorrow() {
	srv, err := clienttest.NewServer()
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()

	ctx := context.Background()
	c, err := client.Dial(ctx, srv.URL("tcp"))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	total := make(chan int, 3)
	kept := make(chan *client.Message, 1)
	if _, err := c.Subscribe("sensors/t1", func(_ context.Context, m *client.Message) error {
		total <- len(m.Payload) // read it during the call: m is lent
		if string(m.Payload) == "alarm" {
			kept <- m.Clone() // keep a copy, never m itself
		}
		return nil
	}, client.WithBorrow()); err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{"20.5", "alarm", "21.0"} {
		if err := c.Publish(ctx, "sensors/t1", []byte(p)); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(<-total + <-total + <-total)
	fmt.Println(string((<-kept).Payload))
	// Output:
	// 13
	// alarm
}
