package admin

import (
	"net/http"
	"time"
)

// NodeSource is the optional capability of a [Source] that can list the
// nodes of its cluster, which GET /api/nodes needs; a server alone lists
// itself.
type NodeSource interface {
	// Nodes returns the cluster's nodes, sorted by name.
	Nodes() ([]Node, error)
}

// Node is one node of a cluster, as GET /api/nodes lists it.
type Node struct {
	Name          string    `json:"name"`
	Address       string    `json:"address"`
	Connections   int       `json:"connections"`
	Subscriptions int       `json:"subscriptions"`
	StartedAt     time.Time `json:"started_at"`
	SeenAt        time.Time `json:"seen_at"` // when it last reported
	Self          bool      `json:"self"`    // the node that answered
}

// NodeList is the body of GET /api/nodes.
type NodeList struct {
	Nodes []Node `json:"nodes"`
	// Connections and Subscriptions add up the nodes'.
	Connections   int `json:"connections"`
	Subscriptions int `json:"subscriptions"`
}

func (h *Handler) registerNodes(mux *http.ServeMux) {
	mux.Handle("GET /api/nodes", h.api(h.nodes))
	mux.Handle("/api/nodes", h.api(notAllowed("GET")))
}

func (h *Handler) nodes(w http.ResponseWriter, _ *http.Request) {
	ns, ok := h.src.(NodeSource)
	if !ok {
		writeError(w, http.StatusNotFound, "this server lists no nodes")
		return
	}
	nodes, err := ns.Nodes()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "listing the nodes: "+err.Error())
		return
	}
	list := NodeList{Nodes: nodes}
	if list.Nodes == nil {
		list.Nodes = []Node{}
	}
	for _, n := range nodes {
		list.Connections += n.Connections
		list.Subscriptions += n.Subscriptions
	}
	writeJSON(w, http.StatusOK, list)
}
