package whispeer

import (
	"context"
	"fmt"
	"reflect"

	"github.com/whispeer-io/whispeer/internal/match"
)

// Topic is a topic whose payloads are values of type T, encoded with a
// [Codec]. Its methods are safe for concurrent use.
type Topic[T any] struct {
	b     *Broker
	name  string
	codec Codec
}

// TopicOption configures a [Topic].
type TopicOption func(*topicConfig)

type topicConfig struct {
	codec   Codec
	enforce bool
}

// WithCodec sets the topic's codec (default [JSON]).
func WithCodec(c Codec) TopicOption { return func(tc *topicConfig) { tc.codec = c } }

// WithTypeEnforcement binds the topic to T on the broker, as [Bind] does:
// any publish to it, typed or not, whose payload does not decode into T is
// rejected with [ErrTypeMismatch].
func WithTypeEnforcement() TopicOption { return func(tc *topicConfig) { tc.enforce = true } }

// NewTopic returns the typed topic name on b.
func NewTopic[T any](b *Broker, name string, opts ...TopicOption) (*Topic[T], error) {
	tc := topicConfig{codec: JSON{}}
	for _, o := range opts {
		o(&tc)
	}
	if tc.codec == nil {
		return nil, fmt.Errorf("%w: nil codec", ErrInvalidOption)
	}
	if err := match.ValidateTopic(name, b.limits); err != nil {
		return nil, fmt.Errorf("%w %q: %w", ErrInvalidTopic, truncate(name), err)
	}
	if tc.enforce {
		if err := Bind[T](b, name, tc.codec); err != nil {
			return nil, err
		}
	}
	return &Topic[T]{b: b, name: name, codec: tc.codec}, nil
}

// Name returns the topic's name.
func (t *Topic[T]) Name() string { return t.name }

// Publish encodes v and publishes it to the topic.
func (t *Topic[T]) Publish(ctx context.Context, v T, opts ...PublishOption) error {
	payload, err := t.codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typeName[T](), err)
	}
	return t.b.Publish(ctx, t.name, payload, opts...)
}

// Subscribe calls h with each message's decoded value. A payload that does
// not decode is reported to the error handler as [ErrTypeMismatch] and h is
// not called.
func (t *Topic[T]) Subscribe(h func(context.Context, T, *Message) error, opts ...SubscribeOption) (*Subscription, error) {
	return subscribeTyped(t.b, t.name, t.codec, h, opts)
}

// Publish encodes v as JSON and publishes it to topic on b.
func Publish[T any](ctx context.Context, b *Broker, topic string, v T, opts ...PublishOption) error {
	payload, err := JSON{}.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typeName[T](), err)
	}
	return b.Publish(ctx, topic, payload, opts...)
}

// Subscribe subscribes h to pattern on b, decoding each payload from JSON
// into a T.
func Subscribe[T any](b *Broker, pattern string, h func(context.Context, T, *Message) error, opts ...SubscribeOption) (*Subscription, error) {
	return subscribeTyped(b, pattern, JSON{}, h, opts)
}

func subscribeTyped[T any](b *Broker, pattern string, c Codec, h func(context.Context, T, *Message) error, opts []SubscribeOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", ErrInvalidOption)
	}
	return b.Subscribe(pattern, func(ctx context.Context, m *Message) error {
		var v T
		if err := c.Unmarshal(m.Payload, &v); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrTypeMismatch, typeName[T](), err)
		}
		return h(ctx, v, m)
	}, opts...)
}

// binding is a type bound to a pattern.
type binding struct {
	pattern string
	typ     string
	check   func([]byte) error
}

// Bind binds the topics matching pattern to type T: from now on a publish
// to any of them whose payload does not decode into T with codec is
// rejected with [ErrTypeMismatch]. A nil codec means [JSON].
func Bind[T any](b *Broker, pattern string, codec Codec) error {
	if err := match.ValidatePattern(pattern, b.limits); err != nil {
		return fmt.Errorf("%w %q: %w", ErrInvalidPattern, truncate(pattern), err)
	}
	if codec == nil {
		codec = JSON{}
	}
	bd := binding{pattern: pattern, typ: typeName[T](), check: func(p []byte) error {
		var v T
		return codec.Unmarshal(p, &v)
	}}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		return ErrClosed
	}
	b.bindings = append(b.bindings, bd)
	bs := append([]binding(nil), b.bindings...)
	b.bound.Store(&bs)
	return nil
}

// checkBindings rejects m if a type bound to its topic does not decode it.
func checkBindings(bs []binding, m *Message) error {
	for _, bd := range bs {
		if !match.Matches(bd.pattern, m.Topic) {
			continue
		}
		if err := bd.check(m.Payload); err != nil {
			return fmt.Errorf("%w: topic %q expects %s: %w", ErrTypeMismatch, truncate(m.Topic), bd.typ, err)
		}
	}
	return nil
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }
