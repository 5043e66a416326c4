package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/server/admin"
	"github.com/whispeer-io/whispeer/server/config"
)

// operations is the server's state for plugins and operators: the open
// connections, the metrics plugin, the admin API and its own listener.
type operations struct {
	started  time.Time
	conns    conns
	metrics  *metrics.Plugin // nil unless the metrics plugin runs
	admin    *admin.Handler
	http     *http.Server // admin.listen's, or nil
	draining atomic.Bool  // Shutdown has begun: not ready
}

// WithMetrics makes the server serve p's metrics at /metrics, with its own
// counters added: for a broker given with WithBroker that has p
// registered. A server that makes its broker runs the plugins that
// plugins.enabled names instead.
func WithMetrics(p *metrics.Plugin) Option { return func(o *options) { o.metrics = p } }

// brokerPlugins returns the options that register the configured plugins
// with the broker the server makes, and notes the metrics plugin.
func (s *Server) brokerPlugins() ([]whispeer.Option, error) {
	ps, mp, err := newPlugins(s.cfg, s.log)
	if err != nil {
		return nil, err
	}
	s.ops.metrics = mp
	opts := make([]whispeer.Option, len(ps))
	for i, p := range ps {
		opts[i] = whispeer.WithPlugin(p)
	}
	return opts, nil
}

// setUpOperations mounts the admin API, the health endpoints and /metrics
// on the server's mux, or on admin.listen's, and adds the server's
// counters to the metrics. New calls it last; on an error it closes the
// broker if the server made it.
func (s *Server) setUpOperations() error {
	s.ops.started = time.Now()
	opts := admin.Options{Token: s.cfg.Admin.Token.Reveal(), AuthHealth: s.cfg.Admin.AuthHealth, Logger: s.log,
		Keys: apiKeys(s.cfg.Admin.Keys), Limits: s.apiLimits()}
	if mp := s.ops.metrics; mp != nil {
		for _, c := range s.collectors() {
			if err := mp.Registry().Register(c); err != nil {
				if s.ownBroker {
					s.broker.Close()
				}
				return fmt.Errorf("metrics: %w (a metrics plugin serves one server)", err)
			}
		}
		opts.Metrics = mp.Handler()
	}
	s.ops.admin = admin.NewHandler(s, opts)
	if s.cfg.Admin.Listen == "" {
		s.ops.admin.Register(s.mux)
		return nil
	}
	s.ops.http = &http.Server{Handler: s.ops.admin, ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout: s.cfg.Server.HTTPIdleTimeout, ErrorLog: s.http.ErrorLog}
	return nil
}

// apiKeys returns the admin API's keys of ks.
func apiKeys(ks []config.APIKey) []admin.Key {
	out := make([]admin.Key, len(ks))
	for i, k := range ks {
		out[i] = admin.Key{Name: k.Name, Secret: k.Key.Reveal(), Publish: k.Publish, Read: k.Read, Admin: k.Admin,
			MaxPublishRate: k.MaxPublishRate}
	}
	return out
}

// apiLimits returns the bounds of the admin API's publish bodies: room
// for the largest message in base64 and its headers.
func (s *Server) apiLimits() admin.Limits {
	body := s.cfg.Server.MaxMessageBytes/3*4 + 64<<10
	return admin.Limits{MaxBodyBytes: body, MaxBatchBodyBytes: max(body, admin.DefaultMaxBatchBodyBytes)}
}

// ListenAdmin opens the listener that admin.listen names, for ServeAdmin.
// It returns a nil listener when admin.listen is empty: the admin API and
// the health endpoints are then served with the WebSocket endpoint.
func (s *Server) ListenAdmin() (net.Listener, error) {
	if s.ops.http == nil {
		return nil, nil
	}
	ln, err := net.Listen("tcp", s.cfg.Admin.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen admin: %w", err)
	}
	return ln, nil
}

// ServeAdmin serves the admin API, /healthz, /readyz and /metrics on ln,
// made by ListenAdmin, until Shutdown. It returns nil at once for a nil
// listener, and nil once Shutdown has begun.
func (s *Server) ServeAdmin(ln net.Listener) error {
	if ln == nil {
		return nil
	}
	if err := s.ops.http.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve admin: %w", err)
	}
	return nil
}

// AdminHandler returns the handler of the admin API and the health and
// metrics endpoints, to mount elsewhere.
func (s *Server) AdminHandler() http.Handler { return s.ops.admin }

// stopOperations marks the server as no longer ready and shuts the admin
// listener down. Shutdown calls it first.
func (s *Server) stopOperations(ctx context.Context) error {
	s.ops.draining.Store(true)
	if s.ops.http == nil {
		return nil
	}
	return s.ops.http.Shutdown(ctx)
}

// Status returns the server's state for the admin API.
func (s *Server) Status() admin.Status {
	bs, st := s.broker.Stats(), s.Stats()
	return admin.Status{
		Version:       version(),
		StartedAt:     s.ops.started,
		UptimeSeconds: time.Since(s.ops.started).Seconds(),
		Connections:   st.WebSocket.Open + st.TCP.Open,
		Topics:        bs.Topics,
		Subscriptions: bs.Subscriptions,
		MessagesIn:    bs.Published,
		FramesOut:     st.WebSocket.FramesOut + st.TCP.FramesOut,
		Dropped:       bs.Dropped + st.QoSDropped + st.Expired + st.Undeliverable,
	}
}

// Topics describes the broker's topics matching pattern for the admin API.
func (s *Server) Topics(pattern string, limit int) ([]admin.Topic, error) {
	ts, err := s.broker.Topics(pattern, limit)
	if err != nil {
		return nil, err
	}
	out := make([]admin.Topic, len(ts))
	for i, t := range ts {
		out[i] = admin.Topic{Name: t.Name, Subscribers: t.Subscribers, Messages: t.Messages, LastOffset: t.Seq, Retained: t.Retained}
		// The topic's history, in the store or in memory, describes it.
		if info, err := s.broker.TopicInfo(context.Background(), t.Name); err == nil {
			out[i].Retained, out[i].Epoch, out[i].FirstOffset = info.Messages, info.Epoch, info.First
			out[i].LastOffset = max(out[i].LastOffset, info.Last)
		}
	}
	return out, nil
}

// Connections describes the open client connections, oldest first.
func (s *Server) Connections() []admin.Connection {
	cs := s.ops.conns.all()
	out := make([]admin.Connection, len(cs))
	for i, c := range cs {
		info := c.connInfo()
		out[i] = admin.Connection{
			ID: info.ID, RemoteAddr: info.RemoteAddr, Transport: info.Transport, User: info.User,
			ConnectedAt: c.since, Subscriptions: int(c.subs.Load()), InFlight: c.sess.inFlight(),
		}
		if p := c.protocol.Load(); p != nil {
			out[i].Protocol = *p
		}
	}
	return out
}

// Disconnect closes the connection id, telling the client it was closed by
// the administrator. It returns admin.ErrNotFound for an unknown id.
func (s *Server) Disconnect(id string) error {
	c, ok := s.ops.conns.get(id)
	if !ok {
		return admin.ErrNotFound
	}
	c.sess.closeWith(errClosedByAdmin)
	return nil
}

// Ready returns nil while the server serves and its broker is open.
func (s *Server) Ready() error {
	switch {
	case s.ops.draining.Load():
		return errors.New("shutting down")
	case s.Addr() == nil:
		return errors.New("not listening yet")
	case s.broker.Closed():
		return errors.New("the broker is closed")
	}
	return s.clusterReady()
}

// inFlight returns the QoS 1 copies awaiting sess's acks.
func (sess *session) inFlight() int {
	sess.mu.Lock()
	w := sess.window
	sess.mu.Unlock()
	if w == nil {
		return 0
	}
	n, _ := w.len()
	return n
}

// qosWindows returns the QoS 1 copies in flight and queued on every
// connection.
func (s *Server) qosWindows() (inFlight, queued int) {
	for _, c := range s.ops.conns.all() {
		c.sess.mu.Lock()
		w := c.sess.window
		c.sess.mu.Unlock()
		if w != nil {
			f, q := w.len()
			inFlight, queued = inFlight+f, queued+q
		}
	}
	return inFlight, queued
}

// version returns the main module's version and VCS revision.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	for _, st := range info.Settings {
		if st.Key == "vcs.revision" && len(st.Value) >= 12 {
			v += " " + st.Value[:12]
		}
	}
	return strings.TrimSpace(v)
}

var _ admin.Source = (*Server)(nil)
