package admin

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// DefaultTopicLimit is how many topics GET /api/topics lists when the
// request sets no limit; MaxTopicLimit is the most it lists.
const (
	DefaultTopicLimit = 1000
	MaxTopicLimit     = 100000
)

// Options configures a Handler. The zero Options serves the health
// endpoints only.
type Options struct {
	// Token is the bearer token of the /api endpoints; empty disables
	// them unless there are Keys.
	Token string
	// Keys are the API keys of applications' backends.
	Keys []Key
	// Limits bound the publish and history endpoints; zero fields take
	// the defaults.
	Limits Limits
	// AuthHealth requires the token on /healthz, /readyz and /metrics too.
	AuthHealth bool
	// Metrics serves /metrics; nil answers 404.
	Metrics http.Handler
	// Logger records the connections closed through the API; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now returns the time for rates; nil means time.Now.
	Now func() time.Time
}

// Handler serves the admin API over a Source. Make one with NewHandler.
type Handler struct {
	src      Source
	opts     Options
	limits   Limits
	keyRates []*rate.Limiter // publish rates of Options.Keys, by index
	log      *slog.Logger
	mux      *http.ServeMux

	mu   sync.Mutex
	last sample // the start of the current rate window
	rate Rates  // the rates of the last window that closed
}

// sample is a point of the counters that rates are computed from.
type sample struct {
	at        time.Time
	in, out   uint64
	populated bool
}

// minWindow is the shortest window rates are computed over.
const minWindow = time.Second

// NewHandler returns a handler reporting on src.
func NewHandler(src Source, opts Options) *Handler {
	h := &Handler{src: src, opts: opts, limits: opts.Limits.withDefaults(), keyRates: newRates(opts.Keys), log: opts.Logger, mux: http.NewServeMux()}
	if h.log == nil {
		h.log = slog.Default()
	}
	if h.opts.Now == nil {
		h.opts.Now = time.Now
	}
	h.Register(h.mux)
	return h
}

// Register mounts the handler's endpoints on mux: "/api/", "/healthz",
// "/readyz" and "/metrics".
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("GET /api/status", h.api(h.status))
	mux.Handle("GET /api/topics", h.api(h.topics))
	mux.Handle("GET /api/connections", h.api(h.connections))
	mux.Handle("DELETE /api/connections/{id}", h.api(h.disconnect))
	mux.Handle("/api/status", h.api(notAllowed("GET")))
	mux.Handle("/api/topics", h.api(notAllowed("GET")))
	mux.Handle("/api/connections", h.api(notAllowed("GET")))
	mux.Handle("/api/connections/{id}", h.api(notAllowed("DELETE")))
	h.registerRevocations(mux)
	h.registerPresence(mux)
	h.registerPublish(mux)
	h.registerTopic(mux)
	h.registerNodes(mux)
	mux.Handle("/api/", h.api(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.URL.Path)
	}))
	mux.Handle("GET /healthz", h.health(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	}))
	mux.Handle("GET /readyz", h.health(h.ready))
	mux.Handle("GET /metrics", h.health(h.metrics))
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		mux.Handle(path, h.health(notAllowed("GET")))
	}
}

// notAllowed answers 405 for an endpoint that takes only method.
func notAllowed(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		allow := method
		if method == http.MethodGet {
			allow += ", HEAD"
		}
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path+": use "+method)
	}
}

// ServeHTTP serves the admin endpoints.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// api wraps an /api endpoint of the operators: 404 while the API is
// disabled, then the credentials, which must be the admin token or a key
// with admin set.
func (h *Handler) api(f http.HandlerFunc) http.Handler {
	return h.app(func(c *caller, w http.ResponseWriter, r *http.Request) {
		if !c.admin {
			writeError(w, http.StatusForbidden, "the key "+strconv.Quote(c.name)+" may not use "+r.URL.Path+": it needs admin = true")
			return
		}
		f(w, r)
	})
}

// health wraps a health or metrics endpoint, checking the credentials
// only when AuthHealth asks for it.
func (h *Handler) health(f http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.opts.AuthHealth {
			f(w, r)
			return
		}
		switch c := h.identify(w, r); {
		case c == nil:
		case !c.admin:
			writeError(w, http.StatusForbidden, "the key "+strconv.Quote(c.name)+" may not use "+r.URL.Path+": it needs admin = true")
		default:
			f(w, r)
		}
	})
}

func (h *Handler) status(w http.ResponseWriter, r *http.Request) {
	st := h.src.Status()
	st.Rates = h.rates(st)
	if cs, ok := h.src.(ClusterSource); ok {
		st.Cluster = cs.ClusterStatus(r.Context())
	}
	writeJSON(w, http.StatusOK, st)
}

// rates returns the rates of the window that st closes, if it is at least
// minWindow long, else those of the last window that closed. The first
// window starts when the server did.
func (h *Handler) rates(st Status) Rates {
	now := h.opts.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.last.populated {
		h.last = sample{at: st.StartedAt, populated: true}
	}
	dt := now.Sub(h.last.at)
	if dt < minWindow && h.rate.WindowSeconds > 0 {
		return h.rate
	}
	if sec := dt.Seconds(); sec > 0 {
		h.rate = Rates{
			MessagesIn:    float64(st.MessagesIn-min(st.MessagesIn, h.last.in)) / sec,
			FramesOut:     float64(st.FramesOut-min(st.FramesOut, h.last.out)) / sec,
			WindowSeconds: sec,
		}
	}
	if dt >= minWindow {
		h.last = sample{at: now, in: st.MessagesIn, out: st.FramesOut, populated: true}
	}
	return h.rate
}

func (h *Handler) topics(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pattern := q.Get("pattern")
	if pattern == "" {
		pattern = "#"
	}
	limit := DefaultTopicLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxTopicLimit {
			writeError(w, http.StatusBadRequest, "limit must be a number from 1 to "+strconv.Itoa(MaxTopicLimit))
			return
		}
		limit = n
	}
	var list TopicList
	if cs, ok := h.src.(ClusterSource); ok {
		list, err := cs.ClusterTopics(r.Context(), pattern, limit)
		if err != nil {
			writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "whispeer: "))
			return
		}
		if list.Topics == nil {
			list.Topics = []Topic{}
		}
		writeJSON(w, http.StatusOK, list)
		return
	}
	topics, err := h.src.Topics(pattern, limit+1)
	if err != nil {
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), "whispeer: "))
		return
	}
	list = TopicList{Topics: topics}
	if len(topics) > limit {
		list = TopicList{Topics: topics[:limit], Truncated: true}
	}
	if list.Topics == nil {
		list.Topics = []Topic{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (h *Handler) connections(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get("user")
	if len(user) > 256 {
		writeError(w, http.StatusBadRequest, "user must hold at most 256 bytes")
		return
	}
	var list ConnectionList
	if cs, ok := h.src.(ClusterSource); ok {
		list = cs.ClusterConnections(r.Context(), user)
	} else {
		list.Connections = h.src.Connections()
		if user != "" {
			list.Connections = slices.DeleteFunc(list.Connections, func(c Connection) bool { return c.User != user })
		}
	}
	if list.Connections == nil {
		list.Connections = []Connection{}
	}
	writeJSON(w, http.StatusOK, list)
}

func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	err := h.src.Disconnect(id)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no connection "+strconv.Quote(id))
	case err != nil:
		writeError(w, http.StatusInternalServerError, err.Error())
	default:
		h.log.Info("whispeer: connection closed by the admin API", slog.Group("conn", slog.String("id", id)), "admin_remote", r.RemoteAddr)
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *Handler) ready(w http.ResponseWriter, _ *http.Request) {
	if err := h.src.Ready(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (h *Handler) metrics(w http.ResponseWriter, r *http.Request) {
	if h.opts.Metrics == nil {
		writeError(w, http.StatusNotFound, "metrics are off: add \"metrics\" to plugins.enabled")
		return
	}
	h.opts.Metrics.ServeHTTP(w, r)
}

// writeJSON writes v as the JSON body of a response with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v) // the client went away, or v is one of ours and encodes
}

// writeError writes {"error": msg, "code": …} with status, the code
// being the protocols' name for the class of error (see ErrorCode).
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, ErrorBody{Error: msg, Code: codeOfStatus(status)})
}

var _ http.Handler = (*Handler)(nil)
