package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/presence"
)

// What a node answers on the control channel, and the presence events it
// relays to the other nodes and delivers from them.

// Bounds of what another node names in a request or notice: a user name
// or client id, a connection's id ("ws:" or "tcp:" and a number), and a
// node's name (cluster.node, at most 128 bytes, or a host name and port).
const (
	maxUserBytes = 256
	maxConnBytes = 64
	maxNodeBytes = 320
)

// relayQueue bounds the join and leave events waiting to be sent to the
// other nodes; one past it is dropped.
const relayQueue = 1024

// Answer answers a request of another node of the cluster with this
// node's own view. Everything in body is checked: the node may be older,
// or broken.
func (s *Server) Answer(_ context.Context, _, kind string, body []byte) ([]byte, error) {
	var v any
	switch kind {
	case ctlStatus:
		v = s.Status()
	case ctlTopics:
		var req topicsRequest
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, fmt.Errorf("topics: %w", err)
		}
		ts, err := s.Topics(req.Pattern, min(max(req.Limit, 1), admin.MaxTopicLimit)+1)
		if err != nil {
			return nil, err
		}
		v = ts
	case ctlConnections, ctlDisconnect:
		var req userRequest
		if err := json.Unmarshal(body, &req); err != nil || len(req.User) > maxUserBytes {
			return nil, fmt.Errorf("%s: want a user of at most %d bytes", kind, maxUserBytes)
		}
		if kind == ctlConnections {
			v = s.userConnections(req.User, maxPeerConnections)
		} else {
			if req.User == "" {
				return nil, errors.New("disconnect: no user")
			}
			v = disconnectReply{Closed: s.DisconnectUser(req.User)}
		}
	case ctlPresence:
		pr, err := s.localPresence(body)
		if err != nil {
			return nil, err
		}
		v = pr
	default:
		return nil, errUnknownKind(kind)
	}
	return json.Marshal(v)
}

// localPresence answers a presence request of another node.
func (s *Server) localPresence(body []byte) (presenceReply, error) {
	var req presenceRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return presenceReply{}, fmt.Errorf("presence: %w", err)
	}
	if s.presence == nil {
		return presenceReply{}, errPresenceDisabled
	}
	if err := match.ValidatePattern(req.Topic, match.DefaultLimits); err != nil {
		return presenceReply{}, fmt.Errorf("presence: %w", err)
	}
	limit := min(max(req.Limit, 1), admin.MaxPresenceLimit)
	clients, total := s.presence.List(req.Topic, limit)
	users, userCount := s.presence.Users(req.Topic, maxPeerUsers), s.presence.Stats(req.Topic).Users
	pr := presenceReply{Clients: make([]admin.PresenceClient, len(clients)), Count: total,
		Users: users, UserCount: userCount, AllUsers: len(users) >= userCount}
	for i, c := range clients {
		pr.Clients[i] = admin.PresenceClient{User: c.User, ClientID: c.ClientID, Conn: c.Conn}
	}
	return pr, nil
}

// joinLeave is a join or leave event as the nodes relay it.
type joinLeave struct {
	Topic    string `json:"topic"`
	Join     bool   `json:"join"`
	User     string `json:"user"`
	ClientID string `json:"client_id"`
	Conn     string `json:"conn"`
}

// Notice handles a notice of another node: a join or leave event in a
// topic or pattern (presence is kept by what was subscribed to), which
// this node's watchers of it get. A notice with a name out of bounds is
// dropped.
func (s *Server) Notice(from, kind string, body []byte) {
	if kind != ctlJoinLeave || s.presence == nil || !boundedText(from, maxNodeBytes) {
		return
	}
	var e joinLeave
	if err := json.Unmarshal(body, &e); err != nil || !boundedText(e.User, maxUserBytes) || !boundedText(e.ClientID, maxUserBytes) ||
		e.Conn == "" || !boundedText(e.Conn, maxConnBytes) || match.ValidatePattern(e.Topic, match.DefaultLimits) != nil {
		return
	}
	s.presence.Deliver(presence.Event{Topic: e.Topic, Join: e.Join,
		Client: presence.Client{User: e.User, ClientID: e.ClientID, Conn: from + "/" + e.Conn}})
}

// boundedText reports whether s, a name another node sent, is valid
// UTF-8 of at most n bytes.
func boundedText(s string, n int) bool {
	return len(s) <= n && utf8.ValidString(s)
}

// relayPresence queues e, a join or leave here, for the other nodes; a
// full queue drops it.
func (s *Server) relayPresence(e presence.Event) {
	body, err := json.Marshal(joinLeave{Topic: e.Topic, Join: e.Join, User: e.Client.User, ClientID: e.Client.ClientID, Conn: e.Client.Conn})
	if err != nil {
		return
	}
	select {
	case s.node.relay <- body:
	default:
	}
}

// relayLoop sends the queued join and leave events to the other nodes
// until the node stops.
func (s *Server) relayLoop() {
	n := s.node
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			return
		case body := <-n.relay:
			ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Cluster.Timeout)
			if err := n.ctl.Notify(ctx, ctlJoinLeave, body); err != nil {
				s.log.Debug("whispeer: relaying a presence event failed", "error", err)
			}
			cancel()
		}
	}
}

// clusterPresenceSlots bounds the presence requests of clients that wait
// for the other nodes at once; one past it is refused.
const clusterPresenceSlots = 64

// errPresenceBusy refuses a client's presence request while too many wait
// for the other nodes.
var errPresenceBusy = errors.New("whispeer: too many presence requests wait for the cluster's nodes: try again")

// presenceFor calls f, in a goroutine of its own when the server is a
// node of a cluster, with the presence in topic of every node, at most
// limit clients listed: a client's presence request does not hold its
// connection's reader while the other nodes answer. It returns
// errPresenceBusy when too many such requests wait.
func (s *Server) presenceFor(topic string, limit int, f func(admin.Presence)) error {
	p, err := s.Presence(topic, limit)
	if err != nil {
		return err
	}
	if s.node == nil || s.node.ctl == nil {
		f(p)
		return nil
	}
	select {
	case s.node.asks <- struct{}{}:
	default:
		return errPresenceBusy
	}
	go func() {
		defer func() { <-s.node.asks }()
		f(s.mergePresence(context.Background(), p, limit))
	}()
	return nil
}

// errUnknownKind answers a request of a kind this node does not know.
func errUnknownKind(kind string) error {
	return fmt.Errorf("unknown request %q", truncateName(kind))
}
