package whispeer_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// TestPublish_WithPublisherCopies checks that with WithPublisher the caller may
// reuse its buffer as soon as Publish returns, whatever the payload's size
// class, and that without it the broker keeps the caller's bytes.
func TestPublish_WithPublisherCopies(t *testing.T) {
	b := newBroker(t, whispeer.WithHistory(16))
	ctx := t.Context()
	for _, n := range []int{0, 1, 64, 65, 128, 200, 256, 512, 513, 5000} {
		buf := bytes.Repeat([]byte{'a'}, n)
		if err := b.Publish(ctx, "copy", buf, whispeer.WithPublisher(whispeer.PublisherName("p"))); err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = 'z' // the caller reuses its buffer
		}
		var got []byte
		sub, err := b.Subscribe("copy", func(_ context.Context, m *whispeer.Message) error {
			got = m.Payload
			return nil
		}, whispeer.WithInline(), whispeer.WithReplay(1))
		if err != nil {
			t.Fatal(err)
		}
		sub.Unsubscribe()
		if !bytes.Equal(got, bytes.Repeat([]byte{'a'}, n)) {
			t.Fatalf("%d bytes: the stored message changed with the caller's buffer", n)
		}
	}

	kept := []byte("kept")
	if err := b.Publish(ctx, "keep", kept); err != nil {
		t.Fatal(err)
	}
	var got *whispeer.Message
	sub, err := b.Subscribe("keep", func(_ context.Context, m *whispeer.Message) error {
		got = m
		return nil
	}, whispeer.WithInline(), whispeer.WithReplay(1))
	if err != nil {
		t.Fatal(err)
	}
	sub.Unsubscribe()
	if got == nil || &got.Payload[0] != &kept[0] {
		t.Fatal("without WithPublisher the broker copied the payload")
	}
}
