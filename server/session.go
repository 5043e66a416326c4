package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/transport"
	"github.com/whispeer-io/whispeer/transport/tcp"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// session is one client connection's state, whatever protocol it speaks:
// its user, its subscriptions, its QoS 1 window and its publish rate. The
// protocol's own state and dispatch live in json.go and native.go; a
// WebSocket connection picks its protocol with its first data message.
//
// The fields above mu belong to the connection's reader goroutine, which
// handles the client's frames and then calls closed: they need no lock.
// Deliveries run in publishers' goroutines and touch only link, holding,
// the fields under mu and the in-flight window, which has a lock of its
// own. Lock order: inflight.mu, then session.mu, then the connection's.
type session struct {
	srv *Server
	// link is the connection under the session, TCP or WebSocket alike:
	// one concrete type, so that the heads of deliveries, built on the
	// stack, stay there.
	link *transport.Conn
	id   string     // subscriber id for the broker, such as "ws:7"
	user *auth.User // nil until authentication succeeds
	subs map[subKey]*whispeer.Subscription
	rate bucket
	// allowed is the last topic that user was allowed to publish to.
	allowed struct {
		user  *auth.User
		topic string
	}
	// fan is the fan-out of the session's publishes, the reader
	// goroutine's (see fanout).
	fan    fanout
	json   bool    // a WebSocket connection that speaks PopSub JSON
	native *native // the native protocol's state; nil for JSON
	conn   *conn   // the connection as plugins and the admin API see it
	// window holds the QoS 1 copies awaiting acks; nil until the first
	// subscribe, which sets it under mu.
	window *inflight
	// replayCtx is the context of the session's catch-ups (replay.go),
	// which stopReplays ends; nil until the first subscribe.
	replayCtx   context.Context
	stopReplays context.CancelFunc
	// clientID is the client's stable id, if it gave one, and stable
	// its StableID for user stableFor (qos2.go).
	clientID, stable string
	stableFor        *auth.User
	// once holds the ids of the QoS 2 publishes awaiting release.
	once heldIDs
	// durable holds the durable QoS 2 subscriptions among subs, held in
	// the server's durables (durable.go).
	durable map[subKey]durableRef

	// authed is set once the connection has authenticated; deadline
	// closes it if that does not happen within server.auth_timeout.
	authed   atomic.Bool
	deadline *time.Timer
	// checking is set while a login's password is checked, and late when
	// the deadline passed meanwhile: see authExpired and checked.
	checking, late atomic.Bool
	// expiry ends the session when its credentials expire (see expireAt).
	expiry *time.Timer

	// holding is set while a subscribe is under way: deliveries are held
	// back, so that the confirmation goes out before the replayed history.
	holding atomic.Bool
	mu      sync.Mutex
	held    []heldFrame
	// released is closed when a subscribe's confirmation has been sent
	// and holding stops; nil when not holding.
	released chan struct{}
}

// subKey names a subscription within its session: by pattern for JSON,
// by subscription id for the native protocol.
type subKey struct {
	sid     uint32
	pattern string
}

// heldFrame is a frame held back during a subscribe.
type heldFrame struct {
	head, body []byte
	data       bool // a native MSG: see session.sendIn
}

func newSession(srv *Server, c *transport.Conn, id string) *session {
	s := &session{srv: srv, link: c, id: id}
	s.fan.s, s.fan.batch = s, c.Batch()
	s.rate.init(srv.cfg.Server.MaxPublishRate, time.Now())
	return s
}

// closed ends the session's subscriptions and QoS 1 state.
func (s *session) closed(err error) {
	if s.deadline != nil {
		s.deadline.Stop()
	}
	if s.expiry != nil {
		s.expiry.Stop()
	}
	for key, sub := range s.subs {
		sub.Unsubscribe()
		s.leavePresence(sub.Pattern(), key)
	}
	for _, d := range s.durable {
		s.srv.durables.detach(d, false)
	}
	if s.window != nil {
		s.window.close()
	}
	if s.stopReplays != nil {
		s.stopReplays()
	}
	s.log().Debug("whispeer: connection closed", "reason", err)
	s.srv.disconnected(s, err)
}

// log returns the server's logger with the connection's attributes: the
// group conn, shaped as the plugins log it (hook.Conn).
func (s *session) log() *slog.Logger {
	return s.srv.log.With(slog.Any("conn", s.info(s.user)))
}

// info describes the connection for logs and hooks, as authenticated as
// user (nil for not yet).
func (s *session) info(user *auth.User) hook.Conn {
	c := hook.Conn{ID: s.id, RemoteAddr: s.link.RemoteAddr().String(), Transport: s.link.Transport()}
	if user != nil {
		c.User = user.Name()
	}
	return c
}

// send queues a complete frame, behind the deliveries held during a
// subscribe. The connection keeps frame.
func (s *session) send(frame []byte) { s.sendHead(nil, frame) }

// sendHead queues head, which it copies, and body, which the connection
// keeps, behind the deliveries held during a subscribe.
func (s *session) sendHead(head, body []byte) {
	if s.holding.Load() && s.hold(head, body, false, false) {
		return
	}
	s.link.SendHead(head, body)
}

// PublisherID names the session to the broker as the publisher of its
// messages: its deliveries find the session's fan-out through it
// (fanoutOf).
func (s *session) PublisherID() string { return s.id }

// hold keeps a frame back if a subscribe is still under way, with a copy
// of its body when the body is a publisher's scratch.
func (s *session) hold(head, body []byte, data, scratched bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.holding.Load() {
		return false
	}
	if scratched {
		body = append([]byte(nil), body...)
	}
	s.held = append(s.held, heldFrame{append([]byte(nil), head...), body, data})
	return true
}

// release sends first, then the frames held back, and stops holding.
func (s *session) release(first []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.link.Send(first)
	for _, f := range s.held {
		s.queueIn(nil, f.head, f.body, f.data, false)
	}
	s.held = nil
	s.holding.Store(false)
	if s.released != nil {
		close(s.released)
		s.released = nil
	}
}

// prepare makes the state that deliveries need, before the first
// subscription exists, and starts holding deliveries back.
func (s *session) prepare() {
	if s.subs == nil {
		s.subs = make(map[subKey]*whispeer.Subscription)
		q := s.srv.cfg.QoS
		w := newInflight(s, q.AckTimeout, q.MaxRetries, q.MaxInflight, q.MaxQueued)
		s.mu.Lock() // for observers outside the reader goroutine
		s.window = w
		s.mu.Unlock()
	}
	s.mu.Lock()
	if s.released == nil {
		s.released = make(chan struct{})
	}
	s.mu.Unlock()
	s.holding.Store(true)
}

// ReceiveFrame handles one native frame from a TCP connection.
func (s *session) ReceiveFrame(f *wire.Frame) { s.native.handle(f) }

var (
	_ ws.Session   = (*session)(nil)
	_ ws.Rejecter  = (*session)(nil)
	_ tcp.Session  = (*session)(nil)
	_ tcp.Rejecter = (*session)(nil)
)
