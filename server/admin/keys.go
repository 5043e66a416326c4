package admin

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"

	"github.com/whispeer-io/whispeer/internal/match"
	"golang.org/x/time/rate"
)

// Key is an API key of an application's backend: a bearer token that may
// publish to the topics its Publish patterns match and read the history
// and description of those its Read patterns match. A key with Admin set
// may also use every endpoint that Options.Token may.
type Key struct {
	Name    string   // names the key in logs; its messages' publisher is "api:" + Name
	Secret  string   // the bearer token
	Publish []string // topic patterns
	Read    []string // topic patterns
	Admin   bool
	// MaxPublishRate bounds the messages it publishes per second, single
	// or in batches, with bursts of a second's worth; 0 means unlimited.
	MaxPublishRate int
}

// caller is who sent a request: the admin token or one of the keys.
type caller struct {
	name  string // "admin" for the admin token, else the key's name
	admin bool
	key   *Key          // nil for the admin token
	rate  *rate.Limiter // the key's publishes; nil for unlimited
}

// adminCaller is the caller that presents Options.Token.
var adminCaller = &caller{name: "admin", admin: true}

// Publisher returns the name under which the caller's messages are
// published and their QoS 2 ids de-duplicated.
func (c *caller) Publisher() string { return "api:" + c.name }

// mayPublish reports whether the caller may publish to topic.
func (c *caller) mayPublish(topic string) bool {
	return c.key == nil || matchesAny(c.key.Publish, topic)
}

// mayRead reports whether the caller may read topic's history and
// description.
func (c *caller) mayRead(topic string) bool {
	return c.key == nil || matchesAny(c.key.Read, topic)
}

// matchesAny reports whether one of patterns matches topic.
func matchesAny(patterns []string, topic string) bool {
	for _, p := range patterns {
		if match.Matches(p, topic) {
			return true
		}
	}
	return false
}

// allowPublish reports whether the caller may publish n messages now,
// taking them from its key's rate.
func (c *caller) allowPublish(n int) bool { return c.rate == nil || c.rate.AllowN(time.Now(), n) }

// newRates returns the limiters of keys' publish rates, nil for a key
// without one.
func newRates(keys []Key) []*rate.Limiter {
	out := make([]*rate.Limiter, len(keys))
	for i, k := range keys {
		if k.MaxPublishRate > 0 {
			out[i] = rate.NewLimiter(rate.Limit(k.MaxPublishRate), k.MaxPublishRate)
		}
	}
	return out
}

// apiEnabled reports whether the /api endpoints serve: once there is an
// admin token or a key.
func (h *Handler) apiEnabled() bool { return h.opts.Token != "" || len(h.opts.Keys) > 0 }

// identify returns the caller that the request's bearer token names, or
// answers 401 or 403 and returns nil. Every credential is compared, in
// constant time, whichever matches.
func (h *Handler) identify(w http.ResponseWriter, r *http.Request) *caller {
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if auth == "" || !ok || !strings.EqualFold(scheme, "Bearer") {
		w.Header().Set("WWW-Authenticate", `Bearer realm="whispeer"`)
		writeError(w, http.StatusUnauthorized, "missing bearer token: send Authorization: Bearer <admin.token or an admin.keys key>")
		return nil
	}
	token = strings.TrimSpace(token)
	var found *caller
	if h.opts.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(h.opts.Token)) == 1 {
		found = adminCaller
	}
	for i := range h.opts.Keys {
		k := &h.opts.Keys[i]
		if k.Secret != "" && subtle.ConstantTimeCompare([]byte(token), []byte(k.Secret)) == 1 && found == nil {
			found = &caller{name: k.Name, admin: k.Admin, key: k, rate: h.keyRates[i]}
		}
	}
	if found == nil {
		writeError(w, http.StatusForbidden, "wrong admin token")
	}
	return found
}

// app wraps an endpoint that applications' keys may use: 404 while the
// API is disabled, then the credentials.
func (h *Handler) app(f func(*caller, http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.apiEnabled() {
			writeError(w, http.StatusNotFound, "the admin API is disabled: set admin.token or admin.keys")
			return
		}
		if c := h.identify(w, r); c != nil {
			f(c, w, r)
		}
	})
}
