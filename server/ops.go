package server

import (
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/internal/subopt"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/presence"
)

// The operations below are the protocol-independent half of a session:
// each protocol parses a client frame, calls one of them and writes the
// answer in its own form.

// errAuthFailed is the text of every refused login and token, so that a
// client cannot tell an unknown user from a wrong password.
const errAuthFailed = "authentication failed"

// warnFailures is the number of consecutive failed logins for one user name
// or address from which each failure is logged as a warning.
const warnFailures = 2

// opError is an operation refused: a class, which the native protocol sends
// as its code, and a text for people, without the "whispeer: " prefix.
type opError struct {
	code whispeer.Code
	text string
}

// wireCode returns the native protocol's code for e.
func (e *opError) wireCode() wire.Code {
	if e.code == whispeer.CodeInternal {
		return wire.CodeInternal
	}
	return wire.Code(e.code) // the classes 1–8 have the same numbers
}

// brokerError turns a broker error into an opError.
func brokerError(err error) *opError {
	return &opError{code: whispeer.ErrorCode(err), text: errorText(err)}
}

// errorText returns an error's text without the "whispeer: " prefix.
func errorText(err error) string {
	return strings.TrimPrefix(err.Error(), "whispeer: ")
}

// invalid counts a refused frame and returns its error.
func (s *session) invalid(text string) *opError {
	s.srv.stats.badFrames.Add(1)
	return &opError{code: whispeer.CodeInvalid, text: text}
}

// login checks a user name and password and returns a token for the user.
// A user name longer than auth.MaxUsernameBytes is refused before anything
// else. Failures are throttled per user name and address, per address and,
// past ceilings, per user name and in total (see auth.Throttle).
func (s *session) login(username, password string) (*auth.User, string, *opError) {
	if len(username) > auth.MaxUsernameBytes {
		s.srv.stats.loginFailures.Add(1)
		s.peerLog(slog.LevelInfo, "whispeer: login refused: user name too long", excerptAttrs("username", username)...)
		return nil, "", &opError{whispeer.CodeInvalid, "user name longer than " + strconv.Itoa(auth.MaxUsernameBytes) + " bytes"}
	}
	th, addr := s.srv.throttle, s.remoteIP()
	if wait := th.Allow(username, addr); wait > 0 {
		s.srv.stats.loginFailures.Add(1)
		s.peerLog(slog.LevelWarn, "whispeer: login throttled", append(excerptAttrs("username", username), "retry_in", wait)...)
		return nil, "", &opError{whispeer.CodeLimit, "too many failed logins: retry in " + wait.Round(time.Millisecond).String()}
	}
	authenticate := s.srv.users.Authenticate
	if th.Known(username, addr) {
		authenticate = s.srv.users.AuthenticateKnown // a flood of others cannot keep it out
	}
	s.checking.Store(true)
	u, err := authenticate(username, password)
	s.checked()
	if errors.Is(err, auth.ErrBusy) {
		s.srv.stats.loginsBusy.Add(1)
		return nil, "", &opError{whispeer.CodeUnavailable, errorText(err)}
	}
	if err != nil {
		s.srv.stats.loginFailures.Add(1)
		if n := th.Fail(username, addr); n >= warnFailures {
			s.peerLog(slog.LevelWarn, "whispeer: repeated failed logins", append(excerptAttrs("username", username), "failures", n)...)
		} else {
			s.peerLog(slog.LevelInfo, "whispeer: login failed", excerptAttrs("username", username)...)
		}
		return nil, "", &opError{whispeer.CodeUnauthorized, errAuthFailed}
	}
	th.Succeed(username, addr)
	token, err := s.srv.issuer.Issue(u.Name())
	if err != nil {
		s.log().Error("whispeer: issue token", "error", err)
		return nil, "", &opError{whispeer.CodeInternal, "internal error"}
	}
	return u, token, nil
}

// remoteIP returns the client's address without its port.
func (s *session) remoteIP() string {
	addr := s.link.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// authenticate verifies a token, the server's own or an application's,
// and authenticates the connection as its user, or, on a connection
// authenticated already, refreshes its credentials: the new token's user,
// permissions and expiry replace the old ones. The caller confirms, then
// ends the subscriptions the new permissions do not cover with
// recheckSubscriptions. It returns the token's claims.
func (s *session) authenticate(token string) (auth.Claims, *opError) {
	claims, u, err := s.srv.verifyToken(token)
	if err != nil {
		s.srv.stats.authFailures.Add(1)
		s.peerLog(slog.LevelInfo, "whispeer: token refused", excerptAttrs("reason", err.Error())...)
		return claims, &opError{whispeer.CodeUnauthorized, errAuthFailed}
	}
	s.user = u
	if e := s.authenticated(); e != nil {
		return claims, e
	}
	if !s.tokenAccepted(claims.ID) {
		return claims, &opError{whispeer.CodeUnauthorized, errorText(errTokenRevoked)}
	}
	s.expireAt(claims.ExpiresAt)
	return claims, nil
}

// checkSubscribe checks a pattern and the user's right to subscribe to it.
func (s *session) checkSubscribe(pattern string) *opError {
	if err := match.ValidatePattern(pattern, match.DefaultLimits); err != nil {
		return s.invalid("invalid topic: " + err.Error())
	}
	if !s.user.CanSubscribe(pattern) {
		return s.deny("subscribe to", pattern)
	}
	return nil
}

// subscription is what a protocol asks of the broker for one subscribe.
type subscription struct {
	key        subKey
	pattern    string
	replay     int
	handler    whispeer.Handler
	replayed   whispeer.Handler // the handler of the messages replayed
	subscriber string           // the broker's subscriber id
	// resume asks to start after offset of epoch, on a topic.
	resume        bool
	epoch, offset uint64
	// incomplete tells the client that a catch-up could not deliver
	// every stored message it should have (replay.go).
	incomplete func()
	pacing     whispeer.Pacing
	// durable names a durable QoS 2 subscription, whose cursor the
	// client's PUBRECs advance (qos2.go); "" for others.
	durable string
	// watch, when set, gets the join and leave events of the pattern's
	// other clients (presence.go).
	watch presence.Watcher
}

// subscribe makes the broker subscription, holding deliveries back until
// the caller sends its confirmation with release, which it must do
// whatever subscribe returns. A resume the broker cannot serve in full
// (another epoch, an offset past the topic's, messages removed) is made
// all the same, not recovered (whispeer.Subscription.Recovered).
func (s *session) subscribe(sub *subscription) (*whispeer.Subscription, *opError) {
	if max := s.srv.cfg.Server.MaxSubscriptions; len(s.subs) >= max {
		return nil, s.invalidCode(whispeer.CodeLimit, "too many subscriptions: the limit is "+strconv.Itoa(max))
	}
	if e := s.holdDurable(sub); e != nil {
		return nil, e
	}
	s.prepare()
	sub.pacing = s.pacing(sub.incomplete, sub.replayed)
	bs, err := s.srv.broker.Subscribe(sub.pattern, sub.handler, sub.options()...)
	s.markDurable(sub, err == nil)
	if err != nil {
		s.srv.stats.badFrames.Add(1)
		return nil, brokerError(err)
	}
	s.subs[sub.key] = bs
	s.countSubs()
	s.joinPresence(sub)
	return bs, nil
}

// options returns the broker's options for sub. Subscriptions are sync:
// the handler runs in the publisher's goroutine and only queues bytes,
// which is why it may borrow the message (a QoS 1 window keeps a copy of
// the id). They are raw: with the broker sealing payloads, clients get the
// envelopes, which only they can open.
func (sub *subscription) options() []whispeer.SubscribeOption {
	opts := []whispeer.SubscribeOption{
		whispeer.WithInline(),
		subopt.Borrow,
		subopt.Raw,
		whispeer.WithSubscriber(sub.subscriber),
		whispeer.WithReplay(sub.replay),
		whispeer.WithPacing(sub.pacing),
	}
	if sub.resume {
		opts = append(opts, whispeer.WithResume(sub.epoch, sub.offset))
	}
	if sub.durable != "" {
		opts = append(opts, whispeer.WithDurable(sub.durable), whispeer.WithManualAck())
	}
	return opts
}

// invalidCode counts a refused frame and returns its error with code.
func (s *session) invalidCode(code whispeer.Code, text string) *opError {
	s.srv.stats.badFrames.Add(1)
	return &opError{code: code, text: text}
}

// unsubscribe ends the subscription named key, and reports whether there
// was one. QoS 1 copies already sent stay in flight until acked or given
// up.
func (s *session) unsubscribe(key subKey) bool {
	sub, ok := s.subs[key]
	if !ok {
		return false
	}
	sub.Unsubscribe()
	delete(s.subs, key)
	s.leavePresence(sub.Pattern(), key)
	if d, ok := s.durable[key]; ok {
		s.srv.durables.detach(d, true) // the client ended it
		delete(s.durable, key)
	}
	s.countSubs()
	return true
}

// deny refuses an operation the user's permissions do not allow.
func (s *session) deny(op, topic string) *opError {
	s.srv.stats.denied.Add(1)
	s.peerLog(slog.LevelInfo, "whispeer: permission denied", append([]any{"op", op}, excerptAttrs("topic", topic)...)...)
	return &opError{whispeer.CodeForbidden, "permission denied: may not " + op + " " + quote(topic)}
}

// quote returns s as a Go-quoted string, shortened; the error frame escapes
// it again for JSON.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(s)
}
