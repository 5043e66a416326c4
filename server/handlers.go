package server

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// errAuthFailed is the text of every refused login and token, so that a
// client cannot tell an unknown user from a wrong password.
const errAuthFailed = "authentication failed"

// warnFailures is the number of consecutive failed logins for one user name
// or address from which each failure is logged as a warning.
const warnFailures = 2

// login checks a user name and password and answers with a token. Failures
// are throttled per user name and per remote address.
func (s *session) login(f *json.Frame) {
	l := s.srv.limiter
	userKey, ipKey := "user:"+f.Username, "ip:"+s.remoteIP()
	if wait := max(l.Allow(userKey), l.Allow(ipKey)); wait > 0 {
		s.srv.stats.loginFailures.Add(1)
		s.log().Warn("whispeer: login throttled", "username", f.Username, "retry_in", wait)
		s.sendError("too many failed logins: retry in " + wait.Round(time.Millisecond).String())
		return
	}
	u, err := s.srv.users.Authenticate(f.Username, f.Password)
	if err != nil {
		s.srv.stats.loginFailures.Add(1)
		n := max(l.Fail(userKey), l.Fail(ipKey))
		if n >= warnFailures {
			s.log().Warn("whispeer: repeated failed logins", "username", f.Username, "failures", n)
		} else {
			s.log().Info("whispeer: login failed", "username", f.Username)
		}
		s.sendError(errAuthFailed)
		return
	}
	l.Succeed(userKey)
	token, err := s.srv.issuer.Issue(u.Name())
	if err != nil {
		s.log().Error("whispeer: issue token", "error", err)
		s.sendError("internal error")
		return
	}
	s.reply(json.AppendLoginResponse(newFrame(32+len(token)), token))
}

// remoteIP returns the client's address without its port.
func (s *session) remoteIP() string {
	addr := s.conn.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// auth verifies a token and authenticates the connection as its user.
func (s *session) auth(f *json.Frame) {
	claims, err := s.srv.issuer.Verify(f.Token)
	if err != nil {
		s.srv.stats.authFailures.Add(1)
		s.log().Info("whispeer: token refused", "reason", err)
		s.sendError(errAuthFailed)
		return
	}
	u, ok := s.srv.users.Lookup(claims.Subject)
	if !ok {
		s.srv.stats.authFailures.Add(1)
		s.log().Info("whispeer: token for an unknown user", "username", claims.Subject)
		s.sendError(errAuthFailed)
		return
	}
	s.user = u
	s.reply(json.AppendAuthenticated(newFrame(48)))
}

// publish routes a client's message through the broker and, at QoS 1 and
// above, confirms it with a puback.
func (s *session) publish(f *json.Frame) {
	if err := match.ValidateTopic(f.Topic, match.DefaultLimits); err != nil {
		s.fail("invalid topic: " + err.Error())
		return
	}
	if !s.user.CanPublish(f.Topic) {
		s.deny("publish to", f.Topic)
		return
	}
	if !s.rate.allow(time.Now()) {
		s.srv.stats.rateLimited.Add(1)
		s.sendError("publish rate exceeded: the limit is " + strconv.Itoa(s.srv.cfg.Server.MaxPublishRate) + " per second")
		return
	}
	qos := whispeer.QoS(min(f.QoS, 1)) // QoS 2 is served as QoS 1
	opts := publishOptions(f.MessageID, qos)
	err := s.srv.broker.Publish(context.Background(), f.Topic, bytes.Clone(f.Payload), opts...)
	if err != nil {
		s.fail(errorText(err))
		return
	}
	s.srv.stats.published.Add(1)
	if qos > whispeer.AtMostOnce {
		s.reply(json.AppendPubAck(newFrame(32+len(f.MessageID)), f.MessageID))
	}
}

// publishOptions returns the options of a publish, without allocating for
// the common QoS 0 publish without an id.
func publishOptions(id string, qos whispeer.QoS) []whispeer.PublishOption {
	switch {
	case id == "" && qos == whispeer.AtMostOnce:
		return nil
	case id == "":
		return []whispeer.PublishOption{whispeer.WithQoS(qos)}
	case qos == whispeer.AtMostOnce:
		return []whispeer.PublishOption{whispeer.WithID(id)}
	}
	return []whispeer.PublishOption{whispeer.WithID(id), whispeer.WithQoS(qos)}
}

// subscribe subscribes the connection to a topic or pattern: the
// confirmation first, then the replayed history, then live messages.
func (s *session) subscribe(f *json.Frame) {
	pattern := f.Topic
	if err := match.ValidatePattern(pattern, match.DefaultLimits); err != nil {
		s.fail("invalid topic: " + err.Error())
		return
	}
	if !s.user.CanSubscribe(pattern) {
		s.deny("subscribe to", pattern)
		return
	}
	if f.HasOffset || f.Epoch != "" {
		s.fail("resuming from an offset is not supported yet: use \"last\"")
		return
	}
	if _, ok := s.subs[pattern]; ok {
		s.fail("already subscribed to " + quote(pattern))
		return
	}
	if max := s.srv.cfg.Server.MaxSubscriptions; len(s.subs) >= max {
		s.fail("too many subscriptions: the limit is " + strconv.Itoa(max))
		return
	}
	s.prepare()
	sub, err := s.brokerSubscribe(pattern, s.replayCount(f))
	if err != nil {
		s.srv.stats.badFrames.Add(1)
		msg := errorText(err)
		s.release(ws.Frame(ws.Text, json.AppendError(newFrame(40+2*len(msg)), msg)))
		return
	}
	s.subs[pattern] = sub
	s.release(ws.Frame(ws.Text, json.AppendSubscribed(newFrame(32+len(pattern)), pattern)))
}

// prepare makes the state that deliveries need, before the first
// subscription exists, and starts holding deliveries back.
func (s *session) prepare() {
	if s.subs == nil {
		s.subs = make(map[string]*whispeer.Subscription)
		q := s.srv.cfg.QoS
		w := newInflight(s, q.AckTimeout, q.MaxRetries, q.MaxInflight, q.MaxQueued)
		s.mu.Lock() // for observers outside the reader goroutine
		s.window = w
		s.mu.Unlock()
	}
	s.holding.Store(true)
}

// replayCount returns how many past messages per topic a subscribe asks
// for: its "last", or the configured replay size.
func (s *session) replayCount(f *json.Frame) int {
	if f.HasLast {
		return min(f.Last, s.srv.cfg.Replay.Size)
	}
	return s.srv.cfg.Replay.Size
}

// unsubscribe ends a subscription. QoS 1 copies already sent stay in
// flight until acked or given up.
func (s *session) unsubscribe(f *json.Frame) {
	sub, ok := s.subs[f.Topic]
	if !ok {
		s.fail("not subscribed to " + quote(f.Topic))
		return
	}
	sub.Unsubscribe()
	delete(s.subs, f.Topic)
	s.reply(json.AppendUnsubscribed(newFrame(32+len(f.Topic)), f.Topic))
}

// deny refuses an operation the user's permissions do not allow.
func (s *session) deny(op, topic string) {
	s.srv.stats.denied.Add(1)
	s.log().Info("whispeer: permission denied", "op", op, "topic", topic)
	s.sendError("permission denied: may not " + op + " " + quote(topic))
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
