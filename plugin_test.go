package whispeer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// recorder is a plugin implementing every hook; its fields set how it
// behaves.
type recorder struct {
	name      string
	mu        sync.Mutex
	calls     []string
	reject    string // a topic whose publishes and subscriptions it rejects
	stamp     bool   // add a header to every message
	panics    bool
	closed    bool
	published []*whispeer.Message
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) record(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	r.record("publish " + m.Topic)
	if r.panics {
		panic("plugin bug")
	}
	r.mu.Lock()
	r.published = append(r.published, m)
	r.mu.Unlock()
	if m.Topic == r.reject {
		return nil, errors.New("not here")
	}
	if r.stamp {
		c := m.Clone()
		c.Headers, _ = whispeer.NewHeaders("stamped-by", r.name)
		return c, nil
	}
	return m, nil
}

func (r *recorder) OnSubscribe(s *whispeer.Subscription) error {
	r.record("subscribe " + s.Pattern())
	if s.Pattern() == r.reject {
		return errors.New("not here")
	}
	return nil
}

func (r *recorder) OnDeliver(s *whispeer.Subscription, m *whispeer.Message) {
	r.record("deliver " + m.Topic)
}

func (r *recorder) Close() error {
	r.closed = true
	return nil
}

var _ interface {
	whispeer.PublishHook
	whispeer.SubscribeHook
	whispeer.DeliverHook
	whispeer.Closer
} = (*recorder)(nil)

func TestPlugin_HooksInOrder(t *testing.T) {
	first, second := &recorder{name: "first", stamp: true}, &recorder{name: "second"}
	b, err := whispeer.New(whispeer.WithPlugin(first), whispeer.WithPlugin(second))
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	if _, err := b.Subscribe("a", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "x")
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	want := "subscribe a,publish a,deliver a"
	for _, r := range []*recorder{first, second} {
		if got := strings.Join(r.calls, ","); got != want {
			t.Errorf("%s saw %q, want %q", r.name, got, want)
		}
		if !r.closed {
			t.Errorf("%s not closed", r.name)
		}
	}
	if h, _ := second.published[0].Headers.Get("stamped-by"); h != "first" {
		t.Errorf("second plugin saw header %q, want the first plugin's rewrite", h)
	}
	if h, _ := c.msgs[0].Headers.Get("stamped-by"); h != "first" {
		t.Errorf("subscriber saw header %q, want the rewrite", h)
	}
}

func TestPlugin_Rejects(t *testing.T) {
	b := newBroker(t, whispeer.WithPlugin(&recorder{name: "acl", reject: "secret"}))
	err := b.Publish(context.Background(), "secret", nil)
	if !errors.Is(err, whispeer.ErrRejected) || !strings.Contains(err.Error(), "not here") {
		t.Errorf("Publish = %v, want ErrRejected with the plugin's reason", err)
	}
	if whispeer.ErrorCode(err) != whispeer.CodeForbidden {
		t.Errorf("code %v, want forbidden", whispeer.ErrorCode(err))
	}
	if _, err := b.Subscribe("secret", (&collector{}).handle); !errors.Is(err, whispeer.ErrRejected) {
		t.Errorf("Subscribe = %v, want ErrRejected", err)
	}
	if b.Stats().Topics != 0 {
		t.Errorf("a rejected publish created a topic")
	}
}

func TestPlugin_PanicIsolated(t *testing.T) {
	b := newBroker(t, whispeer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		whispeer.WithPlugin(&recorder{name: "buggy", panics: true}))
	var c collector
	if _, err := b.Subscribe("a", c.handle, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "x")
	if len(c.msgs) != 1 {
		t.Fatalf("delivered %d, want 1 despite the panicking plugin", len(c.msgs))
	}
}

func TestPlugin_RegistrationErrors(t *testing.T) {
	if _, err := whispeer.New(whispeer.WithPlugin(nil)); !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Errorf("nil plugin: %v", err)
	}
	_, err := whispeer.New(whispeer.WithPlugin(&recorder{name: "x"}), whispeer.WithPlugin(&recorder{name: "x"}))
	if !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Errorf("duplicate name: %v", err)
	}
}
