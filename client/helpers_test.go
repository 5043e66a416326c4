package client_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/whispeer-io/whispeer/client"
	"github.com/whispeer-io/whispeer/client/clienttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// hang bounds every wait of these tests. It guards against a deadlock and
// is never what a test measures.
const hang = 20 * time.Second

// newServer starts a fake server that is closed when the test ends.
func newServer(t testing.TB, opts ...clienttest.Option) *clienttest.Server {
	t.Helper()
	s, err := clienttest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// newPipeServer starts a fake server on in-memory connections, for a test
// in a synctest bubble, and returns it with the option that connects a
// client to it.
func newPipeServer(t testing.TB, opts ...clienttest.Option) (*clienttest.Server, client.Option) {
	t.Helper()
	srv := newServer(t, append(opts, clienttest.WithInMemory())...)
	return srv, client.WithDialer(srv.DialContext)
}

// dial connects a client that is closed when the test ends, before the
// server. Errors go nowhere unless opts say otherwise.
func dial(t testing.TB, url string, opts ...client.Option) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	opts = append([]client.Option{client.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	c, err := client.Dial(ctx, url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// errorsTo sends the client's asynchronous errors to ch, dropping those
// that find it full.
func errorsTo(ch chan<- error) client.Option {
	return client.WithErrorHandler(func(err error) {
		select {
		case ch <- err:
		default:
		}
	})
}

// recv returns the next value from ch.
func recv[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(hang):
		t.Fatal("nothing received")
		panic("unreachable")
	}
}

// waitFor returns once the next value on ch satisfies ok.
func waitFor[T any](t testing.TB, ch <-chan T, ok func(T) bool) T {
	t.Helper()
	deadline := time.After(hang)
	for {
		select {
		case v := <-ch:
			if ok(v) {
				return v
			}
		case <-deadline:
			t.Fatal("the awaited value never came")
		}
	}
}

// collect returns a handler that sends every message to a channel.
func collect(n int) (client.Handler, chan *client.Message) {
	ch := make(chan *client.Message, n)
	return func(_ context.Context, m *client.Message) error {
		ch <- m
		return nil
	}, ch
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	t.Cleanup(cancel)
	return ctx
}

// hasHeader reports whether h gives value for key.
func hasHeader(h client.Headers, key, value string) bool {
	v, ok := h.Get(key)
	return ok && v == value
}
