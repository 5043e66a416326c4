package whispeer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/whispeer-io/whispeer"
)

type reading struct {
	Sensor string  `json:"sensor"`
	Value  float64 `json:"value"`
}

func TestTopic_PublishSubscribe(t *testing.T) {
	b := newBroker(t)
	temps, err := whispeer.NewTopic[reading](b, "sensor/kitchen/temperature")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan reading, 2)
	if _, err := temps.Subscribe(func(_ context.Context, r reading, m *whispeer.Message) error {
		got <- r
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	wild := make(chan reading, 1)
	if _, err := whispeer.Subscribe(b, "sensor/+/temperature", func(_ context.Context, r reading, _ *whispeer.Message) error {
		wild <- r
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	want := reading{"kitchen", 21.5}
	if err := temps.Publish(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r != want {
		t.Errorf("topic subscriber got %+v, want %+v", r, want)
	}
	if r := <-wild; r != want {
		t.Errorf("pattern subscriber got %+v, want %+v", r, want)
	}
	if err := whispeer.Publish(context.Background(), b, temps.Name(), reading{"hall", 19}); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.Sensor != "hall" {
		t.Errorf("package-level Publish delivered %+v", r)
	}
}

func TestTopic_DecodeFailureReported(t *testing.T) {
	errs := make(chan error, 1)
	b := newBroker(t, whispeer.WithErrorHandler(func(_ *whispeer.Subscription, _ *whispeer.Message, err error) {
		errs <- err
	}))
	called := false
	if _, err := whispeer.Subscribe(b, "r", func(context.Context, reading, *whispeer.Message) error {
		called = true
		return nil
	}, whispeer.WithInline()); err != nil {
		t.Fatal(err)
	}
	publish(t, b, "r", "not json")
	if err := <-errs; !errors.Is(err, whispeer.ErrTypeMismatch) {
		t.Fatalf("error %v, want ErrTypeMismatch", err)
	}
	if called {
		t.Fatal("handler called with an undecodable payload")
	}
}

func TestBind_RejectsMismatchedPayloads(t *testing.T) {
	tests := []struct {
		name    string
		codec   whispeer.Codec
		payload string
		ok      bool
	}{
		{"valid", nil, `{"sensor":"a","value":1}`, true},
		{"not json", nil, `nope`, false},
		{"wrong field type", nil, `{"value":"high"}`, false},
		{"unknown field, lenient", nil, `{"other":1}`, true},
		{"unknown field, strict", whispeer.JSON{Strict: true}, `{"other":1}`, false},
		{"trailing data, strict", whispeer.JSON{Strict: true}, `{"value":1} {}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBroker(t)
			if err := whispeer.Bind[reading](b, "sensor/#", tt.codec); err != nil {
				t.Fatal(err)
			}
			err := b.Publish(context.Background(), "sensor/a", []byte(tt.payload))
			if tt.ok && err != nil {
				t.Fatalf("Publish = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, whispeer.ErrTypeMismatch) {
				t.Fatalf("Publish = %v, want ErrTypeMismatch", err)
			}
			// Topics outside the pattern are not checked.
			if err := b.Publish(context.Background(), "other", []byte("nope")); err != nil {
				t.Fatalf("unbound topic: %v", err)
			}
		})
	}
}

func TestNewTopic_Errors(t *testing.T) {
	b := newBroker(t)
	if _, err := whispeer.NewTopic[reading](b, "a/+"); !errors.Is(err, whispeer.ErrInvalidTopic) {
		t.Errorf("pattern name: %v, want ErrInvalidTopic", err)
	}
	if _, err := whispeer.NewTopic[reading](b, "a", whispeer.WithCodec(nil)); !errors.Is(err, whispeer.ErrInvalidOption) {
		t.Errorf("nil codec: %v, want ErrInvalidOption", err)
	}
	enforced, err := whispeer.NewTopic[reading](b, "e", whispeer.WithTypeEnforcement())
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), enforced.Name(), []byte(`[1]`)); !errors.Is(err, whispeer.ErrTypeMismatch) {
		t.Errorf("raw publish to enforced topic: %v, want ErrTypeMismatch", err)
	}
	if err := enforced.Publish(context.Background(), reading{}); err != nil {
		t.Errorf("typed publish to enforced topic: %v", err)
	}
	bad, err := whispeer.NewTopic[chan int](b, "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := bad.Publish(context.Background(), make(chan int)); err == nil {
		t.Error("publishing an unencodable value succeeded")
	}
}
