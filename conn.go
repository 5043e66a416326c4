package whispeer

import "log/slog"

// ConnInfo describes one client connection of a server, for the
// connection hooks. A server reports its connections' lifecycle to the
// broker with [Broker.Connected], [Broker.Authenticated], [Broker.Acked]
// and [Broker.Disconnected]; the library's own subscribers have no
// connection, and a hook that sees one of theirs gets a ConnInfo with only
// ID set, to the subscriber id given with [WithSubscriber].
type ConnInfo struct {
	// ID names the connection uniquely within its server, such as "ws:7";
	// it is also the subscriber id of the connection's subscriptions.
	ID string
	// RemoteAddr is the client's network address, host:port.
	RemoteAddr string
	// Transport is the connection's transport: "ws" or "tcp".
	Transport string
	// User is the authenticated user's name; "" before authentication.
	User string
}

// LogValue renders c for log/slog as a group of its non-empty fields.
func (c ConnInfo) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, 4)
	for _, a := range [...]slog.Attr{
		slog.String("id", c.ID), slog.String("remote", c.RemoteAddr),
		slog.String("transport", c.Transport), slog.String("user", c.User),
	} {
		if a.Value.String() != "" {
			attrs = append(attrs, a)
		}
	}
	return slog.GroupValue(attrs...)
}

// ConnectHook sees every new client connection before it is served; an
// error refuses the connection with [ErrRejected].
type ConnectHook interface {
	OnConnect(c ConnInfo) error
}

// AuthHook sees every successful authentication, with c.User set, before
// the client is told of it; an error refuses the authentication with
// [ErrRejected].
type AuthHook interface {
	OnAuthenticate(c ConnInfo) error
}

// AckHook sees every acknowledgment of a message delivered at
// [AtLeastOnce] or more, by the message's id: a server client's ack, or,
// in the library, an async handler that returned nil.
type AckHook interface {
	OnAck(c ConnInfo, id string)
}

// DisconnectHook sees every client connection that ended, with the reason
// (nil for an orderly close).
type DisconnectHook interface {
	OnDisconnect(c ConnInfo, err error)
}

// Connected runs the [ConnectHook]s for a new client connection. A
// non-nil error, wrapping [ErrRejected] and the plugin's reason, means the
// connection must be refused. Servers call it, and call [Broker.Disconnected]
// once the connection ends, whether it was refused or not; a broker
// without such hooks returns nil at once.
func (b *Broker) Connected(c ConnInfo) error {
	for _, h := range b.hooks.connect {
		if err := b.safeConnectHook(h, c); err != nil {
			return b.reject(h, Rejection{Op: "connect", Conn: c, Err: err})
		}
	}
	return nil
}

func (b *Broker) safeConnectHook(h ConnectHook, c ConnInfo) (err error) {
	defer b.recoverPlugin(h, nil, &err)
	return h.OnConnect(c)
}

// Authenticated runs the [AuthHook]s for a connection that has just
// authenticated as c.User. A non-nil error, wrapping [ErrRejected], means
// the authentication must be refused.
func (b *Broker) Authenticated(c ConnInfo) error {
	for _, h := range b.hooks.auth {
		if err := b.safeAuthHook(h, c); err != nil {
			return b.reject(h, Rejection{Op: "authenticate", Conn: c, Err: err})
		}
	}
	return nil
}

func (b *Broker) safeAuthHook(h AuthHook, c ConnInfo) (err error) {
	defer b.recoverPlugin(h, nil, &err)
	return h.OnAuthenticate(c)
}

// Acked runs the [AckHook]s for a client's ack of message id.
func (b *Broker) Acked(c ConnInfo, id string) {
	for _, h := range b.hooks.ack {
		func() {
			defer b.recoverPlugin(h, nil, nil)
			h.OnAck(c, id)
		}()
	}
}

// Disconnected runs the [DisconnectHook]s for a connection that ended
// because of err, nil for an orderly close.
func (b *Broker) Disconnected(c ConnInfo, err error) {
	for _, h := range b.hooks.disconnect {
		func() {
			defer b.recoverPlugin(h, nil, nil)
			h.OnDisconnect(c, err)
		}()
	}
}

// HasConnHooks reports whether any plugin implements a connection hook
// ([ConnectHook], [AuthHook], [AckHook] or [DisconnectHook]), so that a
// server can skip building a ConnInfo when none does.
func (b *Broker) HasConnHooks() bool {
	h := &b.hooks
	return len(h.connect)+len(h.auth)+len(h.ack)+len(h.disconnect) > 0
}

// connPublisher is a [Publisher] that is a server's client connection.
type connPublisher interface {
	Publisher
	ConnInfo() ConnInfo
}

// PublisherConn returns the client connection that published m, when m's
// [Publisher] is a server's connection (one with a ConnInfo method) and m
// is the message of that publish, as a [PublishHook] sees it; otherwise
// false.
func PublisherConn(m *Message) (ConnInfo, bool) {
	if p, ok := m.Publisher().(connPublisher); ok {
		return p.ConnInfo(), true
	}
	return ConnInfo{}, false
}

var _ slog.LogValuer = ConnInfo{}
