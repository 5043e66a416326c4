package logging

import (
	"context"
	"log/slog"
	"slices"
	"strings"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
)

// Name is the plugin's name, as the server configuration selects it.
const Name = "logging"

// Options configures a Plugin. The zero Options logs to slog.Default().
type Options struct {
	// Logger receives the records; nil means slog.Default().
	Logger *slog.Logger
	// Headers adds the sorted names of a published message's headers to
	// its debug record. Header values are never logged.
	Headers bool
}

// Plugin logs a broker's events. Make one with New.
type Plugin struct {
	log     *slog.Logger
	headers bool
}

// New returns a logging plugin.
func New(opts Options) *Plugin {
	l := opts.Logger
	if l == nil {
		l = slog.Default()
	}
	return &Plugin{log: l, headers: opts.Headers}
}

// Name returns "logging".
func (p *Plugin) Name() string { return Name }

// OnConnect logs a new connection.
func (p *Plugin) OnConnect(c hook.Conn) error {
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "whispeer: connected", slog.Any("conn", c))
	return nil
}

// OnAuthenticate logs an authentication.
func (p *Plugin) OnAuthenticate(c hook.Conn) error {
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "whispeer: authenticated", slog.Any("conn", c))
	return nil
}

// OnDisconnect logs a closed connection and, unless it was orderly, why.
func (p *Plugin) OnDisconnect(c hook.Conn, err error) {
	attrs := []slog.Attr{slog.Any("conn", c)}
	if err != nil {
		attrs = append(attrs, slog.String("reason", err.Error()))
	}
	p.log.LogAttrs(context.Background(), slog.LevelInfo, "whispeer: disconnected", attrs...)
}

// OnSubscribe logs a subscription at debug level.
func (p *Plugin) OnSubscribe(s *whispeer.Subscription) error {
	ctx := context.Background()
	if p.log.Enabled(ctx, slog.LevelDebug) {
		p.log.LogAttrs(ctx, slog.LevelDebug, "whispeer: subscribed",
			slog.String("subscriber", s.Subscriber()), slog.String("pattern", s.Pattern()))
	}
	return nil
}

// OnPublish logs a publish at debug level: its topic, id, QoS and payload
// size, never the payload.
func (p *Plugin) OnPublish(ctx context.Context, m *whispeer.Message) (*whispeer.Message, error) {
	if !p.log.Enabled(ctx, slog.LevelDebug) {
		return m, nil
	}
	attrs := make([]slog.Attr, 0, 6)
	if c, ok := hook.PublisherConn(m.Publisher()); ok {
		attrs = append(attrs, slog.Any("conn", c))
	}
	attrs = append(attrs, slog.String("topic", m.Topic), slog.String("id", strings.Clone(m.ID)), // m is lent for the call
		slog.Int("qos", int(m.QoS)), slog.Int("bytes", len(m.Payload)))
	if p.headers && m.Headers.Len() > 0 {
		attrs = append(attrs, slog.Any("headers", headerNames(m.Headers)))
	}
	p.log.LogAttrs(ctx, slog.LevelDebug, "whispeer: published", attrs...)
	return m, nil
}

// OnAck logs an ack at debug level.
func (p *Plugin) OnAck(c hook.Conn, id string) {
	ctx := context.Background()
	if p.log.Enabled(ctx, slog.LevelDebug) {
		p.log.LogAttrs(ctx, slog.LevelDebug, "whispeer: acked", slog.Any("conn", c), slog.String("id", id))
	}
}

// OnReject logs an operation that a plugin rejected.
func (p *Plugin) OnReject(r whispeer.Rejection) {
	attrs := []slog.Attr{slog.String("op", r.Op), slog.String("plugin", r.Plugin), slog.Any("conn", rejected(r))}
	if r.Topic != "" {
		attrs = append(attrs, slog.String("topic", r.Topic))
	}
	attrs = append(attrs, slog.String("reason", r.Err.Error()))
	p.log.LogAttrs(context.Background(), slog.LevelWarn, "whispeer: rejected", attrs...)
}

// rejected returns the connection of r, as far as it is known: the
// publisher's or connection's, else only r.ID.
func rejected(r whispeer.Rejection) hook.Conn {
	if c, ok := hook.PublisherConn(r.Publisher); ok {
		return c
	}
	return hook.Conn{ID: r.ID}
}

// OnDrop logs a message that a subscription dropped.
func (p *Plugin) OnDrop(d whispeer.Drop) {
	p.log.LogAttrs(context.Background(), slog.LevelWarn, "whispeer: dropped",
		slog.String("subscriber", d.Subscription.Subscriber()),
		slog.String("pattern", d.Subscription.Pattern()),
		slog.String("topic", d.Message.Topic), slog.String("id", d.Message.ID),
		slog.String("reason", d.Reason.String()))
}

// headerNames returns the sorted names of h, each once.
func headerNames(h whispeer.Headers) []string {
	names := make([]string, 0, h.Len())
	for k := range h.All() {
		names = append(names, strings.Clone(k)) // logged maybe later: not a view
	}
	slices.Sort(names)
	return slices.Compact(names)
}

var (
	_ whispeer.Plugin        = (*Plugin)(nil)
	_ hook.Connect           = (*Plugin)(nil)
	_ hook.Auth              = (*Plugin)(nil)
	_ hook.Disconnect        = (*Plugin)(nil)
	_ whispeer.SubscribeHook = (*Plugin)(nil)
	_ whispeer.PublishHook   = (*Plugin)(nil)
	_ hook.Ack               = (*Plugin)(nil)
	_ whispeer.RejectHook    = (*Plugin)(nil)
	_ whispeer.DropHook      = (*Plugin)(nil)
)
