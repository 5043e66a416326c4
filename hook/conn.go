package hook

import (
	"log/slog"

	"github.com/whispeer-io/whispeer"
)

// Conn describes one client connection of a server, as the hooks see it.
type Conn struct {
	// ID names the connection uniquely within its server, such as "ws:7";
	// it is also the subscriber id of the connection's subscriptions and
	// the publisher id of its publishes.
	ID string
	// RemoteAddr is the client's network address, host:port.
	RemoteAddr string
	// Transport is the connection's transport: "ws" or "tcp".
	Transport string
	// User is the authenticated user's name; "" before authentication.
	User string
}

// LogValue renders c for log/slog as a group of its non-empty fields.
func (c Conn) LogValue() slog.Value {
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

// PublisherID returns c.ID: a connection is the publisher of its
// publishes.
func (c Conn) PublisherID() string { return c.ID }

// HookConn returns c itself, so that [PublisherConn] finds it.
func (c Conn) HookConn() Conn { return c }

// Publisher is a [whispeer.Publisher] that is a server's client
// connection; a server's connections implement it.
type Publisher interface {
	whispeer.Publisher
	HookConn() Conn
}

// PublisherConn returns the client connection p is, when p is a server's
// connection: for a [whispeer.PublishHook], the publisher of its message
// ([whispeer.Message.Publisher]); for a [whispeer.RejectHook], the
// rejection's [whispeer.Rejection.Publisher]. Otherwise it returns false.
func PublisherConn(p whispeer.Publisher) (Conn, bool) {
	if c, ok := p.(Publisher); ok {
		return c.HookConn(), true
	}
	return Conn{}, false
}

var (
	_ slog.LogValuer = Conn{}
	_ Publisher      = Conn{}
)
