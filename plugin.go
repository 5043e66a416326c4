package whispeer

import (
	"context"
	"errors"
	"fmt"
)

// Plugin extends the broker. A plugin needs only a name; it takes part in
// the broker's work by also implementing any of the hook interfaces below
// ([PublishHook], [SubscribeHook], [DeliverHook], [Closer]), which the broker
// discovers once, when the plugin is registered with [WithPlugin]. A broker
// pays nothing for the hooks its plugins do not implement.
//
// Hooks run in the order the plugins were registered. A hook that panics is
// isolated: the panic is logged with the plugin's name and the broker goes on
// as if that plugin had not been there.
type Plugin interface {
	Name() string
}

// PublishHook sees every message after the broker has prepared it (with
// encryption on, the payload is already the sealed envelope) and before it
// is routed. It returns the message to route: m itself, or a changed copy
// made with [Message.Clone]. An error rejects the publish; the publisher
// gets it wrapped in [ErrRejected].
type PublishHook interface {
	OnPublish(ctx context.Context, m *Message) (*Message, error)
}

// SubscribeHook sees every new subscription before it is registered; an
// error rejects it with [ErrRejected].
type SubscribeHook interface {
	OnSubscribe(s *Subscription) error
}

// DeliverHook sees every message a subscription's handler is about to
// receive, as routed (sealed, with encryption on). It runs in the goroutine
// that delivers: keep it fast.
type DeliverHook interface {
	OnDeliver(s *Subscription, m *Message)
}

// Closer is a plugin with resources to release; the broker calls Close
// after it has stopped.
type Closer interface {
	Close() error
}

// ErrRejected wraps the error with which a plugin rejected an operation.
var ErrRejected = &Error{CodeForbidden, "whispeer: rejected"}

// hooks holds the registered plugins by capability.
type hooks struct {
	plugins   []Plugin
	publish   []PublishHook
	subscribe []SubscribeHook
	deliver   []DeliverHook
	closers   []Closer
}

// WithPlugin registers p. Plugins are called in registration order.
func WithPlugin(p Plugin) Option { return func(c *config) { c.plugins = append(c.plugins, p) } }

func newHooks(plugins []Plugin) (hooks, error) {
	var h hooks
	seen := make(map[string]bool)
	for _, p := range plugins {
		if p == nil {
			return h, fmt.Errorf("%w: nil plugin", ErrInvalidOption)
		}
		if seen[p.Name()] {
			return h, fmt.Errorf("%w: plugin %q registered twice", ErrInvalidOption, p.Name())
		}
		seen[p.Name()] = true
		h.plugins = append(h.plugins, p)
		if x, ok := p.(PublishHook); ok {
			h.publish = append(h.publish, x)
		}
		if x, ok := p.(SubscribeHook); ok {
			h.subscribe = append(h.subscribe, x)
		}
		if x, ok := p.(DeliverHook); ok {
			h.deliver = append(h.deliver, x)
		}
		if x, ok := p.(Closer); ok {
			h.closers = append(h.closers, x)
		}
	}
	return h, nil
}

// onPublish runs the publish hooks in order.
func (b *Broker) onPublish(ctx context.Context, m *Message) (*Message, error) {
	for _, h := range b.hooks.publish {
		next, err := b.safePublishHook(ctx, h, m)
		if err != nil {
			return nil, fmt.Errorf("%w by %s: %w", ErrRejected, h.(Plugin).Name(), err)
		}
		if next != nil {
			m = next
		}
	}
	return m, nil
}

func (b *Broker) safePublishHook(ctx context.Context, h PublishHook, m *Message) (next *Message, err error) {
	defer b.recoverPlugin(h, &next, &err)
	return h.OnPublish(ctx, m)
}

func (b *Broker) onSubscribe(s *Subscription) error {
	for _, h := range b.hooks.subscribe {
		if err := b.safeSubscribeHook(h, s); err != nil {
			return fmt.Errorf("%w by %s: %w", ErrRejected, h.(Plugin).Name(), err)
		}
	}
	return nil
}

func (b *Broker) safeSubscribeHook(h SubscribeHook, s *Subscription) (err error) {
	defer b.recoverPlugin(h, nil, &err)
	return h.OnSubscribe(s)
}

func (b *Broker) onDeliver(s *Subscription, m *Message) {
	for _, h := range b.hooks.deliver {
		func() {
			defer b.recoverPlugin(h, nil, nil)
			h.OnDeliver(s, m)
		}()
	}
}

// recoverPlugin logs a plugin's panic and clears the results so the broker
// carries on without it.
func (b *Broker) recoverPlugin(p any, next **Message, err *error) {
	r := recover()
	if r == nil {
		return
	}
	b.log.Error("whispeer: plugin panicked", "plugin", p.(Plugin).Name(), "panic", r)
	if next != nil {
		*next = nil
	}
	if err != nil {
		*err = nil
	}
}

// closePlugins closes the plugins that hold resources.
func (b *Broker) closePlugins() error {
	var errs []error
	for _, c := range b.hooks.closers {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close plugin %s: %w", c.(Plugin).Name(), err))
		}
	}
	return errors.Join(errs...)
}
