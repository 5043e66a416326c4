package client_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/whispeer-io/whispeer/client"
)

// TestSubscribe_Borrow delivers a stream, plain and sealed end to end, to
// a borrowing subscription, each message with a header of its own: every
// delivery must be right while its handler runs, and the clones a handler
// made must stay intact while the client reuses what it lent (TestInbox_Recycles checks that it does).
func TestSubscribe_Borrow(t *testing.T) {
	const n = 300
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			srv := newServer(t)
			var opts []client.Option
			if sealed {
				opts = append(opts, client.WithKeyring(newKeyring(t)))
			}
			pub := dial(t, srv.URL("tcp"), opts...)
			sub := dial(t, srv.URL("tcp"), opts...)
			type seen struct {
				clone *client.Message
				bad   string
			}
			got := make(chan seen, n)
			if _, err := sub.Subscribe("borrow", func(_ context.Context, m *client.Message) error {
				s := seen{clone: m.Clone()}
				if want := fmt.Sprintf("payload %03d", m.Seq-1); string(m.Payload) != want || !hasHeader(m.Headers, "n", want[8:]) {
					s.bad = fmt.Sprintf("delivery %d: payload %q, headers %v, want %q", m.Seq, m.Payload, m.Headers.Map(), want)
				}
				got <- s
				return nil
			}, client.WithBorrow()); err != nil {
				t.Fatal(err)
			}
			ctx := ctxT(t)
			for i := range n {
				h := client.WithHeaders(map[string]string{"n": fmt.Sprintf("%03d", i)})
				if err := pub.Publish(ctx, "borrow", fmt.Appendf(nil, "payload %03d", i), h); err != nil {
					t.Fatal(err)
				}
			}
			for i := range n {
				s := recv(t, got)
				if s.bad != "" {
					t.Fatal(s.bad)
				}
				if want := fmt.Sprintf("payload %03d", i); string(s.clone.Payload) != want || s.clone.Topic != "borrow" ||
					!hasHeader(s.clone.Headers, "n", want[8:]) {
					t.Fatalf("clone %d: %q on %q, headers %v, want %q on borrow", i, s.clone.Payload, s.clone.Topic, s.clone.Headers.Map(), want)
				}
			}
		})
	}
}
