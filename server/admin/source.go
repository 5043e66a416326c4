package admin

import (
	"errors"
	"time"
)

// Source is what the admin API reports on and acts upon: a running
// server. Its methods are called concurrently.
type Source interface {
	// Status returns the server's counters.
	Status() Status
	// Topics describes the topics matching pattern, sorted by name, at most
	// limit of them.
	Topics(pattern string, limit int) ([]Topic, error)
	// Connections describes the open client connections.
	Connections() []Connection
	// Disconnect closes the connection id; it returns ErrNotFound when
	// there is no such connection.
	Disconnect(id string) error
	// Ready returns nil once the server accepts clients and its broker is
	// open, or why not.
	Ready() error
}

// ErrNotFound reports a connection that does not exist (or no longer).
var ErrNotFound = errors.New("whispeer: no such connection")

// Status is a server's state and counters, as GET /api/status returns it
// with its rates added.
type Status struct {
	Version       string    `json:"version"`
	StartedAt     time.Time `json:"started_at"`
	UptimeSeconds float64   `json:"uptime_seconds"`
	Connections   int       `json:"connections"`   // open now
	Topics        int       `json:"topics"`        // published to
	Subscriptions int       `json:"subscriptions"` // live
	MessagesIn    uint64    `json:"messages_in"`   // publishes routed
	FramesOut     uint64    `json:"frames_out"`    // frames written to clients: deliveries and replies
	Dropped       uint64    `json:"dropped"`       // messages dropped for any subscriber
	Rates         Rates     `json:"rates"`
	// Cluster sums the counters of every node of a cluster; absent for a
	// server alone.
	Cluster *ClusterStatus `json:"cluster,omitempty"`
}

// Rates are per-second rates over the window since the previous status
// request at least a second older, or since start for the first.
type Rates struct {
	MessagesIn    float64 `json:"messages_in_per_second"`
	FramesOut     float64 `json:"frames_out_per_second"`
	WindowSeconds float64 `json:"window_seconds"`
}

// Topic is one topic, as GET /api/topics lists it.
type Topic struct {
	Name        string `json:"name"`
	Subscribers int    `json:"subscribers"` // subscriptions matching it
	Messages    uint64 `json:"messages"`    // routed since the server started
	LastOffset  uint64 `json:"last_offset"` // the newest message's sequence number
	Retained    int    `json:"retained"`    // messages kept for replay: in memory, or in the store
	// The topic's epoch, which changes when its history is lost (without
	// a store, with every start), and the offset of its oldest message kept.
	Epoch       uint64 `json:"epoch,omitempty"`
	FirstOffset uint64 `json:"first_offset,omitempty"`
}

// Connection is one client connection, as GET /api/connections lists it.
type Connection struct {
	ID            string    `json:"id"`
	RemoteAddr    string    `json:"remote_addr"`
	Transport     string    `json:"transport"`          // ws or tcp
	Protocol      string    `json:"protocol,omitempty"` // json or native, once known
	User          string    `json:"user,omitempty"`     // once authenticated
	ConnectedAt   time.Time `json:"connected_at"`
	Subscriptions int       `json:"subscriptions"`
	InFlight      int       `json:"in_flight"`      // QoS 1 copies awaiting acks
	Node          string    `json:"node,omitempty"` // the cluster node it is connected to
}

// The bodies of the list endpoints.
type (
	// TopicList is the body of GET /api/topics.
	TopicList struct {
		Topics    []Topic `json:"topics"`
		Truncated bool    `json:"truncated"` // more topics match than were listed
		// MissingNodes are the cluster's nodes that did not answer in time.
		MissingNodes []string `json:"missing_nodes,omitempty"`
	}
	// ConnectionList is the body of GET /api/connections.
	ConnectionList struct {
		Connections []Connection `json:"connections"`
		// Truncated reports a node that had more connections than it lists.
		Truncated bool `json:"truncated,omitempty"`
		// MissingNodes are the cluster's nodes that did not answer in time.
		MissingNodes []string `json:"missing_nodes,omitempty"`
	}
)
