package whispeer_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
	"github.com/whispeer-io/whispeer/internal/subopt"
)

func newKeyring(t *testing.T) *envelope.Keyring {
	t.Helper()
	kr := envelope.NewKeyring()
	if _, err := kr.Generate(); err != nil {
		t.Fatal(err)
	}
	return kr
}

// rawAndPlain subscribes to pattern twice, sync: once as a transport would
// (raw) and once as an application (opened).
func rawAndPlain(t *testing.T, b *whispeer.Broker, pattern string) (raw, plain *collector) {
	t.Helper()
	raw, plain = &collector{}, &collector{}
	if _, err := b.Subscribe(pattern, raw.handle, whispeer.WithInline(), subopt.Raw); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(pattern, plain.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	return raw, plain
}

func TestEncryption_SubscribersGetPlaintext(t *testing.T) {
	b := newBroker(t, whispeer.WithEncryption(newKeyring(t)))
	raw, plain := rawAndPlain(t, b, "#")
	publish(t, b, "chat/a", "hello")
	if got := string(plain.msgs[0].Payload); got != "hello" {
		t.Fatalf("subscriber got %q, want hello", got)
	}
	env := raw.msgs[0].Payload
	h, err := envelope.ParseHeader(env)
	if err != nil || !h.Sealed() || h.AEAD != envelope.XChaCha20Poly1305 {
		t.Fatalf("raw payload header %+v, %v: want a sealed XChaCha20-Poly1305 envelope", h, err)
	}
	if plain.msgs[0].ID != raw.msgs[0].ID || plain.msgs[0].Seq != raw.msgs[0].Seq {
		t.Errorf("opened message lost its id or sequence")
	}
}

func TestEncryption_TopicOverrides(t *testing.T) {
	big := strings.Repeat("compressible ", 1000)
	b := newBroker(t,
		whispeer.WithEncryption(newKeyring(t)),
		whispeer.WithCompression(envelope.CompressZstd),
		whispeer.ForTopics("public/#", whispeer.Plaintext(), whispeer.Compress(envelope.CompressNone)),
		whispeer.ForTopics("secret/#", whispeer.Compress(envelope.CompressNone)),
		whispeer.ForTopics("fast/#", whispeer.UseAEAD(envelope.AES256GCM)),
		whispeer.ForTopics("logs/#", whispeer.Plaintext()),
	)
	tests := []struct {
		topic       string
		sealed      bool
		compression envelope.Compression
		aead        envelope.AEAD
	}{
		{"chat/a", true, envelope.CompressZstd, envelope.XChaCha20Poly1305},
		{"secret/a", true, envelope.CompressNone, envelope.XChaCha20Poly1305},
		{"fast/a", true, envelope.CompressZstd, envelope.AES256GCM},
		{"logs/a", false, envelope.CompressZstd, envelope.Unsealed},
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			raw, plain := rawAndPlain(t, b, tt.topic)
			publish(t, b, tt.topic, big)
			if string(plain.msgs[0].Payload) != big {
				t.Fatal("subscriber did not get the original payload")
			}
			h, err := envelope.ParseHeader(raw.msgs[0].Payload)
			if err != nil {
				t.Fatal(err)
			}
			if h.Sealed() != tt.sealed || h.Compression != tt.compression || h.AEAD != tt.aead {
				t.Errorf("header %+v, want sealed=%v %v %v", h, tt.sealed, tt.compression, tt.aead)
			}
		})
	}
	t.Run("public/a", func(t *testing.T) {
		raw, _ := rawAndPlain(t, b, "public/a")
		publish(t, b, "public/a", "open")
		if string(raw.msgs[0].Payload) != "open" {
			t.Errorf("plaintext topic routed %q, want the payload as published", raw.msgs[0].Payload)
		}
	})
}

func TestEncryption_SealedPayloadPassesThrough(t *testing.T) {
	b := newBroker(t, whispeer.WithEncryption(newKeyring(t)))
	raw, plain := rawAndPlain(t, b, "e2e")
	publish(t, b, "e2e", "client-sealed bytes", whispeer.WithSealedPayload())
	for _, c := range []*collector{raw, plain} {
		if got := string(c.msgs[0].Payload); got != "client-sealed bytes" {
			t.Errorf("got %q, want the payload untouched", got)
		}
	}
}

func TestEncryption_UnopenablePayloadReported(t *testing.T) {
	errs := make(chan error, 1)
	kr := newKeyring(t)
	b := newBroker(t, whispeer.WithEncryption(kr), whispeer.WithHistory(1),
		whispeer.WithErrorHandler(func(_ *whispeer.Subscription, _ *whispeer.Message, err error) { errs <- err }))
	publish(t, b, "a", "sealed under the first key")
	old := kr.Current()
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	if err := kr.Remove(old); err != nil {
		t.Fatal(err)
	}
	var c collector
	sub, err := b.Subscribe("a", c.handle, whispeer.WithInline(), whispeer.WithReplay(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, whispeer.ErrOpen) || !errors.Is(err, envelope.ErrUnknownKeyID) {
		t.Fatalf("error %v, want ErrOpen wrapping ErrUnknownKeyID", err)
	}
	publish(t, b, "a", "sealed under the new key") // the subscription goes on
	if len(c.msgs) != 1 || string(c.msgs[0].Payload) != "sealed under the new key" {
		t.Fatalf("delivered %d messages, want only the one that opens", len(c.msgs))
	}
	if st := sub.Stats(); st.Failed != 1 || st.Delivered != 1 {
		t.Errorf("stats %+v, want 1 failed and 1 delivered", st)
	}
}

func TestEncryption_InvalidOptions(t *testing.T) {
	kr := newKeyring(t)
	for name, opt := range map[string]whispeer.Option{
		"plaintext default": whispeer.WithEncryption(kr, whispeer.Plaintext()),
		"bad pattern":       whispeer.ForTopics("a/#/b", whispeer.Plaintext()),
		"bad aead":          whispeer.WithEncryption(kr, whispeer.UseAEAD(99)),
		"bad compression":   whispeer.WithCompression(99),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := whispeer.New(opt); !errors.Is(err, whispeer.ErrInvalidOption) {
				t.Fatalf("New = %v, want ErrInvalidOption", err)
			}
		})
	}
}

// snoop is a plugin that keeps every payload and header it is shown.
type snoop struct {
	mu   sync.Mutex
	seen [][]byte
}

func (s *snoop) Name() string { return "snoop" }

func (s *snoop) keep(m *whispeer.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, m.Payload)
	for k, v := range m.Headers.All() {
		s.seen = append(s.seen, []byte(k+v))
	}
}

func (s *snoop) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	s.keep(m)
	return m, nil
}

func (s *snoop) OnDeliver(_ *whispeer.Subscription, m *whispeer.Message) { s.keep(m) }

// TestEncryption_Confidentiality publishes a marker through an encrypted
// broker and looks for it in everything between the publisher and the
// subscriber: what plugins see, what the history (the broker's store)
// replays, what a transport's raw subscription forwards, and what a
// dropped message carries.
func TestEncryption_Confidentiality(t *testing.T) {
	const marker = "MARKER-7f3a9c-the-secret-payload"
	spy := &snoop{}
	var dropped [][]byte
	var mu sync.Mutex
	b := newBroker(t, whispeer.WithEncryption(newKeyring(t)), whispeer.WithCompression(envelope.CompressZstd),
		whispeer.WithHistory(10), whispeer.WithPlugin(spy),
		whispeer.WithDropHandler(func(d whispeer.Drop) {
			mu.Lock()
			dropped = append(dropped, d.Message.Payload)
			mu.Unlock()
		}))
	var transport, app collector
	if _, err := b.Subscribe("secret/#", transport.handle, whispeer.WithInline(), subopt.Raw); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe("secret/#", app.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	if _, err := b.Subscribe("secret/#", func(ctx context.Context, m *whispeer.Message) error {
		if m.Seq == 1 {
			close(started)
			<-release
		}
		return nil
	}, whispeer.WithQueueSize(1), whispeer.WithOverflow(whispeer.DropNewest)); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{marker, strings.Repeat(marker, 100), "x" + marker} {
		publish(t, b, "secret/a", p)
		if p == marker {
			<-started
		}
	}
	close(release)
	var replayed collector
	if _, err := b.Subscribe("secret/#", replayed.handle, whispeer.WithInline(), subopt.Raw, whispeer.WithReplay(10)); err != nil {
		t.Fatal(err)
	}

	if len(app.msgs) != 3 || string(app.msgs[0].Payload) != marker {
		t.Fatal("the application subscriber did not receive the plaintext")
	}
	var between [][]byte
	for _, c := range []*collector{&transport, &replayed} {
		for _, m := range c.msgs {
			between = append(between, m.Payload)
		}
	}
	spy.mu.Lock()
	between = append(between, spy.seen...)
	spy.mu.Unlock()
	mu.Lock()
	between = append(between, dropped...)
	mu.Unlock()
	if len(between) < 3*4+1 {
		t.Fatalf("looked at only %d payloads", len(between))
	}
	for i, p := range between {
		if bytes.Contains(p, []byte(marker)) || bytes.Contains(p, []byte("MARKER")) {
			t.Fatalf("payload %d seen between publisher and subscriber holds the plaintext", i)
		}
	}
}

func TestEncryption_TypedTopic(t *testing.T) {
	b := newBroker(t, whispeer.WithEncryption(newKeyring(t)))
	temps, err := whispeer.NewTopic[reading](b, "sensor/kitchen/temperature", whispeer.WithTypeEnforcement())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan reading, 1)
	if _, err := temps.Subscribe(func(_ context.Context, r reading, _ *whispeer.Message) error {
		got <- r
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	if err := temps.Publish(context.Background(), reading{"kitchen", 20}); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.Value != 20 {
		t.Fatalf("got %+v", r)
	}
}
