// Command client uses whispeer's Go client: it connects, seals payloads
// end to end with a keyring, publishes typed readings at QoS 1 and
// receives them on a wildcard subscription. The server holds only
// envelopes: with no -url the command starts an in-process test server
// (client/clienttest) and checks that none of the plaintext reached it.
//
//	go run ./examples/client
//	go run ./examples/client -url tcp://localhost:4250 -user admin -password secret
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/envelope"
)

// Reading is the typed payload of the sensors/... topics.
type Reading struct {
	Room    string  `json:"room"`
	Celsius float64 `json:"celsius"`
}

func main() {
	url := flag.String("url", "", "server URL: tcp://, tls://, ws:// or wss://; empty starts a test server in-process")
	user := flag.String("user", "", "user name to log in with")
	password := flag.String("password", os.Getenv("WHISPEER_PASSWORD"), "password (or $WHISPEER_PASSWORD)")
	flag.Parse()
	if err := run(*url, *user, *password); err != nil {
		log.Fatal(err)
	}
}

func run(url, user, password string) error {
	var srv *clienttest.Server
	if url == "" {
		var err error
		if srv, err = clienttest.NewServer(clienttest.WithRecording()); err != nil {
			return err
		}
		defer srv.Close()
		url = srv.URL("tcp")
	}

	// Publisher and subscribers share the keyring; the server never has it.
	keys := envelope.NewKeyring()
	if _, err := keys.Generate(); err != nil {
		return err
	}
	opts := []client.Option{
		client.WithKeyring(keys),
		client.WithName("whispeer-example/1.0"),
		client.WithErrorHandler(func(err error) { log.Printf("async error: %v", err) }),
	}
	if user != "" {
		opts = append(opts, client.WithCredentials(user, password))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, url, opts...)
	if err != nil {
		return err
	}
	defer c.Close()

	got := make(chan Reading, 3)
	readings, err := client.NewTopic[Reading](c, "sensors/kitchen")
	if err != nil {
		return err
	}
	if _, err := readings.Subscribe(func(_ context.Context, r Reading, m *client.Message) error {
		fmt.Printf("typed     %-16s #%d %s %.1f°C\n", m.Topic, m.Seq, r.Room, r.Celsius)
		got <- r
		return nil // acknowledges the QoS 1 delivery
	}); err != nil {
		return err
	}
	if _, err := c.Subscribe("sensors/#", func(_ context.Context, m *client.Message) error {
		fmt.Printf("wildcard  %-16s %s\n", m.Topic, m.Payload)
		return nil
	}); err != nil {
		return err
	}

	for i, t := range []float64{21.5, 21.7, 22.0} {
		r := Reading{Room: "kitchen", Celsius: t}
		// At QoS 1, Publish returns once the server has the message.
		if err := readings.Publish(ctx, r, client.WithQoS(client.AtLeastOnce)); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
	}
	for range 3 {
		select {
		case <-got:
		case <-ctx.Done():
			return errors.New("readings did not come back")
		}
	}
	if err := c.Close(); err != nil {
		return err
	}
	s := c.Stats()
	fmt.Printf("published %d, delivered %d\n", s.Published, s.Delivered)

	if srv != nil {
		// Topics travel in clear, since the server routes by them; the
		// payloads ({"room":…,"celsius":…}) do not.
		seen := srv.Received()
		leaked := bytes.Contains(seen, []byte("celsius"))
		fmt.Printf("the server received %d bytes; payload plaintext among them: %v\n", len(seen), leaked)
		if leaked {
			return errors.New("plaintext reached the server")
		}
	}
	return nil
}
