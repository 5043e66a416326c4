package server

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/auth"
)

// Tokens come from the server itself (a login's) or from the applications
// of [[auth.issuers]], told apart by "iss". An application's token may be
// revoked by its "jti" through the admin API, which also ends the
// sessions authenticated with it. A session refreshes its credentials by
// authenticating again (see session.authenticate).

// errTokenRevoked refuses a revoked token, and ends the sessions
// authenticated with it.
var errTokenRevoked = errors.New("whispeer: token revoked")

// setUpApps builds the issuers of the applications and the deny list.
func (s *Server) setUpApps() error {
	apps, err := auth.NewApps(s.cfg.Auth.Issuers, auth.WithAccounts(s.users), auth.WithAppLogger(s.log))
	if err != nil {
		return fmt.Errorf("token issuers: %w", err)
	}
	s.apps, s.denied = apps, auth.NewDenyList(0, nil)
	if n := apps.Len(); n > 0 {
		s.log.Info("whispeer: application token issuers", "count", n)
	}
	return nil
}

// verifyToken verifies a token of an application, when its "iss" names
// one, or else one the server issued, and returns its claims and user.
func (s *Server) verifyToken(token string) (auth.Claims, *auth.User, error) {
	if iss := s.apps.Issuer(token); iss != nil {
		claims, u, err := iss.Verify(token)
		if err == nil && s.denied.Denied(claims.ID) {
			err = errTokenRevoked
		}
		return claims, u, err
	}
	claims, err := s.issuer.Verify(token)
	if err != nil {
		return claims, nil, err
	}
	u, ok := s.users.Lookup(claims.Subject)
	if !ok {
		return claims, nil, fmt.Errorf("token for an unknown user %q", claims.Subject)
	}
	return claims, u, nil
}

// tokenAccepted records the "jti" of the token sess authenticated with,
// then ends the session if the token was revoked meanwhile: Revoke denies
// first and then looks for sessions, so one of the two sees the other.
func (sess *session) tokenAccepted(id string) bool {
	sess.conn.tokenID.Store(&id)
	if sess.srv.denied.Denied(id) {
		sess.closeFor(wire.CodeUnauthorized, errTokenRevoked)
		return false
	}
	return true
}

// loggedIn follows a login that authenticated the session: a login's
// token has no "jti".
func (s *session) loggedIn() { s.conn.tokenID.Store(nil) }

// recheckSubscriptions ends the subscriptions that the session's user,
// changed by a refresh, may no longer make, telling the client of each.
// A session with no subscriptions or no user has nothing to check.
func (s *session) recheckSubscriptions() {
	if s.user == nil {
		return
	}
	for key, sub := range s.subs {
		pattern := sub.Pattern()
		if s.user.CanSubscribe(pattern) {
			continue
		}
		s.unsubscribe(key)
		e := s.deny("subscribe to", pattern)
		if s.native != nil {
			text := e.text + ": subscription " + strconv.FormatUint(uint64(key.sid), 10) + " ended"
			s.native.sendError(&opError{e.code, text}, false, wire.TypeSubscribe)
		} else {
			s.sendErrorFor(frameRef{topic: pattern}, e.text+": subscription ended")
		}
	}
}

// Revoke denies the token id ("jti") until exp, when the token expires,
// and closes the sessions authenticated with it, telling each client that
// its token was revoked. It returns how many it closed.
func (s *Server) Revoke(id string, exp time.Time) (int, error) {
	if err := s.denied.Deny(id, exp); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range s.ops.conns.all() {
		if p := c.tokenID.Load(); p != nil && *p == id {
			c.sess.closeFor(wire.CodeUnauthorized, errTokenRevoked)
			n++
		}
	}
	s.log.Info("whispeer: token revoked", slog.Group("token", "jti", id, "exp", exp), "sessions_closed", n)
	return n, nil
}

// Revocations lists the revoked token ids whose tokens have not expired.
func (s *Server) Revocations() []admin.Revocation {
	list := s.denied.List()
	out := make([]admin.Revocation, len(list))
	for i, d := range list {
		out[i] = admin.Revocation{JTI: d.ID, Exp: d.ExpiresAt.Unix()}
	}
	return out
}

var _ admin.Revoker = (*Server)(nil)
