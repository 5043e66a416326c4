// Command plugins shows a plugin with two hooks: it stamps every message
// with a header and rejects publishes to topics under "admin/".
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/whispeer-io/whispeer"
)

// stamp is a plugin: a name, plus the hooks it implements.
type stamp struct{ node string }

func (p stamp) Name() string { return "stamp" }

// OnPublish rewrites or rejects a message before it is routed.
func (p stamp) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	if strings.HasPrefix(m.Topic, "admin/") {
		return nil, errors.New("admin topics are closed")
	}
	h, err := whispeer.NewHeaders("node", p.node)
	if err != nil {
		return nil, err
	}
	c := m.Clone()
	c.Headers = h
	return c, nil
}

// OnSubscribe sees every new subscription.
func (p stamp) OnSubscribe(s *whispeer.Subscription) error {
	fmt.Println("new subscription to", s.Pattern())
	return nil
}

var (
	_ whispeer.PublishHook   = stamp{}
	_ whispeer.SubscribeHook = stamp{}
)

func main() {
	b, err := whispeer.New(whispeer.WithPlugin(stamp{node: "eu-1"}))
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	_, err = b.Subscribe("#", func(_ context.Context, m *whispeer.Message) error {
		fmt.Printf("%s: %s (node %s)\n", m.Topic, m.Payload, node(m))
		return nil
	}, whispeer.WithInline())
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Publish(ctx, "chat", []byte("hello")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(b.Publish(ctx, "admin/reset", nil))
}

// node returns the node that stamped m.
func node(m *whispeer.Message) string {
	n, _ := m.Headers.Get("node")
	return n
}
