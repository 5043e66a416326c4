package server

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
	"github.com/whispeer-io/whispeer/plugins/logging"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/plugins/stamp"
	"github.com/whispeer-io/whispeer/plugins/typecheck"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/transport"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// PluginNames returns the names of the built-in plugins, which
// plugins.enabled can list.
func PluginNames() []string {
	return []string{logging.Name, metrics.Name, stamp.Name, typecheck.Name}
}

// newPlugins returns the plugins that cfg.Plugins.Enabled names, in that
// order, and the metrics plugin among them, if any.
func newPlugins(cfg *config.Config, log *slog.Logger) ([]whispeer.Plugin, *metrics.Plugin, error) {
	var (
		ps []whispeer.Plugin
		mp *metrics.Plugin
	)
	for _, name := range cfg.Plugins.Enabled {
		var p whispeer.Plugin
		switch name {
		case logging.Name:
			p = logging.New(logging.Options{Logger: log})
		case metrics.Name:
			mp = metrics.New(metrics.Options{})
			p = mp
		case stamp.Name:
			p = stamp.New(stamp.Options{Node: nodeName(cfg.Plugins.Node)})
		case typecheck.Name:
			tc, err := newTypecheck(cfg.Plugins.Typecheck)
			if err != nil {
				return nil, nil, err
			}
			p = tc
		default:
			return nil, nil, fmt.Errorf("plugins.enabled: unknown plugin %q (the built-in ones are %s)",
				name, strings.Join(PluginNames(), ", "))
		}
		ps = append(ps, p)
	}
	if len(cfg.Plugins.Typecheck) > 0 && !slices.Contains(cfg.Plugins.Enabled, typecheck.Name) {
		log.Warn("whispeer: plugins.typecheck has rules but the typecheck plugin is not in plugins.enabled")
	}
	return ps, mp, nil
}

// nodeName returns name, or the host name when name is empty.
func nodeName(name string) string {
	if name != "" {
		return name
	}
	host, _ := os.Hostname()
	return host
}

// newTypecheck makes the typecheck plugin from the configured rules.
func newTypecheck(rules []config.TypeRule) (*typecheck.Plugin, error) {
	out := make([]typecheck.Rule, len(rules))
	for i, r := range rules {
		out[i] = typecheck.Rule{Pattern: r.Pattern, Type: typecheck.Kind(r.Type)}
		if len(r.Fields) > 0 {
			out[i].Fields = make(map[string]typecheck.Kind, len(r.Fields))
			for f, k := range r.Fields {
				out[i].Fields[f] = typecheck.Kind(k)
			}
		}
	}
	p, err := typecheck.New(out...)
	if err != nil {
		return nil, fmt.Errorf("plugins.typecheck: %w", err)
	}
	return p, nil
}

// conn is a connection as the admin API and the connection hooks see it.
// Its fields are safe to read from any goroutine.
type conn struct {
	sess     *session
	info     hook.Conn // ID, RemoteAddr and Transport; User is in user
	since    time.Time
	user     atomic.Pointer[string]
	protocol atomic.Pointer[string]
	subs     atomic.Int32
	refused  atomic.Bool            // a plugin refused the connection
	tokenID  atomic.Pointer[string] // the "jti" of the token it authenticated with
}

// connInfo returns the connection as plugins see it.
func (c *conn) connInfo() hook.Conn {
	info := c.info
	if u := c.user.Load(); u != nil {
		info.User = *u
	}
	return info
}

// conns are the open connections by id.
type conns struct {
	mu sync.Mutex
	m  map[string]*conn
}

func (cs *conns) add(c *conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = make(map[string]*conn)
	}
	cs.m[c.info.ID] = c
}

func (cs *conns) remove(id string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.m, id)
}

func (cs *conns) get(id string) (*conn, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[id]
	return c, ok
}

// all returns the open connections, sorted by when they connected.
func (cs *conns) all() []*conn {
	cs.mu.Lock()
	out := make([]*conn, 0, len(cs.m))
	for _, c := range cs.m {
		out = append(out, c)
	}
	cs.mu.Unlock()
	slices.SortFunc(out, func(a, b *conn) int { return a.since.Compare(b.since) })
	return out
}

// connected registers a new session and runs the plugins' connect hooks;
// a connection that a plugin refuses is closed at once. The accept
// functions call it once the session is set up.
func (s *Server) connected(sess *session) {
	c := &conn{sess: sess, since: time.Now()}
	c.info = sess.info(nil)
	sess.conn = c
	sess.deadline = time.AfterFunc(s.cfg.Server.AuthTimeout, sess.authExpired)
	s.ops.conns.add(c)
	if err := s.connHooks.Connected(c.info); err != nil {
		c.refused.Store(true)
		sess.log().Info("whispeer: connection refused", "reason", err)
		sess.closeWith(err)
	}
}

// disconnected forgets a session that ended and runs the plugins'
// disconnect hooks.
func (s *Server) disconnected(sess *session, err error) {
	if sess.conn == nil {
		return
	}
	s.ops.conns.remove(sess.id)
	if orderly(err) {
		err = nil
	}
	s.connHooks.Disconnected(sess.conn.connInfo(), err)
}

// orderly reports whether a connection that ended with err was closed in
// good order: by the server, or by the client with a normal close.
func orderly(err error) bool {
	if err == nil || errors.Is(err, transport.ErrClosed) || errors.Is(err, io.EOF) {
		return true
	}
	ce, ok := errors.AsType[*ws.CloseError](err)
	return ok && (ce.Code == ws.CloseNormal || ce.Code == ws.CloseGoingAway)
}

// authenticated records the user that sess has just authenticated as and
// runs the plugins' authenticate hooks. On a refusal it clears the user
// and returns the error for the client. It runs in the reader goroutine.
func (sess *session) authenticated() *opError {
	c := sess.conn
	if c == nil {
		return nil
	}
	if c.refused.Load() {
		sess.user = nil
		return &opError{whispeer.CodeForbidden, "connection refused"}
	}
	name, proto := sess.user.Name(), "json"
	if sess.native != nil {
		proto = "native"
	}
	c.protocol.Store(&proto)
	c.user.Store(&name)
	info := c.connInfo()
	if err := sess.srv.connHooks.Authenticated(info); err != nil {
		c.user.Store(nil)
		sess.user = nil
		sess.log().Info("whispeer: authentication refused by a plugin", "username", name, "reason", err)
		return &opError{whispeer.CodeForbidden, errorText(err)}
	}
	sess.authed.Store(true)
	sess.deadline.Stop()
	return nil
}

// acked runs the plugins' ack hooks for a client's ack of message id.
func (sess *session) acked(id string) {
	if c := sess.conn; c != nil && sess.srv.connHooks.Any() {
		sess.srv.connHooks.Acked(c.connInfo(), strings.Clone(id))
	}
}

// countSubs records how many subscriptions sess holds, for the admin API.
func (sess *session) countSubs() {
	if sess.conn != nil {
		sess.conn.subs.Store(int32(len(sess.subs)))
	}
}

// HookConn describes the session's connection to the hooks of its
// publishes, which find it on the message (hook.PublisherConn).
func (sess *session) HookConn() hook.Conn {
	if c := sess.conn; c != nil {
		return c.connInfo()
	}
	return sess.info(sess.user)
}

// errClosedByAdmin is the reason of a connection closed through the admin
// API.
var errClosedByAdmin = errors.New("whispeer: closed by the server's administrator")

// closeWith closes the session's connection because of err, telling the
// client why: a WebSocket close frame with code 1008, or a fatal native
// ERROR forbidden. It is safe to call from any goroutine.
func (sess *session) closeWith(err error) { sess.closeFor(wire.CodeForbidden, err) }

// closeFor is closeWith with the native ERROR's code.
func (sess *session) closeFor(code wire.Code, err error) {
	text := errorText(err)
	if sess.link.Transport() == "tcp" {
		b, _ := wire.AppendError(nil, &wire.Error{Code: code, Fatal: true, Text: []byte("whispeer: " + text)})
		sess.link.Close(b, err)
		return
	}
	sess.link.Close(ws.CloseFrame(ws.ClosePolicyViolation, text), err)
}
