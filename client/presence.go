package client

import (
	"context"
	"fmt"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// PresenceClient is one client present in a topic.
type PresenceClient struct {
	User     string // the user it authenticated as
	ClientID string // its client id (WithClientID), or its connection's
}

// Presence is who is subscribed to a topic, as the server keeps it: by the
// exact topic or pattern subscribed to (docs/protocol.md, Presence).
type Presence struct {
	// Clients lists the clients present, sorted by user: at most the
	// server's list limit; none for Client.PresenceStats.
	Clients []PresenceClient
	// Count is how many clients are present; Users how many distinct users.
	Count, Users int
	// Truncated reports that Clients lists fewer than Count.
	Truncated bool
}

// PresenceEvent is a client joining or leaving the topic of a
// subscription made with WithPresenceEvents.
type PresenceEvent struct {
	Leave  bool // false for a join
	Client PresenceClient
}

// presenceEvents is the capacity of a subscription's queue of presence
// events; an event that finds it full is dropped and reported as
// ErrSlowConsumer.
const presenceEvents = 256

// WithPresenceEvents makes the server tell the subscription when another
// client joins or leaves its topic (or pattern, as subscribed): fn is
// called in the subscription's goroutine, between its deliveries. The
// server sends events only while the topic has at most its
// presence.join_leave_limit clients, and none for this client itself.
// Without the server's presence capability the subscription gets none.
func WithPresenceEvents(fn func(PresenceEvent)) SubscribeOption {
	return func(s *subConfig) { s.onPresence = fn }
}

// Presence asks the server who is subscribed to topic, a topic or a
// pattern exactly as subscribed to; the user must be allowed to subscribe
// to it. It waits for the answer until ctx is done or the client's
// timeout passes.
func (c *Client) Presence(ctx context.Context, topic string) (Presence, error) {
	return c.askPresence(ctx, topic, false)
}

// PresenceStats is Presence without the list: the counts alone.
func (c *Client) PresenceStats(ctx context.Context, topic string) (Presence, error) {
	return c.askPresence(ctx, topic, true)
}

// presenceReply is an answer to a PRESENCE, or the error that ends the
// wait for it.
type presenceReply struct {
	p   Presence
	err error
}

func (c *Client) askPresence(ctx context.Context, topic string, stats bool) (Presence, error) {
	if err := match.ValidatePattern(topic, topicLimits); err != nil {
		return Presence{}, fmt.Errorf("%w %q: %w", whispeer.ErrInvalidPattern, topic, err)
	}
	ch := make(chan presenceReply, 1)
	c.mu.Lock()
	switch {
	case c.closing:
		c.mu.Unlock()
		return Presence{}, ErrClosed
	case c.cur == nil:
		c.mu.Unlock()
		return Presence{}, ErrDisconnected
	case !c.cur.caps.Has(wire.CapPresence):
		c.mu.Unlock()
		return Presence{}, fmt.Errorf("%w: the server does not offer presence", ErrUnsupported)
	}
	c.presenceID++
	if c.presenceID == 0 {
		c.presenceID = 1
	}
	id := c.presenceID
	if c.presence == nil {
		c.presence = make(map[uint32]chan presenceReply)
	}
	c.presence[id] = ch
	b, _ := wire.AppendPresence(nil, &wire.Presence{ID: id, Stats: stats, Topic: bytesOf(topic)}) // topic validated
	c.queueLocked(c.cur, b)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.presence, id)
		c.mu.Unlock()
	}()

	t := time.NewTimer(c.cfg.timeout)
	defer t.Stop()
	select {
	case r := <-ch:
		return r.p, r.err
	case <-t.C:
		return Presence{}, fmt.Errorf("%w: no answer to the presence of %q", ErrTimeout, topic)
	case <-ctx.Done():
		return Presence{}, ctx.Err()
	case <-c.done:
		return Presence{}, ErrClosed
	}
}

// onPresenceInfo hands a PRESENCEINFO to the call waiting for it, if
// any.
func (c *Client) onPresenceInfo(p *wire.PresenceInfo) {
	c.mu.Lock()
	ch := c.presence[p.ID]
	c.mu.Unlock()
	if ch == nil {
		return // the caller gave up
	}
	var r presenceReply
	if p.Code != wire.CodeOK {
		r.err = serverError(p.Code, false, wire.TypePresence, p.Text)
	} else {
		r.p = Presence{Count: int(p.Count), Users: int(p.Users), Truncated: p.Truncated}
		if n := p.Clients.Len(); n > 0 {
			r.p.Clients = make([]PresenceClient, 0, n)
		}
		for user, client := range p.Clients.All() {
			r.p.Clients = append(r.p.Clients, PresenceClient{User: string(user), ClientID: string(client)})
		}
	}
	select {
	case ch <- r:
	default: // answered already: the server repeated an id
	}
}

// onJoinLeave queues a JOINLEAVE for its subscription's goroutine.
func (c *Client) onJoinLeave(j *wire.JoinLeave) {
	s := c.lookup(j.SID)
	if s == nil || s.events == nil {
		return // ended, or an event for a subscription that did not ask
	}
	e := PresenceEvent{Leave: j.Leave, Client: PresenceClient{User: string(j.User), ClientID: string(j.Client)}}
	select {
	case s.events <- e:
	default:
		c.report(fmt.Errorf("subscription %q: presence event dropped: %w", s.pattern, ErrSlowConsumer))
	}
}
