package whispeer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/subopt"
)

// TestBorrow_KeepersGetLastingCopies publishes, naming its publisher, a
// payload and headers in reused buffers, to a borrowing sync handler alongside every kind of
// holder that outlives a publish: a sync handler that does not borrow, an
// async subscription, the history, and clones the borrower made. Each must
// still see its own message intact after later publishes reused the
// borrowed ones.
func TestBorrow_KeepersGetLastingCopies(t *testing.T) {
	const n = 200
	b, err := whispeer.New(whispeer.WithHistory(n))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var borrowed, cloned, kept []*whispeer.Message
	var seen []string
	subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
		seen = append(seen, string(m.Payload)+"/"+m.ID+"/"+string(m.Headers.Encoded()))
		borrowed = append(borrowed, m)
		if len(cloned) < n/2 {
			cloned = append(cloned, m.Clone())
		}
		return nil
	}, whispeer.WithInline(), subopt.Borrow)
	subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
		kept = append(kept, m)
		return nil
	}, whispeer.WithInline())
	async := make(chan *whispeer.Message, n)
	subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
		async <- m
		return nil
	}, whispeer.WithQueueSize(n))

	buf, hbuf := make([]byte, 0, 64), make([]byte, 0, 64)
	ctx := context.Background()
	for i := range n {
		buf = fmt.Appendf(buf[:0], "payload %03d", i)
		h, err := whispeer.NewHeaders("i", fmt.Sprintf("%03d", i), "k", "v")
		if err != nil {
			t.Fatal(err)
		}
		hbuf = append(hbuf[:0], h.Encoded()...)
		if h, err = whispeer.DecodeHeaders(hbuf); err != nil {
			t.Fatal(err)
		}
		m := &whispeer.Message{Topic: "t", Payload: buf, Headers: h}
		if err := b.PublishMessage(ctx, m, whispeer.PublisherName("p"), nil); err != nil {
			t.Fatal(err)
		}
		if m.Seq != 0 || !m.Time.IsZero() || m.ID != "" {
			t.Fatalf("the broker changed the message it was given: %+v", m)
		}
	}
	if len(borrowed) != n || len(kept) != n {
		t.Fatalf("the sync handlers got %d and %d messages, want %d", len(borrowed), len(kept), n)
	}
	reused := 0
	for i := 1; i < n; i++ {
		if borrowed[i] == borrowed[i-1] {
			reused++
		}
	}
	if reused == 0 {
		t.Error("no borrowed message was reused: borrowing lent nothing")
	}
	check := func(what string, msgs []*whispeer.Message) {
		t.Helper()
		for i, m := range msgs {
			want, wantI := fmt.Sprintf("payload %03d", i), fmt.Sprintf("%03d", i)
			got := string(m.Payload) + "/" + m.ID + "/" + string(m.Headers.Encoded())
			if hi, _ := m.Headers.Get("i"); string(m.Payload) != want || hi != wantI || got != seen[i] {
				t.Fatalf("%s %d: %q after later publishes, want %q", what, i, got, seen[i])
			}
		}
	}
	check("clone", cloned)
	check("kept message", kept)
	var fromQueue []*whispeer.Message
	for range n {
		fromQueue = append(fromQueue, <-async)
	}
	check("async delivery", fromQueue)

	var replayed []*whispeer.Message
	subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
		replayed = append(replayed, m)
		return nil
	}, whispeer.WithInline(), whispeer.WithReplay(n))
	check("replayed message", replayed)
}

// TestBorrow_NeedsSync checks that an async subscription cannot
// borrow: its handler runs after the publish has returned.
func TestBorrow_NeedsSync(t *testing.T) {
	b, err := whispeer.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = b.Subscribe("t", func(context.Context, *whispeer.Message) error { return nil }, subopt.Borrow)
	if !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Fatalf("borrowing without WithInline: %v, want ErrInvalidOption", err)
	}
}

// TestBorrow_NoAllocation checks the point of borrowing: a publish
// that copies its payload, routed to borrowing handlers and into the
// history, allocates nothing once the history is full, with headers or
// without.
func TestBorrow_NoAllocation(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop what it holds")
	}
	b, err := whispeer.New(whispeer.WithHistory(4))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var got int
	for range 2 {
		subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
			got += len(m.Payload)
			return nil
		}, whispeer.WithInline(), subopt.Borrow)
	}
	ctx, payload := context.Background(), make([]byte, 128)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := b.Publish(ctx, "t", payload, whispeer.WithPublisher(whispeer.PublisherName("p"))); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per publish, want 0", allocs)
	}
	h, err := whispeer.NewHeaders("trace", "t-1", "content-type", "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	m := whispeer.Message{Topic: "t", Payload: payload, Headers: h}
	allocs = testing.AllocsPerRun(1000, func() {
		if err := b.PublishMessage(ctx, &m, whispeer.PublisherName("p"), nil); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per publish with headers, want 0", allocs)
	}
	if got == 0 {
		t.Fatal("the handlers saw nothing")
	}
}

// subscribe subscribes handler to "t", failing the test on an error.
func subscribe(t *testing.T, b *whispeer.Broker, h whispeer.Handler, opts ...whispeer.SubscribeOption) {
	t.Helper()
	if _, err := b.Subscribe("t", h, opts...); err != nil {
		t.Fatal(err)
	}
}

// TestWithPublisher_CopiesID publishes with WithPublisher and an id that views
// the caller's buffer, which the caller then overwrites, as a transport
// does with its read buffer: what the broker kept must keep the ids it was
// given, short or long, for small (lent) and large (copied) payloads.
func TestWithPublisher_CopiesID(t *testing.T) {
	b, err := whispeer.New(whispeer.WithHistory(8))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	async := make(chan *whispeer.Message, 8)
	subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
		async <- m
		return nil
	})
	subscribe(t, b, func(context.Context, *whispeer.Message) error { return nil }, whispeer.WithInline(), subopt.Borrow)
	ids := []string{"short-1", strings.Repeat("long-id-", 8), "short-2", strings.Repeat("LONG-ID-", 8)}
	buf := make([]byte, 0, 128)
	for i, id := range ids {
		buf = append(buf[:0], id...)
		view := unsafe.String(unsafe.SliceData(buf), len(buf))
		payload := make([]byte, 100+i%2*1000) // lent, then copied
		if err := b.Publish(context.Background(), "t", payload, whispeer.WithID(view), whispeer.WithPublisher(whispeer.PublisherName("p"))); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = 'x' // the caller reuses its buffer
		}
	}
	var replayed []string
	subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
		replayed = append(replayed, m.ID)
		return nil
	}, whispeer.WithInline(), whispeer.WithReplay(len(ids)))
	for i, id := range ids {
		if got := (<-async).ID; got != id {
			t.Errorf("async delivery %d: id %q, want %q", i, got, id)
		}
		if replayed[i] != id {
			t.Errorf("replayed message %d: id %q, want %q", i, replayed[i], id)
		}
	}
}
