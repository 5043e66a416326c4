package whispeer

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Plugin extends the broker. A plugin needs only a name; it takes part in
// the broker's work by also implementing any of the hook interfaces
// ([Provisioner], [PublishHook], [SubscribeHook], [DeliverHook], [DropHook],
// [RejectHook], [Closer]), which the broker discovers once, when [New]
// registers the plugins given with [WithPlugin]. The broker keeps one slice
// per hook, so it pays nothing for the hooks its plugins do not implement,
// and a broker with no plugins pays nothing at all. A server runs the hooks of its client connections,
// which the plugins implement the same way (see package hook).
//
// Hooks run in the order the plugins were registered, and the first one
// that rejects an operation stops it: later plugins do not see it, though
// every [RejectHook] is told. A hook
// that panics is isolated: the panic is logged with the plugin's name and
// the broker goes on as if that plugin had not been there.
//
// The lifecycle: New calls Provision on every [Provisioner] once the broker
// is built; the hooks then run, concurrently, as traffic flows; once the
// broker has stopped, Close is called on every [Closer].
type Plugin interface {
	Name() string
}

// PublishHook sees every message after the broker has prepared it (with
// encryption on, the payload is already the sealed envelope) and before it
// is routed. It returns the message to route: m itself, or a changed copy
// made with [Message.Clone]. An error rejects the publish; the publisher
// gets it wrapped in [ErrRejected]. ctx is the publisher's. m is for the
// call only: a publish may lend its message (see [Message.Clone]), so a hook
// that keeps it, or its ID or Payload bytes, keeps a copy made with
// [Message.Clone]. Who published m, when its publisher said so, is
// [Message.Publisher] (a server's connection: hook.PublisherConn); a copy
// made by an earlier hook has none.
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
// that delivers: keep it fast. m is for the call only, as for
// [PublishHook]: a hook that keeps it keeps a [Message.Clone].
type DeliverHook interface {
	OnDeliver(s *Subscription, m *Message)
}

// RejectHook sees every operation that a plugin rejected, whichever
// plugin it was: for logging and metrics.
type RejectHook interface {
	OnReject(r Rejection)
}

// Rejection describes an operation that a plugin rejected.
type Rejection struct {
	// Op is the operation: "connect", "authenticate", "publish" or
	// "subscribe".
	Op string
	// Plugin is the name of the plugin that rejected it.
	Plugin string
	// ID is who asked: the publisher's id for a publish, "" for a
	// publish without [WithPublisher]; the subscriber id for a subscribe;
	// the connection's id for a connect or authenticate.
	ID string
	// Publisher is the publisher of a rejected publish, nil without
	// [WithPublisher]; for a server's connect or authenticate, the
	// connection. hook.PublisherConn tells a server's connection apart.
	Publisher Publisher
	// Topic is the topic published to or the pattern subscribed to.
	Topic string
	// Err is the plugin's reason.
	Err error
}

// DropHook sees every message a subscription drops, with the reason. It
// runs in the goroutine that dropped the message, often a publisher's:
// keep it fast and don't block.
type DropHook interface {
	OnDrop(d Drop)
}

// Provisioner is a plugin that needs the broker it serves, for instance to
// read [Broker.Stats]. New calls Provision once, in registration order,
// after the broker is built and before New returns; an error fails New.
type Provisioner interface {
	Provision(b *Broker) error
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
	provision []Provisioner
	publish   []PublishHook
	subscribe []SubscribeHook
	deliver   []DeliverHook
	drop      []DropHook
	reject    []RejectHook
	closers   []Closer
}

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
		h.add(p)
	}
	return h, nil
}

// add files p under every hook it implements.
func (h *hooks) add(p Plugin) {
	h.plugins = append(h.plugins, p)
	addHook(&h.provision, p)
	addHook(&h.publish, p)
	addHook(&h.subscribe, p)
	addHook(&h.deliver, p)
	addHook(&h.drop, p)
	addHook(&h.reject, p)
	addHook(&h.closers, p)
}

// addHook appends p to list if p implements the list's hook.
func addHook[H any](list *[]H, p Plugin) {
	if x, ok := p.(H); ok {
		*list = append(*list, x)
	}
}

// Plugins returns the plugins the broker was given with [WithPlugin], in
// registration order, for a server that runs hooks of its own on them (see
// package hook). The slice is the caller's.
func (b *Broker) Plugins() []Plugin { return slices.Clone(b.hooks.plugins) }

// provision calls every Provisioner; on an error it closes the plugins.
func (b *Broker) provision() error {
	for _, p := range b.hooks.provision {
		if err := p.Provision(b); err != nil {
			err = fmt.Errorf("provision plugin %s: %w", p.(Plugin).Name(), err)
			return errors.Join(err, b.closePlugins())
		}
	}
	return nil
}

// onPublish runs the publish hooks in order.
func (b *Broker) onPublish(ctx context.Context, m *Message) (*Message, error) {
	first := m
	for _, h := range b.hooks.publish {
		next, err := b.safePublishHook(ctx, h, m)
		if err != nil {
			r := Rejection{Op: "publish", Publisher: first.Publisher(), Topic: m.Topic, Err: err}
			if r.Publisher != nil {
				r.ID = r.Publisher.PublisherID()
			}
			return nil, b.reject(h, r)
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
			return b.reject(h, Rejection{Op: "subscribe", ID: s.cfg.subscriber, Topic: s.pattern, Err: err})
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

// reject reports r, refused by h, to the RejectHooks and returns the error
// for the caller: ErrRejected with the plugin's name and reason.
func (b *Broker) reject(h any, r Rejection) error {
	r.Plugin = h.(Plugin).Name()
	for _, rh := range b.hooks.reject {
		func() {
			defer b.recoverPlugin(rh, nil, nil)
			rh.OnReject(r)
		}()
	}
	return fmt.Errorf("%w by %s: %w", ErrRejected, r.Plugin, r.Err)
}

func (b *Broker) onDrop(d Drop) {
	for _, h := range b.hooks.drop {
		func() {
			defer b.recoverPlugin(h, nil, nil)
			h.OnDrop(d)
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
