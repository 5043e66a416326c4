package server

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// session is the PopSub JSON protocol spoken over one connection.
//
// The fields above mu belong to the connection's reader goroutine, which
// runs Receive and then Closed: they need no lock. Deliveries run in
// publishers' goroutines and touch only conn, holding, the fields under mu
// and the in-flight window, which has a lock of its own. Lock order:
// inflight.mu, then session.mu, then the connection's.
type session struct {
	srv  *Server
	conn *ws.Conn
	id   string                            // subscriber id for the broker
	user *auth.User                        // nil until auth succeeds
	subs map[string]*whispeer.Subscription // by pattern; nil until the first subscribe
	rate bucket
	// window holds the QoS 1 copies awaiting acks; nil until the first
	// subscribe, which sets it under mu.
	window *inflight

	// holding is set while a subscribe is under way: deliveries are held
	// back, so that the confirmation goes out before the replayed history.
	holding atomic.Bool
	mu      sync.Mutex
	held    [][]byte
}

func newSession(srv *Server, c *ws.Conn) *session {
	s := &session{srv: srv, conn: c, id: "ws:" + strconv.FormatUint(c.ID(), 10)}
	s.rate.init(srv.cfg.Server.MaxPublishRate)
	return s
}

// Receive handles one client frame.
func (s *session) Receive(t ws.MessageType, data []byte) {
	if t != ws.Text {
		s.fail("binary frames are not supported: send JSON in text frames")
		return
	}
	f, err := json.Parse(data)
	if err != nil {
		s.fail(err.Error())
		return
	}
	switch f.Type {
	case json.TypeLogin:
		s.login(&f)
		return
	case json.TypeAuth:
		s.auth(&f)
		return
	}
	if s.user == nil {
		s.fail("not authenticated")
		return
	}
	switch f.Type {
	case json.TypePublish:
		s.publish(&f)
	case json.TypeSubscribe:
		s.subscribe(&f)
	case json.TypeUnsubscribe:
		s.unsubscribe(&f)
	case json.TypeAck:
		s.window.ack(f.MessageID)
	case json.TypePing:
		s.reply(json.AppendPong(newFrame(16)))
	}
}

// Reject answers a frame the connection refuses before closing it.
func (s *session) Reject(err error) {
	s.srv.stats.badFrames.Add(1)
	if errors.Is(err, ws.ErrMessageTooLarge) {
		s.sendError("message too large: the limit is " + strconv.Itoa(s.srv.cfg.Server.MaxMessageBytes) + " bytes")
		return
	}
	s.sendError(strings.TrimPrefix(err.Error(), "whispeer: "))
}

// Closed ends the session's subscriptions and QoS 1 state.
func (s *session) Closed(err error) {
	for _, sub := range s.subs {
		sub.Unsubscribe()
	}
	if s.window != nil {
		s.window.close()
	}
	s.log().Debug("whispeer: connection closed", "reason", err)
}

// log returns the server's logger with the connection's attributes.
func (s *session) log() *slog.Logger {
	l := s.srv.log.With("conn", s.id, "remote", s.conn.RemoteAddr().String())
	if s.user != nil {
		l = l.With("user", s.user.Name())
	}
	return l
}

// newFrame returns a buffer for a server frame: room for the WebSocket
// header, then capacity for n bytes of JSON.
func newFrame(n int) []byte { return make([]byte, ws.HeaderRoom, ws.HeaderRoom+n) }

// reply sends a frame built on newFrame.
func (s *session) reply(buf []byte) { s.send(ws.Frame(ws.Text, buf)) }

// fail answers a bad frame with an error frame and counts it.
func (s *session) fail(msg string) {
	s.srv.stats.badFrames.Add(1)
	s.sendError(msg)
}

// sendError sends {"type":"error",…} with msg.
func (s *session) sendError(msg string) {
	s.reply(json.AppendError(newFrame(40+2*len(msg)), msg))
}

// errorText turns a broker error into the text of an error frame.
func errorText(err error) string {
	return strings.TrimPrefix(err.Error(), "whispeer: ")
}

// send queues a frame, behind the deliveries held during a subscribe.
func (s *session) send(frame []byte) {
	if s.holding.Load() && s.hold(frame) {
		return
	}
	s.conn.Send(frame)
}

// hold keeps frame back if a subscribe is still under way.
func (s *session) hold(frame []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.holding.Load() {
		return false
	}
	s.held = append(s.held, frame)
	return true
}

// release sends first, then the frames held back, and stops holding.
func (s *session) release(first []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn.Send(first)
	for _, f := range s.held {
		s.conn.Send(f)
	}
	s.held = nil
	s.holding.Store(false)
}

var (
	_ ws.Session  = (*session)(nil)
	_ ws.Rejecter = (*session)(nil)
)
