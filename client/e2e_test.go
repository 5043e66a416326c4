package client_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/subopt"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

func newKeyring(t testing.TB) *envelope.Keyring {
	t.Helper()
	kr := envelope.NewKeyring()
	if _, err := kr.Generate(); err != nil {
		t.Fatal(err)
	}
	return kr
}

// countAcks returns a server option counting delivery acks into a channel.
func countAcks(acks chan<- string) clienttest.Option {
	return clienttest.WithInspect(func(f *wire.Frame) {
		if f.Type == wire.TypePubAck && f.Ack.SID != 0 {
			acks <- string(f.Ack.ID)
		}
	})
}

func TestClient_EndToEnd(t *testing.T) {
	for _, scheme := range []string{"tcp", "ws"} {
		t.Run(scheme, func(t *testing.T) {
			srv := newServer(t, clienttest.WithRecording())
			raw := make(chan *whispeer.Message, 8)
			if _, err := srv.Broker().Subscribe("secret/#", func(_ context.Context, m *whispeer.Message) error {
				raw <- m
				return nil
			}, whispeer.WithInline(), subopt.Raw); err != nil {
				t.Fatal(err)
			}
			kr := newKeyring(t)
			pub := dial(t, srv.URL(scheme), client.WithKeyring(kr))
			sub := dial(t, srv.URL(scheme), client.WithKeyring(kr))
			h, got := collect(4)
			if _, err := sub.Subscribe("secret/#", h); err != nil {
				t.Fatal(err)
			}
			const marker = "MARKER-7f3a-plaintext"
			big := strings.Repeat(marker+" and some padding that compresses; ", 100)
			ctx := ctxT(t)
			if err := pub.Publish(ctx, "secret/a", []byte(marker), client.WithHeaders(map[string]string{"k": "v"})); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, "secret/b", []byte(big), client.WithQoS(client.AtLeastOnce)); err != nil {
				t.Fatal(err)
			}
			if m := recv(t, got); m.Topic != "secret/a" || string(m.Payload) != marker || !hasHeader(m.Headers, "k", "v") || m.Envelope {
				t.Errorf("first = %+v", m)
			}
			if m := recv(t, got); m.Topic != "secret/b" || string(m.Payload) != big {
				t.Errorf("second = %q…", m.Payload[:min(len(m.Payload), 40)])
			}
			for range 2 {
				m := recv(t, raw)
				h, err := envelope.ParseHeader(m.Payload)
				if err != nil || !h.Sealed() || bytes.Contains(m.Payload, []byte(marker)) {
					t.Errorf("broker holds %q (header %+v, %v)", m.Payload, h, err)
				}
			}
			if err := pub.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if got := srv.Received(); bytes.Contains(got, []byte(marker)) || bytes.Contains(got, []byte("padding")) {
				t.Fatal("the server received plaintext")
			}
		})
	}
}

func TestClient_WrongKey(t *testing.T) {
	acks := make(chan string, 8)
	srv := newServer(t, countAcks(acks))
	right, wrong := newKeyring(t), newKeyring(t)
	errs := make(chan error, 8)
	sub := dial(t, srv.URL("tcp"), client.WithKeyring(right), errorsTo(errs))
	h, got := collect(4)
	s, err := sub.Subscribe("t", h)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t)
	intruder := dial(t, srv.URL("tcp"), client.WithKeyring(wrong))
	if err := intruder.Publish(ctx, "t", []byte("forged"), client.WithQoS(client.AtLeastOnce), client.WithID("bad")); err != nil {
		t.Fatal(err)
	}
	var de *client.DeliveryError
	err = recv(t, errs)
	if !errors.As(err, &de) || de.ID != "bad" || !errors.Is(err, whispeer.ErrOpen) || !errors.Is(err, envelope.ErrAuthFailed) {
		t.Fatalf("reported %v", err)
	}
	friend := dial(t, srv.URL("tcp"), client.WithKeyring(right))
	if err := friend.Publish(ctx, "t", []byte("genuine"), client.WithQoS(client.AtLeastOnce), client.WithID("good")); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); string(m.Payload) != "genuine" {
		t.Fatalf("delivered %q", m.Payload)
	}
	// The envelope that did not open is acknowledged, so it is not retried.
	for _, want := range []string{"bad", "good"} {
		if id := recv(t, acks); id != want {
			t.Fatalf("ack for %q, want %q", id, want)
		}
	}
	if s.Err() != nil || sub.Stats().Failed != 1 || sub.Stats().Delivered != 1 {
		t.Fatalf("subscription err %v, stats %+v", s.Err(), sub.Stats())
	}
}

func TestClient_PlaintextToKeyring(t *testing.T) {
	srv := newServer(t)
	kr := newKeyring(t)
	plain := dial(t, srv.URL("tcp"))
	ctx := ctxT(t)

	t.Run("refused", func(t *testing.T) {
		errs := make(chan error, 4)
		c := dial(t, srv.URL("tcp"), client.WithKeyring(kr), errorsTo(errs))
		if _, err := c.Subscribe("p1", func(context.Context, *client.Message) error {
			t.Error("plaintext delivered to a client with a keyring")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := plain.Publish(ctx, "p1", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if err := recv(t, errs); !errors.Is(err, envelope.ErrNotSealed) {
			t.Fatalf("reported %v", err)
		}
	})
	t.Run("accepted", func(t *testing.T) {
		c := dial(t, srv.URL("tcp"), client.WithKeyring(kr), client.WithAcceptPlaintext())
		h, got := collect(1)
		if _, err := c.Subscribe("p2", h); err != nil {
			t.Fatal(err)
		}
		if err := plain.Publish(ctx, "p2", []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, got); string(m.Payload) != "hi" {
			t.Fatalf("got %q", m.Payload)
		}
	})
	t.Run("raw", func(t *testing.T) {
		sealer := dial(t, srv.URL("tcp"), client.WithKeyring(kr))
		errs := make(chan error, 4)
		c := dial(t, srv.URL("tcp"), errorsTo(errs))
		if _, err := c.Subscribe("p3", func(context.Context, *client.Message) error {
			t.Error("sealed payload delivered to a client without the keyring")
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		h, got := collect(1)
		if _, err := c.Subscribe("p3", h, client.WithRawPayload()); err != nil {
			t.Fatal(err)
		}
		if err := sealer.Publish(ctx, "p3", []byte("secret")); err != nil {
			t.Fatal(err)
		}
		if m := recv(t, got); !m.Envelope || !envelope.IsEnvelope(m.Payload) {
			t.Fatalf("raw delivery = %+v", m)
		}
		if err := recv(t, errs); !errors.Is(err, whispeer.ErrOpen) {
			t.Fatalf("reported %v", err)
		}
	})
}

// TestClient_CompressedDeliveries has the server's broker compress large
// payloads: a client without a keyring opens the compression-only
// envelopes it receives, which is what the compression capability means.
func TestClient_CompressedDeliveries(t *testing.T) {
	b, err := whispeer.New(whispeer.WithCompression(envelope.CompressZstd))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	srv := newServer(t, clienttest.WithBroker(b))
	big := bytes.Repeat([]byte("compressible "), 400)

	c := dial(t, srv.URL("tcp"))
	h, got := collect(1)
	if _, err := c.Subscribe("z", h); err != nil {
		t.Fatal(err)
	}
	raw, rawGot := collect(1)
	if _, err := c.Subscribe("z", raw, client.WithRawPayload()); err != nil {
		t.Fatal(err)
	}
	if err := c.Publish(ctxT(t), "z", big); err != nil {
		t.Fatal(err)
	}
	if m := recv(t, got); !bytes.Equal(m.Payload, big) {
		t.Fatalf("got %d bytes, want the %d published", len(m.Payload), len(big))
	}
	if m := recv(t, rawGot); !m.Envelope || len(m.Payload) >= len(big) {
		t.Fatalf("the server did not compress: %d bytes, envelope %v", len(m.Payload), m.Envelope)
	}
}
