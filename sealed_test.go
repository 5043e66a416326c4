package whispeer_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/subopt"
	"github.com/whispeer-io/whispeer/store/memory"
)

// sealedCase is a payload and whether its publisher declares it sealed.
type sealedCase struct {
	b      []byte
	sealed bool
}

// sealedCases returns random payloads, half of them beginning like an
// envelope (C1 57 01 …), each declared sealed or not at random.
func sealedCases(rng *rand.Rand) []sealedCase {
	out := []sealedCase{
		{b: []byte{0xc1, 0x57, 0x01, 0x5f, 0x00, 0x68, 0x69}},
		{b: []byte{0xc1, 0x57, 0x01, 0x00, 0x00, 0x68, 0x69}},
		{b: []byte{0xc1, 0x57, 0x01, 0x00, 0x00, 0x68, 0x69}, sealed: true},
		{b: []byte{}},
	}
	for i := range 60 {
		b := make([]byte, rng.IntN(300))
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		if i%2 == 0 {
			b = append([]byte{0xc1, 0x57, 0x01}, b...)
		}
		out = append(out, sealedCase{b: b, sealed: rng.IntN(2) == 0})
	}
	return out
}

// brokerKinds are the brokers a payload goes through: with its history in
// memory, and with each store.
var brokerKinds = map[string]func(t *testing.T, opts ...whispeer.Option) *whispeer.Broker{
	"history": func(t *testing.T, opts ...whispeer.Option) *whispeer.Broker {
		return newBroker(t, append(opts, whispeer.WithHistory(1000))...)
	},
	"memory store": func(t *testing.T, opts ...whispeer.Option) *whispeer.Broker {
		return newBroker(t, append(opts, whispeer.WithStore(memory.New()))...)
	},
	"file store": func(t *testing.T, opts ...whispeer.Option) *whispeer.Broker {
		return newBroker(t, append(opts, whispeer.WithStore(durableStores["file"](t, t.TempDir())))...)
	},
	"sqlite store": func(t *testing.T, opts ...whispeer.Option) *whispeer.Broker {
		return newBroker(t, append(opts, whispeer.WithStore(durableStores["sqlite"](t, t.TempDir())))...)
	},
}

// TestMessage_SealedIsDeclared publishes random payloads, some beginning
// like an envelope, each declared sealed or not, and checks that every
// subscriber, raw or not, live or replayed, receives the bytes published
// with Sealed as declared: whether a payload is an envelope is never read
// from its bytes.
func TestMessage_SealedIsDeclared(t *testing.T) {
	for name, newB := range brokerKinds {
		t.Run(name, func(t *testing.T) {
			cases := sealedCases(rand.New(rand.NewPCG(3, 4)))
			b := newB(t)
			raw, plain := rawAndPlain(t, b, "bin")
			for _, c := range cases {
				var opts []whispeer.PublishOption
				if c.sealed {
					opts = append(opts, whispeer.WithSealedPayload())
				}
				publish(t, b, "bin", string(c.b), opts...)
			}
			replayed := replay(t, b, "bin", len(cases), subopt.Raw)
			for what, got := range map[string]*collector{"raw": raw, "plain": plain, "replayed": replayed} {
				for i, m := range got.msgs {
					c := cases[i]
					if !bytes.Equal(m.Payload, c.b) || m.Sealed != c.sealed {
						t.Fatalf("%s %d: got %x sealed %t, want %x sealed %t", what, i, m.Payload, m.Sealed, c.b, c.sealed)
					}
				}
				if len(got.msgs) != len(cases) {
					t.Fatalf("%s: %d messages, want %d", what, len(got.msgs), len(cases))
				}
			}
		})
	}
}

// TestMessage_SealedByTheBroker checks the broker's own envelopes: a raw
// subscriber gets them flagged Sealed, the others the payload as published
// and not Sealed, live and replayed, though it begins like an envelope.
func TestMessage_SealedByTheBroker(t *testing.T) {
	for name, newB := range brokerKinds {
		t.Run(name, func(t *testing.T) {
			b := newB(t, whispeer.WithEncryption(newKeyring(t)))
			raw, plain := rawAndPlain(t, b, "bin")
			var cases []sealedCase
			for _, c := range sealedCases(rand.New(rand.NewPCG(5, 6))) {
				if !c.sealed {
					cases = append(cases, c)
					publish(t, b, "bin", string(c.b))
				}
			}
			check := func(what string, got *collector, sealed bool) {
				t.Helper()
				if len(got.msgs) != len(cases) {
					t.Fatalf("%s: %d messages, want %d", what, len(got.msgs), len(cases))
				}
				for i, m := range got.msgs {
					opened := !bytes.Equal(m.Payload, cases[i].b)
					if m.Sealed != sealed || opened != sealed {
						t.Fatalf("%s %d: got %x sealed %t from %x", what, i, m.Payload, m.Sealed, cases[i].b)
					}
				}
			}
			check("raw", raw, true)
			check("plain", plain, false)
			check("replayed raw", replay(t, b, "bin", len(cases), subopt.Raw), true)
			check("replayed", replay(t, b, "bin", len(cases)), false)
		})
	}
}

// replay returns the last n messages of topic that a new sync
// subscription made with opts receives.
func replay(t *testing.T, b *whispeer.Broker, topic string, n int, opts ...whispeer.SubscribeOption) *collector {
	t.Helper()
	var c collector
	s, err := b.Subscribe(topic, func(ctx context.Context, m *whispeer.Message) error {
		return c.handle(ctx, m.Clone())
	}, append(opts, whispeer.WithInline(), whispeer.WithReplay(n))...)
	if err != nil {
		t.Fatal(fmt.Errorf("subscribe: %w", err))
	}
	s.Unsubscribe()
	return &c
}
