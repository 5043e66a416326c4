package client

import (
	"context"
	"fmt"
	"reflect"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
)

// Topic is a topic whose payloads are values of type T, encoded with a
// [whispeer.Codec] (JSON by default), like the broker's [whispeer.Topic].
// Its methods are safe for concurrent use.
type Topic[T any] struct {
	c     *Client
	name  string
	codec whispeer.Codec
}

// TopicOption configures a Topic.
type TopicOption func(*topicConfig)

type topicConfig struct{ codec whispeer.Codec }

// WithCodec sets the topic's codec (default whispeer.JSON).
func WithCodec(codec whispeer.Codec) TopicOption {
	return func(t *topicConfig) { t.codec = codec }
}

// NewTopic returns the typed topic name on c.
func NewTopic[T any](c *Client, name string, opts ...TopicOption) (*Topic[T], error) {
	if err := match.ValidateTopic(name, topicLimits); err != nil {
		return nil, fmt.Errorf("%w %q: %w", whispeer.ErrInvalidTopic, name, err)
	}
	cfg := topicConfig{codec: whispeer.JSON{}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.codec == nil {
		return nil, fmt.Errorf("%w: nil codec", whispeer.ErrInvalidOption)
	}
	return &Topic[T]{c: c, name: name, codec: cfg.codec}, nil
}

// Name returns the topic's name.
func (t *Topic[T]) Name() string { return t.name }

// Publish encodes v and publishes it to the topic (see Client.Publish).
func (t *Topic[T]) Publish(ctx context.Context, v T, opts ...PublishOption) error {
	payload, err := t.codec.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", typeName[T](), err)
	}
	return t.c.Publish(ctx, t.name, payload, opts...)
}

// Subscribe calls h with each message's decoded value. A payload that does
// not decode is reported to the error handler as whispeer.ErrTypeMismatch
// and acknowledged, and h is not called.
func (t *Topic[T]) Subscribe(h func(context.Context, T, *Message) error, opts ...SubscribeOption) (*Subscription, error) {
	if h == nil {
		return nil, fmt.Errorf("%w: nil handler", whispeer.ErrInvalidOption)
	}
	return t.c.Subscribe(t.name, func(ctx context.Context, m *Message) error {
		var v T
		if err := t.codec.Unmarshal(m.Payload, &v); err != nil {
			return final{fmt.Errorf("%w: %s: %w", whispeer.ErrTypeMismatch, typeName[T](), err)}
		}
		return h(ctx, v, m)
	}, opts...)
}

func typeName[T any]() string { return reflect.TypeFor[T]().String() }
