package whispeer_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer"
)

func TestHeaders_KeepOrderAndRepeats(t *testing.T) {
	h, err := whispeer.NewHeaders("z", "1", "a", "2", "z", "3")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for k, v := range h.All() {
		got = append(got, k+"="+v)
	}
	if want := []string{"z=1", "a=2", "z=3"}; !slices.Equal(got, want) || h.Len() != 3 {
		t.Errorf("entries %v (Len %d), want %v", got, h.Len(), want)
	}
	if v, ok := h.Get("z"); !ok || v != "3" {
		t.Errorf(`Get("z") = %q, %t; want the last entry's "3"`, v, ok)
	}
	if _, ok := h.Get("missing"); ok {
		t.Error(`Get("missing") found a value`)
	}
	if m := h.Map(); !maps.Equal(m, map[string]string{"z": "3", "a": "2"}) {
		t.Errorf("Map() = %v", m)
	}
	back, err := whispeer.DecodeHeaders(h.Encoded())
	if err != nil || string(back.Encoded()) != string(h.Encoded()) {
		t.Errorf("DecodeHeaders(Encoded()) = %v, %v", back.Map(), err)
	}
}

func TestHeaders_None(t *testing.T) {
	for name, h := range map[string]whispeer.Headers{
		"zero":      {},
		"no pairs":  must(whispeer.NewHeaders()),
		"nil map":   must(whispeer.HeadersOf(nil)),
		"empty map": must(whispeer.HeadersOf(map[string]string{})),
		"decoded":   must(whispeer.DecodeHeaders(nil)),
	} {
		if h.Len() != 0 || h.Encoded() != nil || h.Map() != nil {
			t.Errorf("%s: Len %d, Encoded %v, Map %v; want none", name, h.Len(), h.Encoded(), h.Map())
		}
	}
}

func TestHeaders_OfMapSortsKeys(t *testing.T) {
	a := must(whispeer.HeadersOf(map[string]string{"b": "2", "a": "1", "c": "3"}))
	b := must(whispeer.NewHeaders("a", "1", "b", "2", "c", "3"))
	if string(a.Encoded()) != string(b.Encoded()) {
		t.Errorf("HeadersOf(map) = %x, want the sorted %x", a.Encoded(), b.Encoded())
	}
}

func TestHeaders_With(t *testing.T) {
	h := must(whispeer.NewHeaders("trace", "t", "node", "forged", "node", "again"))
	got := must(h.With("node", "eu-1", "at", "now"))
	want := must(whispeer.NewHeaders("trace", "t", "node", "eu-1", "at", "now"))
	if string(got.Encoded()) != string(want.Encoded()) {
		t.Errorf("With = %v, want %v", got.Map(), want.Map())
	}
	if v, _ := h.Get("node"); v != "again" {
		t.Errorf("With changed the headers it was called on: node %q", v)
	}
}

func TestHeaders_BadInput(t *testing.T) {
	long := strings.Repeat("x", 1<<16)
	for name, err := range map[string]error{
		"odd":          second(whispeer.NewHeaders("k")),
		"long key":     second(whispeer.NewHeaders(long, "v")),
		"long value":   second(whispeer.NewHeaders("k", long)),
		"odd With":     second(whispeer.Headers{}.With("k")),
		"one byte":     second(whispeer.DecodeHeaders([]byte{1})),
		"short entry":  second(whispeer.DecodeHeaders([]byte{0, 1, 0, 3, 'k'})),
		"no value":     second(whispeer.DecodeHeaders([]byte{0, 1, 0, 1, 'k'})),
		"bytes beyond": second(whispeer.DecodeHeaders([]byte{0, 0, 9})),
	} {
		if !errors.Is(err, whispeer.ErrInvalidOption) {
			t.Errorf("%s: %v, want ErrInvalidOption", name, err)
		}
	}
}

// TestBroker_PublishMessage publishes a message built by its caller and a
// received one again: every field reaches the subscriber, numbered by the
// broker.
func TestBroker_PublishMessage(t *testing.T) {
	b, err := whispeer.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var got []*whispeer.Message
	subscribe(t, b, func(_ context.Context, m *whispeer.Message) error {
		got = append(got, m)
		return nil
	}, whispeer.WithInline())
	h := must(whispeer.NewHeaders("k", "v"))
	in := &whispeer.Message{Topic: "t", ID: "m1", Payload: []byte("p"), Headers: h, QoS: whispeer.AtLeastOnce, Seq: 99}
	ctx := context.Background()
	if err := b.PublishMessage(ctx, in, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := b.PublishMessage(ctx, got[0], nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d messages, want 2", len(got))
	}
	for i, m := range got {
		if m.Topic != "t" || m.ID != "m1" || string(m.Payload) != "p" || m.QoS != whispeer.AtLeastOnce ||
			string(m.Headers.Encoded()) != string(h.Encoded()) || m.Seq != uint64(i+1) || m.Time.IsZero() {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	if in.Seq != 99 || !in.Time.IsZero() {
		t.Errorf("the broker changed the message it was given: %+v", in)
	}
	done := make(chan error, 1)
	if err := b.PublishMessage(ctx, in, nil, func(err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("done(%v), want nil", err)
	}
	many := make([]string, 0, 2*(whispeer.MaxHeaders+1))
	for range whispeer.MaxHeaders + 1 {
		many = append(many, "k", "v")
	}
	tooMany := &whispeer.Message{Topic: "t", Headers: must(whispeer.NewHeaders(many...))}
	if err := b.PublishMessage(ctx, tooMany, nil, nil); !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Errorf("%d headers: %v, want ErrInvalidOption", whispeer.MaxHeaders+1, err)
	}
}

// must returns v, panicking on err: for values a test builds from
// constants.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// second returns the error of a call that returns a value and an error.
func second[T any](_ T, err error) error { return err }
