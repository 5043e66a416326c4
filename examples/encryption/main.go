// Command encryption seals payloads per topic: subscribers read plaintext,
// while a transport's view of the same message (what a plugin's deliver
// hook sees) holds only the envelope. Public topics stay plaintext, and a topic that mixes
// secrets with attacker-chosen text turns compression off.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
)

// wiretap is a plugin that sees each message as it is routed and as a
// transport forwards it.
type wiretap struct{ show func(*whispeer.Message) }

func (wiretap) Name() string { return "wiretap" }

func (w wiretap) OnDeliver(_ *whispeer.Subscription, m *whispeer.Message) { w.show(m) }

func main() {
	keys := envelope.NewKeyring()
	if _, err := keys.Generate(); err != nil {
		log.Fatal(err)
	}
	show := func(view string) func(*whispeer.Message) {
		return func(m *whispeer.Message) {
			if h, err := envelope.ParseHeader(m.Payload); err == nil && h.Sealed() {
				fmt.Printf("%-11s %-12s %d-byte envelope (%v, key %d)\n", view, m.Topic, len(m.Payload), h.AEAD, h.KeyID)
				return
			}
			fmt.Printf("%-11s %-12s %q\n", view, m.Topic, m.Payload)
		}
	}
	b, err := whispeer.New(
		whispeer.WithPlugin(wiretap{show: show("transport")}),
		whispeer.WithEncryption(keys),
		whispeer.WithCompression(envelope.CompressZstd),
		whispeer.ForTopics("public/#", whispeer.Plaintext()),
		whispeer.ForTopics("mail/#", whispeer.Compress(envelope.CompressNone)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	subscriber := show("subscriber")
	if _, err := b.Subscribe("#", func(_ context.Context, m *whispeer.Message) error {
		subscriber(m)
		return nil
	}, whispeer.WithInline()); err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	for _, topic := range []string{"chat/lobby", "public/news", "mail/alice"} {
		if err := b.Publish(ctx, topic, []byte("hello from "+topic)); err != nil {
			log.Fatal(err)
		}
	}

	// Rotation: new messages use the new key; older ones still open.
	if _, err := keys.Rotate(); err != nil {
		log.Fatal(err)
	}
	if err := b.Publish(ctx, "chat/lobby", []byte("after rotation")); err != nil {
		log.Fatal(err)
	}
}
