package whispeer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// hookRecorder implements the drop, reject and provisioning hooks.
type hookRecorder struct {
	name    string
	provErr error

	mu       sync.Mutex
	drops    []whispeer.Drop
	rejects  []string
	from     []whispeer.Publisher // the rejections' publishers
	provided *whispeer.Broker
}

func (r *hookRecorder) Name() string { return r.name }

func (r *hookRecorder) Provision(b *whispeer.Broker) error {
	r.provided = b
	return r.provErr
}

func (r *hookRecorder) OnReject(x whispeer.Rejection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejects = append(r.rejects, x.Op+" "+x.Plugin+" "+x.ID+" "+x.Topic+": "+x.Err.Error())
	r.from = append(r.from, x.Publisher)
}

func (r *hookRecorder) OnDrop(d whispeer.Drop) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drops = append(r.drops, d)
}

var _ interface {
	whispeer.Provisioner
	whispeer.DropHook
	whispeer.RejectHook
} = (*hookRecorder)(nil)

func TestPlugin_RejectHook(t *testing.T) {
	watcher := &hookRecorder{name: "watcher"}
	acl := &recorder{name: "acl", reject: "secret"}
	b := newBroker(t, whispeer.WithPlugin(watcher), whispeer.WithPlugin(acl))
	from := whispeer.WithPublisher(idPublisher("ws:4"))
	if err := b.Publish(context.Background(), "secret", nil, from); !errors.Is(err, whispeer.ErrRejected) {
		t.Fatalf("Publish = %v, want ErrRejected", err)
	}
	_, err := b.Subscribe("secret", (&collector{}).handle, whispeer.WithSubscriber("ws:5"))
	if !errors.Is(err, whispeer.ErrRejected) {
		t.Fatalf("Subscribe = %v, want ErrRejected", err)
	}
	want := []string{"publish acl ws:4 secret: not here", "subscribe acl ws:5 secret: not here"}
	if !slices.Equal(watcher.rejects, want) {
		t.Errorf("rejections %q, want %q", watcher.rejects, want)
	}
	if want := []whispeer.Publisher{idPublisher("ws:4"), nil}; !slices.Equal(watcher.from, want) {
		t.Errorf("rejections' publishers %v, want %v", watcher.from, want)
	}
}

func TestBroker_Plugins(t *testing.T) {
	first, second := &hookRecorder{name: "first"}, &recorder{name: "second"}
	b := newBroker(t, whispeer.WithPlugin(first), whispeer.WithPlugin(second))
	got := b.Plugins()
	if len(got) != 2 || got[0] != first || got[1] != second {
		t.Fatalf("Plugins = %v, want first and second in registration order", got)
	}
	got[0] = nil
	if b.Plugins()[0] != first {
		t.Error("changing the slice Plugins returned changed the broker's plugins")
	}
}

func TestPlugin_DropHook(t *testing.T) {
	r := &hookRecorder{name: "drops"}
	b := newBroker(t, whispeer.WithPlugin(r))
	block := make(chan struct{})
	defer close(block)
	started := make(chan struct{})
	var once sync.Once
	_, err := b.Subscribe("a", func(ctx context.Context, _ *whispeer.Message) error {
		once.Do(func() { close(started) })
		select {
		case <-block:
		case <-ctx.Done():
		}
		return nil
	}, whispeer.WithQueueSize(1), whispeer.WithOverflow(whispeer.DropNewest))
	if err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "1") // taken by the handler, which blocks
	<-started
	publish(t, b, "a", "2") // queued
	publish(t, b, "a", "3") // dropped
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.drops) != 1 || r.drops[0].Reason != whispeer.DropQueueFull || string(r.drops[0].Message.Payload) != "3" {
		t.Fatalf("drops = %+v, want message 3 dropped for queue_full", r.drops)
	}
}

func TestPlugin_ProvisionError(t *testing.T) {
	bad := &hookRecorder{name: "bad", provErr: errors.New("no database")}
	closer := &recorder{name: "closer"}
	_, err := whispeer.New(whispeer.WithPlugin(closer), whispeer.WithPlugin(bad))
	if err == nil || !strings.Contains(err.Error(), "provision plugin bad: no database") {
		t.Fatalf("New = %v, want the provisioning error", err)
	}
	if !closer.closed {
		t.Error("plugins not closed after a failed provisioning")
	}
}

func TestBroker_Topics(t *testing.T) {
	b := newBroker(t, whispeer.WithHistory(2))
	for _, p := range []string{"chat/#", "chat/a", "news"} {
		if _, err := b.Subscribe(p, (&collector{}).handle, whispeer.WithInline()); err != nil {
			t.Fatal(err)
		}
	}
	for _, topic := range []string{"chat/a", "chat/a", "chat/a", "chat/b", "news"} {
		publish(t, b, topic, "x")
	}
	got, err := b.Topics("#", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []whispeer.TopicStats{
		{Name: "chat/a", Seq: 3, Messages: 3, Retained: 2, Subscribers: 2},
		{Name: "chat/b", Seq: 1, Messages: 1, Retained: 1, Subscribers: 1},
		{Name: "news", Seq: 1, Messages: 1, Retained: 1, Subscribers: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Topics(#) = %+v, want %+v", got, want)
	}
	got, _ = b.Topics("chat/+", 1)
	if !slices.Equal(got, want[:1]) {
		t.Errorf("Topics(chat/+, 1) = %+v, want %+v", got, want[:1])
	}
	if _, err := b.Topics("a/#/b", 0); !errors.Is(err, whispeer.ErrInvalidPattern) {
		t.Errorf("Topics(a/#/b) = %v, want ErrInvalidPattern", err)
	}
}

// idPublisher is a publisher known by its id.
type idPublisher string

func (p idPublisher) PublisherID() string { return string(p) }
