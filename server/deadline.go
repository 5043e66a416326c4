package server

import (
	"errors"
	"log/slog"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// A connection must authenticate within server.auth_timeout of its
// start, or it is closed: otherwise a client that answers pings could
// hold one of server.max_connections for ever without credentials. An
// authenticated session ends when the token it authenticated with (or
// that its login was issued) expires.

// Errors that end a session on a timer.
var (
	// errAuthTimeout ends a connection that did not authenticate in time.
	errAuthTimeout = errors.New("whispeer: authentication timeout: no token or login accepted in time")
	// errTokenExpired ends a session whose credentials expired.
	errTokenExpired = errors.New("whispeer: token expired: authenticate again with a new token or a login")
)

// authExpired runs in a timer's goroutine when the session's
// authentication deadline passes, and closes the connection unless it has
// authenticated, or a password check of its login is under way: that
// check, which may have waited its turn among others, re-arms the deadline
// when it ends (see checked). It touches only what is safe from any
// goroutine.
func (s *session) authExpired() {
	if s.authed.Load() {
		return
	}
	s.late.Store(true)
	if s.checking.Load() || !s.late.CompareAndSwap(true, false) {
		return // checked handles it
	}
	s.srv.stats.authTimeouts.Add(1)
	s.srv.peerLog(s.anonLog(), s.remoteIP(), slog.LevelInfo, "whispeer: authentication timeout",
		"after", s.srv.cfg.Server.AuthTimeout.Round(time.Millisecond))
	s.closeFor(wire.CodeUnauthorized, errAuthTimeout)
}

// authGrace is the time a connection whose deadline passed during its
// login's password check has after the check, to authenticate with the
// token it got (at most server.auth_timeout).
const authGrace = 5 * time.Second

// checked ends a login's password check in the reader goroutine: if the
// authentication deadline passed meanwhile, it gives the connection
// authGrace more.
func (s *session) checked() {
	s.checking.Store(false)
	if s.late.CompareAndSwap(true, false) {
		s.deadline.Reset(min(authGrace, s.srv.cfg.Server.AuthTimeout))
	}
}

// anonLog returns the server's logger with the connection's attributes
// but not its user, which only the reader goroutine may read.
func (s *session) anonLog() *slog.Logger {
	return s.srv.log.With("conn", s.id, "remote", s.link.RemoteAddr().String())
}

// expireAt arms the timer that ends the session at exp, when the
// credentials it authenticated with expire, in place of an earlier one.
// It runs in the reader goroutine.
func (s *session) expireAt(exp time.Time) {
	if s.expiry != nil {
		s.expiry.Stop()
	}
	if !exp.IsZero() {
		s.expiry = time.AfterFunc(time.Until(exp), s.credentialsExpired)
	}
}

// credentialsExpired runs in a timer's goroutine when the session's token
// expires, and closes the connection.
func (s *session) credentialsExpired() {
	s.srv.stats.tokensExpired.Add(1)
	s.anonLog().Info("whispeer: session ended: its token expired")
	s.closeFor(wire.CodeUnauthorized, errTokenExpired)
}
