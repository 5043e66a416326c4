package server

import (
	"errors"
	"log/slog"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// A connection must authenticate within server.auth_timeout of its
// start, or it is closed: otherwise a client that answers pings could
// hold one of server.max_connections for ever without credentials.

// errAuthTimeout ends a connection that did not authenticate in time.
var errAuthTimeout = errors.New("whispeer: authentication timeout: no token or login accepted in time")

// authExpired runs in a timer's goroutine when the session's
// authentication deadline passes, and closes the connection unless it has
// authenticated. It touches only what is safe from any goroutine.
func (s *session) authExpired() {
	if s.authed.Load() {
		return
	}
	s.srv.stats.authTimeouts.Add(1)
	s.srv.peerLog(s.anonLog(), s.remoteIP(), slog.LevelInfo, "whispeer: authentication timeout",
		"after", s.srv.cfg.Server.AuthTimeout.Round(time.Millisecond))
	s.closeFor(wire.CodeUnauthorized, errAuthTimeout)
}

// anonLog returns the server's logger with the connection's attributes
// but not its user, which only the reader goroutine may read.
func (s *session) anonLog() *slog.Logger {
	return s.srv.log.With("conn", s.id, "remote", s.link.remoteAddr().String())
}
