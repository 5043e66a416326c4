package server

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/store/redis"
)

// The admin API of a cluster's node answers for every node: it asks the
// others on the control channel (store/redis Control), each answers with
// its own view (answer, in cluster_control.go), and it merges their views
// with its own. A node that does not answer within cluster.timeout is
// named in MissingNodes.

// The kinds of the control channel's requests and notices.
const (
	ctlStatus      = "status"
	ctlTopics      = "topics"
	ctlConnections = "connections"
	ctlDisconnect  = "disconnect_user"
	ctlPresence    = "presence"
	ctlJoinLeave   = "join_leave" // a notice
)

// maxPeerConnections bounds the connections one node lists for another.
const maxPeerConnections = 10000

// maxPeerUsers bounds the users present in a topic that one node lists
// for another, whatever the request's limit of clients: the cluster's
// distinct users are counted exactly while every node has at most as
// many.
const maxPeerUsers = 10000

// The bodies of the control channel's requests and replies.
type (
	topicsRequest struct {
		Pattern string `json:"pattern"`
		Limit   int    `json:"limit"`
	}
	userRequest struct {
		User string `json:"user"`
	}
	connectionsReply struct {
		Connections []admin.Connection `json:"connections"`
		Truncated   bool               `json:"truncated"`
	}
	disconnectReply struct {
		Closed int `json:"closed"`
	}
	presenceRequest struct {
		Topic string `json:"topic"`
		Limit int    `json:"limit"`
	}
	presenceReply struct {
		Clients []admin.PresenceClient `json:"clients"`
		Count   int                    `json:"count"`
		// Users are the node's users present, at most maxPeerUsers of
		// them; UserCount is how many there are, listed or not, and
		// AllUsers reports that Users lists every one (false from a
		// node that does not say).
		Users     []string `json:"users"`
		UserCount int      `json:"user_count"`
		AllUsers  bool     `json:"all_users"`
	}
)

// peerReply is one other node's reply to a request.
type peerReply struct {
	node string
	body []byte
}

// gather asks every other live node of the cluster the request kind with
// req, within cluster.timeout, and returns the replies and the nodes that
// did not give one. A server alone asks no one.
func (s *Server) gather(ctx context.Context, kind string, req any) (replies []peerReply, missing []string) {
	if s.node == nil || s.node.ctl == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Cluster.Timeout)
	defer cancel()
	peers, err := s.peers(ctx)
	if err != nil {
		s.log.Warn("whispeer: listing the cluster's nodes failed", "error", err)
		return nil, []string{"?"}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, peers
	}
	rs, missing, err := s.node.ctl.Ask(ctx, peers, kind, body)
	if err != nil {
		s.log.Warn("whispeer: a request on the cluster's control channel failed", "kind", kind, "error", err)
		return nil, peers
	}
	for _, r := range rs {
		if r.Err != "" {
			s.log.Warn("whispeer: a node could not answer", "node", truncateName(r.Node), "kind", kind, "error", truncateName(r.Err))
			missing = append(missing, r.Node)
			continue
		}
		replies = append(replies, peerReply{r.Node, r.Body})
	}
	slices.Sort(missing)
	return replies, missing
}

// peers returns the names of the cluster's other live nodes.
func (s *Server) peers(ctx context.Context) ([]string, error) {
	infos, err := s.node.st.Nodes(ctx, nodeTTL)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(infos))
	for _, n := range infos {
		if n.Name != s.node.name {
			names = append(names, n.Name)
		}
	}
	return names, nil
}

// decodeReply decodes a peer's reply into v, or names the peer missing.
func (s *Server) decodeReply(r peerReply, v any, missing *[]string) bool {
	if err := json.Unmarshal(r.body, v); err != nil {
		s.log.Warn("whispeer: a damaged reply on the cluster's control channel", "node", truncateName(r.node), "error", err)
		*missing = append(*missing, r.node)
		return false
	}
	return true
}

// nodeName returns the server's name in its cluster, "" alone.
func (s *Server) nodeName() string {
	if s.node == nil {
		return ""
	}
	return s.node.name
}

// ClusterStatus sums the counters of the cluster's nodes, or returns nil
// for a server alone.
func (s *Server) ClusterStatus(ctx context.Context) *admin.ClusterStatus {
	if s.node == nil {
		return nil
	}
	own := s.Status()
	cs := &admin.ClusterStatus{StartedAt: own.StartedAt}
	add := func(st admin.Status) {
		cs.Nodes++
		cs.Connections += max(st.Connections, 0)
		cs.Subscriptions += max(st.Subscriptions, 0)
		cs.MessagesIn += st.MessagesIn
		cs.FramesOut += st.FramesOut
		cs.Dropped += st.Dropped
		if !st.StartedAt.IsZero() && st.StartedAt.Before(cs.StartedAt) {
			cs.StartedAt = st.StartedAt
		}
	}
	add(own)
	replies, missing := s.gather(ctx, ctlStatus, struct{}{})
	for _, r := range replies {
		var st admin.Status
		if s.decodeReply(r, &st, &missing) {
			add(st)
		}
	}
	cs.MissingNodes = missing
	return cs
}

// ClusterTopics lists the topics of every node matching pattern: a topic
// subscribed to or published to on several nodes is listed once, with
// their subscribers added up and the most messages any of them routed.
func (s *Server) ClusterTopics(ctx context.Context, pattern string, limit int) (admin.TopicList, error) {
	own, err := s.Topics(pattern, limit+1)
	if err != nil {
		return admin.TopicList{}, err
	}
	replies, missing := s.gather(ctx, ctlTopics, topicsRequest{pattern, limit})
	byName := make(map[string]*admin.Topic, len(own))
	merge := func(ts []admin.Topic) {
		for _, t := range ts[:min(len(ts), limit+1)] {
			m := byName[t.Name]
			if m == nil {
				byName[t.Name] = &t
				continue
			}
			m.Subscribers += max(t.Subscribers, 0)
			m.Messages = max(m.Messages, t.Messages) // each node routes every message of a topic it has subscribers to
			if t.LastOffset > m.LastOffset {
				m.LastOffset, m.Retained, m.Epoch, m.FirstOffset = t.LastOffset, t.Retained, t.Epoch, t.FirstOffset
			}
		}
	}
	merge(own)
	for _, r := range replies {
		var ts []admin.Topic
		if s.decodeReply(r, &ts, &missing) {
			merge(ts)
		}
	}
	list := admin.TopicList{Topics: make([]admin.Topic, 0, len(byName)), MissingNodes: missing}
	for _, t := range byName {
		list.Topics = append(list.Topics, *t)
	}
	slices.SortFunc(list.Topics, func(a, b admin.Topic) int { return strings.Compare(a.Name, b.Name) })
	if len(list.Topics) > limit {
		list.Topics, list.Truncated = list.Topics[:limit], true
	}
	return list, nil
}

// ClusterConnections lists the connections of every node, user's only
// when user is not empty, each with its node.
func (s *Server) ClusterConnections(ctx context.Context, user string) admin.ConnectionList {
	own := s.userConnections(user, 0)
	list := admin.ConnectionList{Connections: own.Connections}
	replies, missing := s.gather(ctx, ctlConnections, userRequest{user})
	for _, r := range replies {
		var cr connectionsReply
		if !s.decodeReply(r, &cr, &missing) {
			continue
		}
		if len(cr.Connections) > maxPeerConnections {
			cr.Connections, cr.Truncated = cr.Connections[:maxPeerConnections], true
		}
		for _, c := range cr.Connections {
			c.Node = r.node
			list.Connections = append(list.Connections, c)
		}
		list.Truncated = list.Truncated || cr.Truncated
	}
	slices.SortStableFunc(list.Connections, func(a, b admin.Connection) int { return strings.Compare(a.Node, b.Node) })
	list.MissingNodes = missing
	return list
}

// userConnections returns the server's connections, user's only when
// user is not empty, at most limit of them (all for 0), with the node's
// name.
func (s *Server) userConnections(user string, limit int) connectionsReply {
	var out connectionsReply
	for _, c := range s.Connections() {
		if user != "" && c.User != user {
			continue
		}
		if limit > 0 && len(out.Connections) == limit {
			out.Truncated = true
			break
		}
		c.Node = s.nodeName()
		out.Connections = append(out.Connections, c)
	}
	return out
}

// ClusterDisconnectUser closes user's connections on every node.
func (s *Server) ClusterDisconnectUser(ctx context.Context, user string) admin.Disconnected {
	d := admin.Disconnected{User: user, Closed: s.DisconnectUser(user)}
	replies, missing := s.gather(ctx, ctlDisconnect, userRequest{user})
	for _, r := range replies {
		var dr disconnectReply
		if s.decodeReply(r, &dr, &missing) {
			d.Closed += max(dr.Closed, 0)
		}
	}
	d.MissingNodes = missing
	return d
}

// ClusterPresence describes who is subscribed to topic on every node, for
// the admin API, at most limit clients listed (presence.list_limit when
// limit ≤ 0).
func (s *Server) ClusterPresence(ctx context.Context, topic string, limit int) (admin.Presence, error) {
	if limit <= 0 {
		limit = s.cfg.Presence.ListLimit
	}
	p, err := s.Presence(topic, limit)
	if err != nil || s.node == nil {
		return p, err
	}
	return s.mergePresence(ctx, p, limit), nil
}

// mergePresence adds the other nodes' presence in p.Topic to p, this
// node's, listing at most limit clients. Its Users are the distinct users
// across the nodes, exact when every client is listed or every node lists
// all its users for the others (at most maxPeerUsers each); otherwise a
// lower bound, and Truncated is set since more clients are present than
// are listed.
func (s *Server) mergePresence(ctx context.Context, p admin.Presence, limit int) admin.Presence {
	users := userCount{all: true, set: make(map[string]struct{})}
	own := s.presence.Users(p.Topic, maxPeerUsers)
	users.add(own, p.Users, len(own) >= p.Users)
	for i := range p.Clients {
		p.Clients[i].Node = s.node.name
	}
	replies, missing := s.gather(ctx, ctlPresence, presenceRequest{p.Topic, limit})
	for _, r := range replies {
		var pr presenceReply
		if !s.decodeReply(r, &pr, &missing) {
			continue
		}
		p.Count += max(pr.Count, 0)
		for _, c := range pr.Clients[:min(len(pr.Clients), limit)] {
			c.Node = r.node
			p.Clients = append(p.Clients, c)
		}
		users.add(pr.Users[:min(len(pr.Users), maxPeerUsers)], pr.UserCount, pr.AllUsers && len(pr.Users) <= maxPeerUsers)
	}
	slices.SortFunc(p.Clients, func(a, b admin.PresenceClient) int {
		return cmp.Or(cmp.Compare(a.User, b.User), cmp.Compare(a.Node, b.Node), cmp.Compare(a.Conn, b.Conn))
	})
	if len(p.Clients) >= p.Count { // every client is listed: count their users
		users = userCount{all: true, set: make(map[string]struct{})}
		for _, c := range p.Clients {
			users.set[c.User] = struct{}{}
		}
	}
	if len(p.Clients) > limit {
		p.Clients = p.Clients[:limit]
	}
	p.Users, p.Truncated, p.MissingNodes = users.count(), len(p.Clients) < p.Count, missing
	return p
}

// userCount counts the distinct users present in a topic across nodes.
type userCount struct {
	set  map[string]struct{} // the users the nodes listed
	all  bool                // every node listed all its users
	most int                 // the most users present on one node
}

// add counts a node's users: the listed ones, how many it has and
// whether it listed them all.
func (u *userCount) add(listed []string, n int, all bool) {
	for _, name := range listed {
		u.set[name] = struct{}{}
	}
	u.all = u.all && all
	u.most = max(u.most, n, len(listed))
}

// count returns the distinct users, or when a node did not list all its
// own, the most that can be told: at least as many as any one node has.
func (u *userCount) count() int {
	if u.all {
		return len(u.set)
	}
	return max(len(u.set), u.most)
}

// truncateName bounds a peer's name or text in logs.
func truncateName(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// Interface guards.
var (
	_ admin.ClusterSource  = (*Server)(nil)
	_ redis.ControlHandler = (*Server)(nil)
)
