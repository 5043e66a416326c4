package whispeer_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/whispeer-io/whispeer"
)

// TestMessage_Memo checks what transports rely on: a slot encodes once and
// hands every later caller the same bytes, slots are independent, and
// concurrent first callers all get a correct encoding.
func TestMessage_Memo(t *testing.T) {
	m := &whispeer.Message{Topic: "t", Payload: []byte("p")}
	var calls atomic.Int32
	encode := func(m *whispeer.Message) []byte {
		calls.Add(1)
		return append([]byte(m.Topic+"="), m.Payload...)
	}
	first := m.Memo(0, encode)
	again := m.Memo(0, encode)
	if string(first) != "t=p" || &first[0] != &again[0] || calls.Load() != 1 {
		t.Fatalf("Memo gave %q then %q with %d encodings, want the same bytes from one", first, again, calls.Load())
	}
	other := m.Memo(1, func(*whispeer.Message) []byte { return []byte("other") })
	if string(other) != "other" || string(m.Memo(0, encode)) != "t=p" {
		t.Fatal("the slots are not independent")
	}

	m = &whispeer.Message{Topic: "u", Payload: []byte("q")}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := m.Memo(0, encode); !bytes.Equal(got, []byte("u=q")) {
				t.Errorf("a concurrent caller got %q", got)
			}
		})
	}
	wg.Wait()
	if a, b := m.Memo(0, encode), m.Memo(0, encode); &a[0] != &b[0] {
		t.Fatal("once settled, the slot does not hand out one encoding")
	}
}

// TestPublish_CopyPayload checks that with CopyPayload the caller may
// reuse its buffer as soon as Publish returns, whatever the payload's size
// class, and that without it the broker keeps the caller's bytes.
func TestPublish_CopyPayload(t *testing.T) {
	b := newBroker(t, whispeer.WithHistory(16))
	ctx := t.Context()
	for _, n := range []int{0, 1, 64, 65, 128, 200, 256, 512, 513, 5000} {
		buf := bytes.Repeat([]byte{'a'}, n)
		if err := b.Publish(ctx, "copy", buf, whispeer.CopyPayload()); err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			buf[i] = 'z' // the caller reuses its buffer
		}
		var got []byte
		sub, err := b.Subscribe("copy", func(_ context.Context, m *whispeer.Message) error {
			got = m.Payload
			return nil
		}, whispeer.WithSync(), whispeer.WithReplay(1))
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
	}, whispeer.WithSync(), whispeer.WithReplay(1))
	if err != nil {
		t.Fatal(err)
	}
	sub.Unsubscribe()
	if got == nil || &got.Payload[0] != &kept[0] {
		t.Fatal("without CopyPayload the broker copied the payload")
	}
}
