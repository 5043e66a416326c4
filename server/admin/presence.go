package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// MaxPresenceLimit is the most clients GET /api/topics/{topic}/presence
// lists, whatever its limit asks.
const MaxPresenceLimit = 100000

// Presencer is a Source that keeps who is subscribed to each topic. The
// presence endpoint answers 404 for a Source that is not one.
type Presencer interface {
	// Presence describes who is subscribed to topic, a topic or a pattern
	// as subscribed to, listing at most limit clients (the source's
	// default when limit ≤ 0). It returns ErrPresenceDisabled when the
	// source keeps no presence, and an error wrapping
	// whispeer.ErrInvalidPattern for a bad topic.
	Presence(topic string, limit int) (Presence, error)
}

// ErrPresenceDisabled reports a source that keeps no presence.
var ErrPresenceDisabled = errors.New("whispeer: presence is disabled: set presence.enabled")

// Presence is who is subscribed to a topic, the body of
// GET /api/topics/{topic}/presence.
type Presence struct {
	Topic     string           `json:"topic"`
	Clients   []PresenceClient `json:"clients"`
	Count     int              `json:"count"`     // clients present, listed or not
	Users     int              `json:"users"`     // distinct users among them
	Truncated bool             `json:"truncated"` // more clients are present than were listed
	// MissingNodes are the cluster's nodes that did not answer in time.
	MissingNodes []string `json:"missing_nodes,omitempty"`
}

// PresenceClient is one client present in a topic.
type PresenceClient struct {
	User     string `json:"user"`
	ClientID string `json:"client_id"`      // the id the client gave, or its connection's
	Conn     string `json:"conn"`           // the connection's id, as GET /api/connections lists it
	Node     string `json:"node,omitempty"` // the cluster node it is connected to
}

// registerPresence mounts GET /api/topics/{topic}/presence on mux. A topic
// with levels has its slashes escaped: /api/topics/chat%2Froom/presence.
func (h *Handler) registerPresence(mux *http.ServeMux) {
	mux.Handle("GET /api/topics/{topic}/presence", h.api(h.presence))
	mux.Handle("/api/topics/{topic}/presence", h.api(notAllowed("GET")))
}

func (h *Handler) presence(w http.ResponseWriter, r *http.Request) {
	p, ok := h.src.(Presencer)
	if !ok {
		writeError(w, http.StatusNotFound, "this server keeps no presence")
		return
	}
	limit := 0
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxPresenceLimit {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(MaxPresenceLimit))
			return
		}
		limit = n
	}
	var pr Presence
	var err error
	if cs, ok := h.src.(ClusterSource); ok {
		pr, err = cs.ClusterPresence(r.Context(), r.PathValue("topic"), limit)
	} else {
		pr, err = p.Presence(r.PathValue("topic"), limit)
	}
	switch {
	case errors.Is(err, ErrPresenceDisabled):
		writeError(w, http.StatusNotFound, strings.TrimPrefix(err.Error(), "whispeer: "))
	case err != nil:
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "whispeer: "))
	default:
		if pr.Clients == nil {
			pr.Clients = []PresenceClient{}
		}
		writeJSON(w, http.StatusOK, pr)
	}
}
