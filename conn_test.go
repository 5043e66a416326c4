package whispeer_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// connRecorder implements the connection, drop and provisioning hooks.
type connRecorder struct {
	name    string
	reject  string // a user, or a remote address, to refuse
	panics  bool
	provErr error

	mu       sync.Mutex
	calls    []string
	drops    []whispeer.Drop
	rejects  []string
	acked    chan string
	provided *whispeer.Broker
}

func (r *connRecorder) Name() string { return r.name }

func (r *connRecorder) record(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *connRecorder) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.calls, ",")
}

func (r *connRecorder) Provision(b *whispeer.Broker) error {
	r.provided = b
	return r.provErr
}

func (r *connRecorder) OnConnect(c whispeer.ConnInfo) error {
	r.record("connect " + c.ID + " " + c.RemoteAddr + " " + c.Transport)
	if r.panics {
		panic("plugin bug")
	}
	if c.RemoteAddr == r.reject {
		return errors.New("banned address")
	}
	return nil
}

func (r *connRecorder) OnAuthenticate(c whispeer.ConnInfo) error {
	r.record("auth " + c.ID + " " + c.User)
	if c.User == r.reject {
		return errors.New("banned user")
	}
	return nil
}

func (r *connRecorder) OnAck(c whispeer.ConnInfo, id string) {
	r.record("ack " + c.ID + " " + id)
	if r.acked != nil {
		r.acked <- id
	}
}

func (r *connRecorder) OnDisconnect(c whispeer.ConnInfo, err error) {
	r.record("disconnect " + c.ID + " " + err.Error())
	if r.panics {
		panic("plugin bug")
	}
}

func (r *connRecorder) OnReject(x whispeer.Rejection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejects = append(r.rejects, x.Op+" "+x.Plugin+" "+x.Conn.ID+" "+x.Topic+": "+x.Err.Error())
}

func (r *connRecorder) OnDrop(d whispeer.Drop) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drops = append(r.drops, d)
}

var _ interface {
	whispeer.Provisioner
	whispeer.ConnectHook
	whispeer.AuthHook
	whispeer.AckHook
	whispeer.DisconnectHook
	whispeer.DropHook
	whispeer.RejectHook
} = (*connRecorder)(nil)

func TestPlugin_ConnectionHooks(t *testing.T) {
	first, second := &connRecorder{name: "first"}, &connRecorder{name: "second", reject: "mallory"}
	b := newBroker(t, whispeer.WithPlugin(first), whispeer.WithPlugin(second))
	if !b.HasConnHooks() {
		t.Fatal("HasConnHooks = false with connection hooks registered")
	}
	c := whispeer.ConnInfo{ID: "ws:1", RemoteAddr: "10.0.0.1:5000", Transport: "ws"}
	if err := b.Connected(c); err != nil {
		t.Fatalf("Connected: %v", err)
	}
	c.User = "alice"
	if err := b.Authenticated(c); err != nil {
		t.Fatalf("Authenticated: %v", err)
	}
	b.Acked(c, "m1")
	b.Disconnected(c, io.EOF)

	mallory := whispeer.ConnInfo{ID: "ws:2", User: "mallory"}
	err := b.Authenticated(mallory)
	if !errors.Is(err, whispeer.ErrRejected) || !strings.Contains(err.Error(), "second: banned user") {
		t.Errorf("Authenticated(mallory) = %v, want ErrRejected by second with its reason", err)
	}
	want := "connect ws:1 10.0.0.1:5000 ws,auth ws:1 alice,ack ws:1 m1,disconnect ws:1 EOF,auth ws:2 mallory"
	for _, r := range []*connRecorder{first, second} {
		if got := r.got(); got != want {
			t.Errorf("%s saw %q, want %q", r.name, got, want)
		}
		if r.provided != b {
			t.Errorf("%s was not provisioned with the broker", r.name)
		}
	}
}

func TestPlugin_RejectHook(t *testing.T) {
	watcher := &connRecorder{name: "watcher"}
	acl := &recorder{name: "acl", reject: "secret"}
	b := newBroker(t, whispeer.WithPlugin(watcher), whispeer.WithPlugin(acl))
	from := whispeer.WithPublisher(connPublisher{ID: "ws:4"})
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
}

func TestPlugin_ConnectRejectStopsLaterPlugins(t *testing.T) {
	first, second := &connRecorder{name: "first", reject: "10.0.0.9:1"}, &connRecorder{name: "second"}
	b := newBroker(t, whispeer.WithPlugin(first), whispeer.WithPlugin(second))
	err := b.Connected(whispeer.ConnInfo{ID: "tcp:1", RemoteAddr: "10.0.0.9:1"})
	if !errors.Is(err, whispeer.ErrRejected) || whispeer.ErrorCode(err) != whispeer.CodeForbidden {
		t.Fatalf("Connected = %v, want ErrRejected (forbidden)", err)
	}
	if got := second.got(); got != "" {
		t.Errorf("second plugin saw %q after the first rejected", got)
	}
	want := []string{"connect first tcp:1 : banned address"}
	for _, r := range []*connRecorder{first, second} {
		if !slices.Equal(r.rejects, want) {
			t.Errorf("%s saw rejections %q, want %q", r.name, r.rejects, want)
		}
	}
}

func TestPlugin_ConnectionHookPanicIsolated(t *testing.T) {
	buggy, next := &connRecorder{name: "buggy", panics: true}, &connRecorder{name: "next"}
	b := newBroker(t, whispeer.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		whispeer.WithPlugin(buggy), whispeer.WithPlugin(next))
	c := whispeer.ConnInfo{ID: "ws:1", RemoteAddr: "10.0.0.1:1", Transport: "ws"}
	if err := b.Connected(c); err != nil {
		t.Fatalf("Connected = %v, want nil despite the panic", err)
	}
	b.Disconnected(c, io.EOF)
	if got, want := next.got(), "connect ws:1 10.0.0.1:1 ws,disconnect ws:1 EOF"; got != want {
		t.Errorf("next saw %q, want %q", got, want)
	}
}

func TestPlugin_NoConnHooks(t *testing.T) {
	b := newBroker(t, whispeer.WithPlugin(&recorder{name: "r"}))
	if b.HasConnHooks() {
		t.Error("HasConnHooks = true without connection hooks")
	}
	if err := b.Connected(whispeer.ConnInfo{}); err != nil {
		t.Errorf("Connected = %v", err)
	}
}

func TestPlugin_AckHookForAsyncHandler(t *testing.T) {
	r := &connRecorder{name: "acks", acked: make(chan string, 2)}
	b := newBroker(t, whispeer.WithPlugin(r))
	ch := make(chan *whispeer.Message, 2)
	if _, err := b.Subscribe("a", chanHandler(ch), whispeer.WithSubscriber("worker")); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "a", "fire and forget")
	publish(t, b, "a", "x", whispeer.WithQoS(whispeer.AtLeastOnce), whispeer.WithID("m2"))
	if id := <-r.acked; id != "m2" {
		t.Fatalf("acked %q, want m2", id)
	}
	if got := r.got(); got != "ack worker m2" {
		t.Errorf("saw %q, want one ack of the QoS 1 message only", got)
	}
}

func TestPlugin_DropHook(t *testing.T) {
	r := &connRecorder{name: "drops"}
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
	bad := &connRecorder{name: "bad", provErr: errors.New("no database")}
	closer := &recorder{name: "closer"}
	_, err := whispeer.New(whispeer.WithPlugin(closer), whispeer.WithPlugin(bad))
	if err == nil || !strings.Contains(err.Error(), "provision plugin bad: no database") {
		t.Fatalf("New = %v, want the provisioning error", err)
	}
	if !closer.closed {
		t.Error("plugins not closed after a failed provisioning")
	}
}

// TestPublisherConn checks how a publish hook learns which connection
// published: from the message's publisher, and only from one that is a
// connection.
func TestPublisherConn(t *testing.T) {
	c := whispeer.ConnInfo{ID: "ws:3", User: "bob"}
	seen := make(chan [2]any, 3)
	hook := &publishSpy{seen: seen}
	b := newBroker(t, whispeer.WithPlugin(hook))
	for _, opt := range []whispeer.PublishOption{whispeer.WithPublisher(connPublisher(c)), whispeer.WithPublisher(idPublisher("lib")), whispeer.WithQoS(0)} {
		if err := b.Publish(context.Background(), "t", nil, opt); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range [][2]any{{c, true}, {whispeer.ConnInfo{}, false}, {whispeer.ConnInfo{}, false}} {
		if got := <-seen; got != want {
			t.Errorf("PublisherConn = %v, want %v", got, want)
		}
	}
}

// publishSpy reports what PublisherConn says of each message published.
type publishSpy struct{ seen chan [2]any }

func (*publishSpy) Name() string { return "spy" }
func (p *publishSpy) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	c, ok := whispeer.PublisherConn(m)
	p.seen <- [2]any{c, ok}
	return m, nil
}

// idPublisher is a publisher that is not a connection.
type idPublisher string

func (p idPublisher) PublisherID() string { return string(p) }

func TestConnInfo_LogValue(t *testing.T) {
	var sb strings.Builder
	l := slog.New(slog.NewTextHandler(&sb, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	l.Info("x", "conn", whispeer.ConnInfo{ID: "ws:1", Transport: "ws"})
	if got, want := sb.String(), "level=INFO msg=x conn.id=ws:1 conn.transport=ws\n"; got != want {
		t.Errorf("logged %q, want %q", got, want)
	}
}

func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
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

// connPublisher is a server's connection as a publisher.
type connPublisher whispeer.ConnInfo

func (c connPublisher) PublisherID() string         { return c.ID }
func (c connPublisher) ConnInfo() whispeer.ConnInfo { return whispeer.ConnInfo(c) }
