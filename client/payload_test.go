package client_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/whispeer-io/whispeer/client"
)

// TestServer_PlaintextLikeAnEnvelope publishes plaintext payloads that
// begin like an envelope (C1 57 01 …) and random ones through whispeer's
// server, and checks that subscribers receive them byte for byte and not
// flagged as envelopes: a client without a keyring, one with a keyring
// that accepts plaintext, and a raw one. Sealed payloads of a client with
// the keyring still reach the raw subscriber flagged, and the others
// opened.
func TestServer_PlaintextLikeAnEnvelope(t *testing.T) {
	urls := startReal(t, nil, "", "").urls
	rng := rand.New(rand.NewPCG(7, 8))
	payloads := [][]byte{
		{0xc1, 0x57, 0x01, 0x5f, 0x00, 'h', 'i'}, // compression id 95
		{0xc1, 0x57, 0x01, 0x00, 0x00, 'h', 'i'}, // a compression-only header
		{0xc1, 0x57, 0x01, 0x00, 0x01, 0, 0, 0, 1},
	}
	for range 20 {
		b := make([]byte, 5+rng.IntN(200))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		payloads = append(payloads, append([]byte{0xc1, 0x57, 0x01}, b...), b)
	}
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			kr := newKeyring(t)
			creds := client.WithCredentials("admin", "password")
			plainSub := dial(t, urls[scheme], creds)
			keySub := dial(t, urls[scheme], creds, client.WithKeyring(kr), client.WithAcceptPlaintext())
			rawSub := dial(t, urls[scheme], creds)
			subs := map[string]<-chan *client.Message{}
			for name, c := range map[string]*client.Client{"no keyring": plainSub, "keyring": keySub, "raw": rawSub} {
				h, got := collect(2 * len(payloads))
				var opts []client.SubscribeOption
				if name == "raw" {
					opts = append(opts, client.WithRawPayload())
				}
				if _, err := c.Subscribe("bin/"+scheme, h, opts...); err != nil {
					t.Fatal(err)
				}
				subs[name] = got
			}
			pub := dial(t, urls[scheme], creds)
			ctx := ctxT(t)
			for _, p := range payloads {
				if err := pub.Publish(ctx, "bin/"+scheme, p, client.WithQoS(client.AtLeastOnce)); err != nil {
					t.Fatal(err)
				}
			}
			for name, got := range subs {
				for i, p := range payloads {
					if m := recv(t, got); !bytes.Equal(m.Payload, p) || m.Envelope {
						t.Fatalf("%s, payload %d: got %x envelope %t, want %x", name, i, m.Payload, m.Envelope, p)
					}
				}
			}

			sealer := dial(t, urls[scheme], creds, client.WithKeyring(kr))
			if err := sealer.Publish(ctx, "bin/"+scheme, payloads[0], client.WithQoS(client.AtLeastOnce)); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, subs["keyring"]); !bytes.Equal(m.Payload, payloads[0]) || m.Envelope {
				t.Fatalf("keyring: got %x envelope %t, want %x opened", m.Payload, m.Envelope, payloads[0])
			}
			if m := recv(t, subs["raw"]); bytes.Equal(m.Payload, payloads[0]) || !m.Envelope {
				t.Fatalf("raw: got %x envelope %t, want the envelope", m.Payload, m.Envelope)
			}
		})
	}
}
