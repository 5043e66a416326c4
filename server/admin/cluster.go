package admin

import (
	"context"
	"time"
)

// ClusterSource is the optional capability of a [Source] that is a node of
// a cluster: it answers for every node, asking the others, and names the
// nodes that did not answer in time (MissingNodes) rather than failing.
// The handler uses it, when the Source has it, for GET /api/status,
// /api/topics, /api/connections and /api/topics/{topic}/presence and for
// DELETE /api/users/{user}/connections. A server alone answers for
// itself.
type ClusterSource interface {
	// ClusterStatus returns the cluster's totals, or nil for a server
	// alone.
	ClusterStatus(ctx context.Context) *ClusterStatus
	// ClusterTopics lists the topics of every node matching pattern, at
	// most limit of them, as Topics does.
	ClusterTopics(ctx context.Context, pattern string, limit int) (TopicList, error)
	// ClusterConnections lists every node's connections, those of user
	// only when user is not empty.
	ClusterConnections(ctx context.Context, user string) ConnectionList
	// ClusterDisconnectUser closes user's connections on every node.
	ClusterDisconnectUser(ctx context.Context, user string) Disconnected
	// ClusterPresence describes who is subscribed to topic on every node,
	// as Presencer's Presence does.
	ClusterPresence(ctx context.Context, topic string, limit int) (Presence, error)
}

// ClusterStatus is the cluster's part of GET /api/status: the sums of the
// counters of the nodes that answered.
type ClusterStatus struct {
	Nodes         int       `json:"nodes"` // that answered, this one included
	Connections   int       `json:"connections"`
	Subscriptions int       `json:"subscriptions"`
	MessagesIn    uint64    `json:"messages_in"`
	FramesOut     uint64    `json:"frames_out"`
	Dropped       uint64    `json:"dropped"`
	StartedAt     time.Time `json:"started_at"` // the earliest start among them
	// MissingNodes are the live nodes that did not answer in time.
	MissingNodes []string `json:"missing_nodes,omitempty"`
}
