package admin

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	pjson "github.com/whispeer-io/whispeer/protocol/json"
)

// Disconnected is the body of DELETE /api/users/{user}/connections.
type Disconnected struct {
	User   string `json:"user"`
	Closed int    `json:"closed"` // connections closed
	// MissingNodes are the cluster's nodes that did not answer in time:
	// the user's connections there may be open still.
	MissingNodes []string `json:"missing_nodes,omitempty"`
}

// TopicDescriber is a Source that describes one topic: GET
// /api/topics/{topic} answers 404 for a Source that is not one.
type TopicDescriber interface {
	// Topic describes topic, or returns ErrNoTopic when the broker knows
	// nothing of it: no message, no subscriber.
	Topic(topic string) (Topic, error)
}

// ErrNoTopic reports a topic that nothing was published to or subscribed
// to, and that has no history.
var ErrNoTopic = errors.New("whispeer: no such topic")

// registerTopic mounts the endpoints of one topic and of one user. A
// topic with levels has its slashes escaped in the path:
// /api/topics/chat%2Froom/history.
func (h *Handler) registerTopic(mux *http.ServeMux) {
	mux.Handle("GET /api/topics/{topic}", h.app(h.topic))
	mux.Handle("GET /api/topics/{topic}/history", h.app(h.backend(h.history)))
	mux.Handle("DELETE /api/users/{user}/connections", h.api(h.disconnectUser))
	mux.Handle("/api/topics/{topic}", h.app(ignoreCaller(notAllowed("GET"))))
	mux.Handle("/api/topics/{topic}/history", h.app(ignoreCaller(notAllowed("GET"))))
	mux.Handle("/api/users/{user}/connections", h.api(notAllowed("DELETE")))
}

// readable returns the topic of r's path when it is valid and the caller
// may read it, or answers 400 or 403.
func readable(c *caller, w http.ResponseWriter, r *http.Request) (string, bool) {
	topic := r.PathValue("topic")
	if err := match.ValidateTopic(topic, match.DefaultLimits); err != nil {
		writeError(w, http.StatusBadRequest, "invalid topic "+boundedQuote(topic)+": "+err.Error()+" (escape its slashes: chat%2Froom)")
		return "", false
	}
	if !c.mayRead(topic) {
		writeError(w, http.StatusForbidden, "the key "+strconv.Quote(c.name)+" may not read "+strconv.Quote(topic))
		return "", false
	}
	return topic, true
}

func (h *Handler) topic(c *caller, w http.ResponseWriter, r *http.Request) {
	topic, ok := readable(c, w, r)
	if !ok {
		return
	}
	d, ok := h.src.(TopicDescriber)
	if !ok {
		writeError(w, http.StatusNotFound, "this server describes no topic")
		return
	}
	t, err := d.Topic(topic)
	switch {
	case errors.Is(err, ErrNoTopic):
		writeError(w, http.StatusNotFound, "no topic "+strconv.Quote(topic))
	case err != nil:
		writeError(w, StatusOf(whispeer.ErrorCode(err)), errorText(err))
	default:
		writeJSON(w, http.StatusOK, t)
	}
}

// historyQuery is what GET /api/topics/{topic}/history asks for.
type historyQuery struct {
	from, epoch uint64
	limit       int
}

// parseHistoryQuery reads ?from=&epoch=&limit=, or answers 400.
func parseHistoryQuery(w http.ResponseWriter, r *http.Request) (historyQuery, bool) {
	q, v := historyQuery{limit: DefaultHistoryLimit}, r.URL.Query()
	for _, f := range []struct {
		name string
		to   *uint64
	}{{"from", &q.from}, {"epoch", &q.epoch}} {
		if s := v.Get(f.name); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, f.name+" must be a whole number")
				return q, false
			}
			*f.to = n
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxHistoryLimit {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(MaxHistoryLimit))
			return q, false
		}
		q.limit = n
	}
	return q, true
}

func (h *Handler) history(b Backend, c *caller, w http.ResponseWriter, r *http.Request) {
	topic, ok := readable(c, w, r)
	if !ok {
		return
	}
	q, ok := parseHistoryQuery(w, r)
	if !ok {
		return
	}
	var items []byte
	n, next := 0, q.from
	info, err := b.History(r.Context(), topic, q.from, q.limit, func(m *HistoryMessage) error {
		if n > 0 {
			items = append(items, ',')
		}
		items = appendHistoryMessage(items, m)
		n, next = n+1, m.Offset+1
		return nil
	})
	if err != nil {
		writeError(w, StatusOf(whispeer.ErrorCode(err)), errorText(err))
		return
	}
	if q.epoch != 0 && q.epoch != info.Epoch {
		writeJSON(w, http.StatusConflict, struct {
			ErrorBody
			Epoch uint64 `json:"epoch"`
		}{ErrorBody{"the topic's history was lost since epoch " + strconv.FormatUint(q.epoch, 10) + ": read it again from the start of epoch " + strconv.FormatUint(info.Epoch, 10), whispeer.CodeConflict.String()}, info.Epoch})
		return
	}
	if n == 0 {
		next = max(q.from, info.FirstOffset, 1)
		next = min(next, info.LastOffset+1)
	}
	writeHistory(w, topic, info, next, items)
}

// writeHistory writes the body of GET /api/topics/{topic}/history, by
// hand so that every JSON payload stays the bytes it was published as.
func writeHistory(w http.ResponseWriter, topic string, info TopicInfo, next uint64, items []byte) {
	b := make([]byte, 0, len(items)+256)
	b = append(b, `{"topic":`...)
	b = pjson.AppendString(b, topic)
	for _, f := range []struct {
		name string
		v    uint64
	}{{"epoch", info.Epoch}, {"first_offset", info.FirstOffset}, {"last_offset", info.LastOffset}, {"next", next}} {
		b = append(b, `,"`...)
		b = append(b, f.name...)
		b = append(b, `":`...)
		b = strconv.AppendUint(b, f.v, 10)
	}
	b = append(b, `,"messages":[`...)
	b = append(b, items...)
	b = append(b, "]}\n"...)
	writeRaw(w, http.StatusOK, b)
}

// appendHistoryMessage appends m as one message of a history: its payload
// as the JSON protocol delivers it, the JSON value as it was published or,
// with "encoding", text or base64; "sealed":true for an envelope.
func appendHistoryMessage(b []byte, m *HistoryMessage) []byte {
	b = append(b, `{"offset":`...)
	b = strconv.AppendUint(b, m.Offset, 10)
	b = append(b, `,"message_id":`...)
	b = pjson.AppendString(b, m.ID)
	b = append(b, `,"time":"`...)
	b = m.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","qos":`...)
	b = strconv.AppendUint(b, uint64(m.QoS), 10)
	if len(m.Headers) > 0 {
		b = append(b, `,"headers":{`...)
		first := true
		for k, v := range m.Headers {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = pjson.AppendString(b, k)
			b = append(b, ':')
			b = pjson.AppendString(b, v)
		}
		b = append(b, '}')
	}
	b = append(b, `,"payload":`...)
	enc := ""
	switch p := m.Payload; {
	case pjson.Valid(p) && len(bytes.TrimSpace(p)) == len(p):
		b = append(b, p...)
	case utf8.Valid(p):
		enc = "text"
		b = pjson.AppendString(b, string(p))
	default:
		enc = "base64"
		b = pjson.AppendPayload(b, p) // {"base64":"…"}: p is not UTF-8
	}
	if enc != "" {
		b = append(b, `,"encoding":"`...)
		b = append(b, enc...)
		b = append(b, '"')
	}
	if m.Sealed {
		b = append(b, `,"sealed":true`...)
	}
	return append(b, '}')
}

func (h *Handler) disconnectUser(w http.ResponseWriter, r *http.Request) {
	b, ok := h.src.(Backend)
	if !ok {
		writeError(w, http.StatusNotFound, "this server closes no user's connections")
		return
	}
	user := r.PathValue("user")
	if user == "" || len(user) > 256 {
		writeError(w, http.StatusBadRequest, "user must hold 1 to 256 bytes")
		return
	}
	d := Disconnected{User: user}
	if cs, ok := h.src.(ClusterSource); ok {
		d = cs.ClusterDisconnectUser(r.Context(), user)
	} else {
		d.Closed = b.DisconnectUser(user)
	}
	h.log.Info("whispeer: a user's connections closed by the admin API", "user", bounded(user), "closed", d.Closed,
		"missing_nodes", len(d.MissingNodes), "admin_remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, d)
}
