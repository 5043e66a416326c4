package hook

import (
	"fmt"
	"log/slog"

	"github.com/whispeer-io/whispeer"
)

// Set holds the connection hooks of a broker's plugins, one list per hook,
// so that a server pays nothing for the hooks no plugin implements.
type Set struct {
	log        *slog.Logger
	connect    []Connect
	auth       []Auth
	ack        []Ack
	disconnect []Disconnect
	rejects    []whispeer.RejectHook
}

// NewSet files plugins, as [whispeer.Broker.Plugins] returns them, under
// the hooks each implements. log records the hooks' panics; nil means
// [slog.Default].
func NewSet(plugins []whispeer.Plugin, log *slog.Logger) *Set {
	if log == nil {
		log = slog.Default()
	}
	s := &Set{log: log}
	for _, p := range plugins {
		add(&s.connect, p)
		add(&s.auth, p)
		add(&s.ack, p)
		add(&s.disconnect, p)
		add(&s.rejects, p)
	}
	return s
}

// add appends p to list if p implements the list's hook.
func add[H any](list *[]H, p whispeer.Plugin) {
	if h, ok := p.(H); ok {
		*list = append(*list, h)
	}
}

// Any reports whether any plugin implements a hook of this package, so
// that a server can skip building a [Conn] when none does.
func (s *Set) Any() bool {
	return len(s.connect)+len(s.auth)+len(s.ack)+len(s.disconnect) > 0
}

// Connected runs the [Connect] hooks for a new client connection. A
// non-nil error, wrapping [whispeer.ErrRejected] and the plugin's reason,
// means the connection must be refused. A server calls it, and calls
// [Set.Disconnected] once the connection ends, refused or not.
func (s *Set) Connected(c Conn) error {
	for _, h := range s.connect {
		if err := s.onConnect(h, c); err != nil {
			return s.reject(h, "connect", c, err)
		}
	}
	return nil
}

func (s *Set) onConnect(h Connect, c Conn) (err error) {
	defer s.recover(h, &err)
	return h.OnConnect(c)
}

// Authenticated runs the [Auth] hooks for a connection that has just
// authenticated as c.User. A non-nil error, wrapping
// [whispeer.ErrRejected], means the authentication must be refused.
func (s *Set) Authenticated(c Conn) error {
	for _, h := range s.auth {
		if err := s.onAuthenticate(h, c); err != nil {
			return s.reject(h, "authenticate", c, err)
		}
	}
	return nil
}

func (s *Set) onAuthenticate(h Auth, c Conn) (err error) {
	defer s.recover(h, &err)
	return h.OnAuthenticate(c)
}

// Acked runs the [Ack] hooks for a client's ack of message id.
func (s *Set) Acked(c Conn, id string) {
	for _, h := range s.ack {
		s.onAck(h, c, id)
	}
}

func (s *Set) onAck(h Ack, c Conn, id string) {
	defer s.recover(h, nil)
	h.OnAck(c, id)
}

// Disconnected runs the [Disconnect] hooks for a connection that ended
// because of err, nil for an orderly close.
func (s *Set) Disconnected(c Conn, err error) {
	for _, h := range s.disconnect {
		s.onDisconnect(h, c, err)
	}
}

func (s *Set) onDisconnect(h Disconnect, c Conn, err error) {
	defer s.recover(h, nil)
	h.OnDisconnect(c, err)
}

// reject tells every [whispeer.RejectHook] that plugin h refused op on c
// and returns the error for the caller: ErrRejected with the plugin's name
// and reason.
func (s *Set) reject(h any, op string, c Conn, err error) error {
	r := whispeer.Rejection{Op: op, Plugin: h.(whispeer.Plugin).Name(), ID: c.ID, Publisher: c, Err: err}
	for _, rh := range s.rejects {
		s.onReject(rh, r)
	}
	return fmt.Errorf("%w by %s: %w", whispeer.ErrRejected, r.Plugin, err)
}

func (s *Set) onReject(h whispeer.RejectHook, r whispeer.Rejection) {
	defer s.recover(h, nil)
	h.OnReject(r)
}

// recover logs plugin p's panic, if its hook panicked, and clears the
// hook's error, so that the server carries on as if p had not been there.
func (s *Set) recover(p any, err *error) {
	r := recover()
	if r == nil {
		return
	}
	s.log.Error("whispeer: plugin panicked", "plugin", p.(whispeer.Plugin).Name(), "panic", r)
	if err != nil {
		*err = nil
	}
}
