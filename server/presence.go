package server

import (
	"errors"
	"fmt"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/presence"
)

// Presence: who is subscribed to each topic, kept by the exact topic or
// pattern subscribed to (package presence), asked by clients of the topics
// they may subscribe to and by the admin API of any topic.

// errPresenceDisabled answers presence requests when presence.enabled is
// false.
var errPresenceDisabled = errors.New("whispeer: presence is disabled on this server")

// newPresence returns the server's presence registry, or nil when
// presence.enabled is false.
func (s *Server) newPresence() *presence.Registry {
	if !s.cfg.Presence.Enabled {
		return nil
	}
	if s.node != nil {
		return presence.New(s.cfg.Presence.JoinLeaveLimit, presence.WithRelay(s.relayPresence))
	}
	return presence.New(s.cfg.Presence.JoinLeaveLimit)
}

// presenceClient returns the session as its topics' presence lists it.
func (s *session) presenceClient() presence.Client {
	c := presence.Client{ClientID: s.clientID, Conn: s.id}
	if c.ClientID == "" {
		c.ClientID = s.id
	}
	if s.user != nil {
		c.User = s.user.Name()
	}
	return c
}

// joinPresence makes the session present in the pattern of its new
// subscription sub; sub.watch, if set, gets the events of the others.
func (s *session) joinPresence(sub *subscription) {
	if p := s.srv.presence; p != nil {
		p.Join(sub.pattern, s.presenceClient(), presenceKey(sub.key), sub.watch)
	}
}

// leavePresence records that the subscription key to pattern ended.
func (s *session) leavePresence(pattern string, key subKey) {
	if p := s.srv.presence; p != nil {
		p.Leave(pattern, s.id, presenceKey(key))
	}
}

// presenceKey names a subscription for the presence registry.
func presenceKey(k subKey) presence.Key { return presence.Key{SID: k.sid, Pattern: k.pattern} }

// checkPresence checks a presence request: presence is enabled, the
// topic or pattern is valid, the user may subscribe to it and the
// request is within the connection's rate, which publishes and presence
// requests share (server.max_publish_rate).
func (s *session) checkPresence(topic string) *opError {
	if s.srv.presence == nil {
		return s.invalidCode(whispeer.CodeUnavailable, errorText(errPresenceDisabled))
	}
	if err := match.ValidatePattern(topic, match.DefaultLimits); err != nil {
		return s.invalid("invalid topic: " + err.Error())
	}
	if !s.user.CanSubscribe(topic) {
		return s.deny("ask the presence of", topic)
	}
	if !s.rate.allow() {
		s.srv.stats.rateLimited.Add(1)
		return &opError{whispeer.CodeLimit, "rate limit exceeded: presence requests count as publishes"}
	}
	return nil
}

// Presence describes who is subscribed to topic for the admin API, with
// at most limit clients listed (presence.list_limit when limit ≤ 0).
func (s *Server) Presence(topic string, limit int) (admin.Presence, error) {
	p := s.presence
	if p == nil {
		return admin.Presence{}, admin.ErrPresenceDisabled
	}
	if err := match.ValidatePattern(topic, match.DefaultLimits); err != nil {
		return admin.Presence{}, fmt.Errorf("%w %s: %w", whispeer.ErrInvalidPattern, quote(topic), err)
	}
	if limit <= 0 {
		limit = s.cfg.Presence.ListLimit
	}
	clients, total := p.List(topic, limit)
	out := admin.Presence{Topic: topic, Clients: make([]admin.PresenceClient, len(clients)), Count: total,
		Users: p.Stats(topic).Users, Truncated: len(clients) < total}
	for i, c := range clients {
		out.Clients[i] = admin.PresenceClient{User: c.User, ClientID: c.ClientID, Conn: c.Conn}
	}
	return out, nil
}

var _ admin.Presencer = (*Server)(nil)
