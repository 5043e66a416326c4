package hook_test

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
	"github.com/whispeer-io/whispeer/hook"
)

// recorder implements every connection hook and the reject hook.
type recorder struct {
	name   string
	reject string // a user, or a remote address, to refuse
	panics bool

	mu      sync.Mutex
	calls   []string
	rejects []string
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) record(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, s)
}

func (r *recorder) got() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.calls, ",")
}

func (r *recorder) OnConnect(c hook.Conn) error {
	r.record("connect " + c.ID + " " + c.RemoteAddr + " " + c.Transport)
	if r.panics {
		panic("plugin bug")
	}
	if c.RemoteAddr == r.reject {
		return errors.New("banned address")
	}
	return nil
}

func (r *recorder) OnAuthenticate(c hook.Conn) error {
	r.record("auth " + c.ID + " " + c.User)
	if c.User == r.reject {
		return errors.New("banned user")
	}
	return nil
}

func (r *recorder) OnAck(c hook.Conn, id string) { r.record("ack " + c.ID + " " + id) }

func (r *recorder) OnDisconnect(c hook.Conn, err error) {
	r.record("disconnect " + c.ID + " " + err.Error())
	if r.panics {
		panic("plugin bug")
	}
}

func (r *recorder) OnReject(x whispeer.Rejection) {
	c, _ := hook.PublisherConn(x.Publisher)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejects = append(r.rejects, x.Op+" "+x.Plugin+" "+x.ID+" "+c.RemoteAddr+": "+x.Err.Error())
}

var _ interface {
	hook.Connect
	hook.Auth
	hook.Ack
	hook.Disconnect
	whispeer.RejectHook
} = (*recorder)(nil)

// hooksOf builds a broker with plugins and the hook set a server would.
func hooksOf(t *testing.T, plugins ...whispeer.Plugin) *hook.Set {
	t.Helper()
	var opts []whispeer.Option
	for _, p := range plugins {
		opts = append(opts, whispeer.WithPlugin(p))
	}
	b, err := whispeer.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return hook.NewSet(b.Plugins(), slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func TestSet_RunsEveryHook(t *testing.T) {
	first, second := &recorder{name: "first"}, &recorder{name: "second", reject: "mallory"}
	s := hooksOf(t, first, second)
	if !s.Any() {
		t.Fatal("Any = false with connection hooks registered")
	}
	c := hook.Conn{ID: "ws:1", RemoteAddr: "10.0.0.1:5000", Transport: "ws"}
	if err := s.Connected(c); err != nil {
		t.Fatalf("Connected: %v", err)
	}
	c.User = "alice"
	if err := s.Authenticated(c); err != nil {
		t.Fatalf("Authenticated: %v", err)
	}
	s.Acked(c, "m1")
	s.Disconnected(c, io.EOF)

	mallory := hook.Conn{ID: "ws:2", User: "mallory"}
	err := s.Authenticated(mallory)
	if !errors.Is(err, whispeer.ErrRejected) || !strings.Contains(err.Error(), "second: banned user") {
		t.Errorf("Authenticated(mallory) = %v, want ErrRejected by second with its reason", err)
	}
	want := "connect ws:1 10.0.0.1:5000 ws,auth ws:1 alice,ack ws:1 m1,disconnect ws:1 EOF,auth ws:2 mallory"
	for _, r := range []*recorder{first, second} {
		if got := r.got(); got != want {
			t.Errorf("%s saw %q, want %q", r.name, got, want)
		}
	}
}

func TestSet_ConnectRejectStopsLaterPlugins(t *testing.T) {
	first, second := &recorder{name: "first", reject: "10.0.0.9:1"}, &recorder{name: "second"}
	s := hooksOf(t, first, second)
	err := s.Connected(hook.Conn{ID: "tcp:1", RemoteAddr: "10.0.0.9:1"})
	if !errors.Is(err, whispeer.ErrRejected) || whispeer.ErrorCode(err) != whispeer.CodeForbidden {
		t.Fatalf("Connected = %v, want ErrRejected (forbidden)", err)
	}
	if got := second.got(); got != "" {
		t.Errorf("second plugin saw %q after the first rejected", got)
	}
	want := []string{"connect first tcp:1 10.0.0.9:1: banned address"}
	for _, r := range []*recorder{first, second} {
		if !slices.Equal(r.rejects, want) {
			t.Errorf("%s saw rejections %q, want %q", r.name, r.rejects, want)
		}
	}
}

func TestSet_PanicIsolated(t *testing.T) {
	buggy, next := &recorder{name: "buggy", panics: true}, &recorder{name: "next"}
	s := hooksOf(t, buggy, next)
	c := hook.Conn{ID: "ws:1", RemoteAddr: "10.0.0.1:1", Transport: "ws"}
	if err := s.Connected(c); err != nil {
		t.Fatalf("Connected = %v, want nil despite the panic", err)
	}
	s.Disconnected(c, io.EOF)
	if got, want := next.got(), "connect ws:1 10.0.0.1:1 ws,disconnect ws:1 EOF"; got != want {
		t.Errorf("next saw %q, want %q", got, want)
	}
}

// named is a plugin with no connection hook.
type named string

func (n named) Name() string { return string(n) }

func TestSet_NoHooks(t *testing.T) {
	s := hooksOf(t, named("other"))
	if s.Any() {
		t.Error("Any = true without connection hooks")
	}
	if err := s.Connected(hook.Conn{}); err != nil {
		t.Errorf("Connected = %v", err)
	}
}

// TestPublisherConn checks how a publish hook learns which connection
// published: from the message's publisher, and only from one that is a
// connection.
func TestPublisherConn(t *testing.T) {
	c := hook.Conn{ID: "ws:3", User: "bob"}
	seen := make(chan [2]any, 3)
	b, err := whispeer.New(whispeer.WithPlugin(&publishSpy{seen: seen}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, opt := range []whispeer.PublishOption{whispeer.WithPublisher(c), whispeer.WithPublisher(idPublisher("lib")), whispeer.WithQoS(0)} {
		if err := b.Publish(context.Background(), "t", nil, opt); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range [][2]any{{c, true}, {hook.Conn{}, false}, {hook.Conn{}, false}} {
		if got := <-seen; got != want {
			t.Errorf("PublisherConn = %v, want %v", got, want)
		}
	}
}

// publishSpy reports what PublisherConn says of each message published.
type publishSpy struct{ seen chan [2]any }

func (*publishSpy) Name() string { return "spy" }
func (p *publishSpy) OnPublish(_ context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	c, ok := hook.PublisherConn(m.Publisher())
	p.seen <- [2]any{c, ok}
	return m, nil
}

// idPublisher is a publisher that is not a connection.
type idPublisher string

func (p idPublisher) PublisherID() string { return string(p) }

func TestConn_LogValue(t *testing.T) {
	var sb strings.Builder
	l := slog.New(slog.NewTextHandler(&sb, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	l.Info("x", "conn", hook.Conn{ID: "ws:1", Transport: "ws"})
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
