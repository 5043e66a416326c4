package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/hook"
	"github.com/whispeer-io/whispeer/plugins/metrics"
	"github.com/whispeer-io/whispeer/server/auth"
	"github.com/whispeer-io/whispeer/server/config"
	"github.com/whispeer-io/whispeer/server/presence"
	"github.com/whispeer-io/whispeer/transport"
	"github.com/whispeer-io/whispeer/transport/tcp"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// DefaultShutdownTimeout bounds the graceful shutdown that ListenAndServe
// starts when its context is done.
const DefaultShutdownTimeout = 10 * time.Second

// Server serves a broker to clients speaking the PopSub JSON protocol over
// WebSocket and the native protocol over WebSocket and TCP. Its methods are
// safe for concurrent use.
type Server struct {
	cfg       *config.Config
	log       *slog.Logger
	broker    *whispeer.Broker
	connHooks *hook.Set          // the connection hooks of the broker's plugins
	durables  *durables          // the durable QoS 2 subscriptions (durable.go)
	presence  *presence.Registry // who is subscribed to each topic; nil when disabled (presence.go)
	ownBroker bool
	store     bool   // the server opened a store for its broker
	shared    shared // the fan-out of the publishes of no session (path.go)
	users     *auth.Users
	issuer    *auth.Issuer
	apps      *auth.Apps     // applications whose tokens the server trusts (apptokens.go)
	denied    *auth.DenyList // revoked token ids
	throttle  *auth.Throttle // of failed logins
	peerGate  *peerGate      // rate-limits the log lines that peers cause
	ws        *ws.Handler
	tcp       *tcp.Server
	mux       *http.ServeMux
	http      *http.Server
	stats     counters
	hooks     hooks
	ops       operations // plugins, admin API, metrics: admin.go, plugins.go

	mu           sync.Mutex
	addr         net.Addr
	shutdownOnce sync.Once
	shutdownErr  error

	// httpConns counts the connections on server.port that are not (yet)
	// WebSocket connections: they count toward max_connections too.
	httpConns atomic.Int64

	// storeCorrupt counts the damaged records the store the server opened
	// found, when it counts them (corruptCounter).
	storeCorrupt func() uint64

	// node is the server's part in a cluster; nil for a server alone.
	node *node
}

// readHeaderTimeout bounds the time a client may take to send a request's
// headers on server.port and admin.listen.
const readHeaderTimeout = 10 * time.Second

// httpConnState counts the HTTP connections on server.port, and closes a
// new one at once when there are server.max_connections already. A
// connection upgraded to WebSocket leaves the count; the WebSocket handler
// counts it from then on.
func (s *Server) httpConnState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		if s.httpConns.Add(1) > int64(s.cfg.Server.MaxConnections) {
			s.stats.httpRefused.Add(1)
			c.Close()
		}
	case http.StateHijacked, http.StateClosed:
		s.httpConns.Add(-1)
	}
}

// serveHTTP serves a request on server.port, or answers 503 and closes
// the connection when the HTTP and WebSocket connections together exceed
// server.max_connections.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.httpConns.Load()+int64(s.ws.Len()) > int64(s.cfg.Server.MaxConnections) {
		s.stats.httpRefused.Add(1)
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Option configures a Server.
type Option func(*options)

type options struct {
	logger  *slog.Logger
	broker  *whispeer.Broker
	metrics *metrics.Plugin
	plugins []whispeer.Plugin
}

// WithLogger sets the server's logger; the default is slog.Default().
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithBroker makes the server serve b, a broker the caller owns and closes,
// instead of creating one. Replay then reaches as far as b's history (see
// whispeer.WithHistory).
func WithBroker(b *whispeer.Broker) Option { return func(o *options) { o.broker = b } }

// WithPlugin adds p to the plugins of the broker the server makes, after
// those that plugins.enabled names; every call adds one more. A server
// given a broker with WithBroker runs that broker's plugins instead.
func WithPlugin(p whispeer.Plugin) Option {
	return func(o *options) { o.plugins = append(o.plugins, p) }
}

// New returns a server for cfg. It validates cfg, refuses the settings that
// Config.Security rejects for the configured host and logs the warnings it
// returns, and builds the user set, the token issuer and, unless WithBroker
// gives one, a broker keeping its messages in the store that cfg.Store
// names (opened here, closed by Shutdown), or without a store
// cfg.Replay.Size messages per topic in memory.
func New(cfg *config.Config, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	warnings, err := cfg.Security()
	if err != nil {
		return nil, err // it names the settings to change
	}
	for _, w := range warnings {
		o.logger.Warn("whispeer: insecure setting", "warning", w)
	}
	s := &Server{cfg: cfg, log: o.logger, broker: o.broker, throttle: auth.NewThrottle(auth.ThrottleConfig{}), peerGate: newPeerGate()}
	if s.users, err = auth.NewUsers(cfg.Auth.Users, auth.WithMaxHashes(cfg.Auth.MaxHashes)); err != nil {
		return nil, fmt.Errorf("users: %w", err)
	}
	if s.issuer, err = auth.NewIssuer([]byte(cfg.Server.JWTSecret.Reveal()), cfg.Auth.TokenTTL,
		auth.WithPasswordStamps(s.users.Stamp)); err != nil {
		return nil, fmt.Errorf("token issuer: %w", err)
	}
	s.ops.metrics = o.metrics
	if s.broker == nil {
		plugins, err := s.brokerPlugins()
		if err != nil {
			return nil, err
		}
		for _, p := range o.plugins {
			plugins = append(plugins, whispeer.WithPlugin(p))
		}
		var st whispeer.Store
		if cfg.Cluster.Enabled() {
			if s.node, err = openNode(cfg.Cluster, cfg.QoS.DedupWindow, cfg.Server.Port, s.log); err != nil {
				return nil, err
			}
			st = s.node.st
			plugins = append(plugins, s.node.options(cfg.Store.RetentionInterval)...)
		} else if st, err = openStore(cfg.Store, s.log); err != nil {
			return nil, err
		}
		if c, ok := st.(corruptCounter); ok {
			s.storeCorrupt = c.Corrupt
		}
		bopts := append(plugins,
			whispeer.WithHistory(cfg.Replay.Size),
			whispeer.WithMaxPayload(cfg.Server.MaxMessageBytes),
			whispeer.WithLogger(s.log),
			whispeer.WithDedup(cfg.QoS.Dedup()),
		)
		if st != nil {
			bopts = append(bopts, storeOptions(s.instrumentStore(st), cfg.Store)...)
		}
		s.broker, err = whispeer.New(bopts...)
		if err != nil {
			if st != nil {
				st.Close()
			}
			return nil, fmt.Errorf("broker: %w", err)
		}
		s.ownBroker = true
		switch {
		case s.node != nil:
			s.log.Info("whispeer: cluster node", "node", s.node.name, "redis", cfg.Cluster.Redis, "prefix", cfg.Cluster.Prefix,
				"retention_rules", len(cfg.Store.Retention))
		case st != nil:
			s.log.Info("whispeer: store", "kind", cfg.Store.Kind, "path", storePath(cfg.Store), "sync", cfg.Store.Sync,
				"retention_rules", len(cfg.Store.Retention))
		default:
			s.log.Info("whispeer: no store: replay from memory", "replay_size", cfg.Replay.Size)
		}
	}
	s.connHooks = hook.NewSet(s.broker.Plugins(), s.log)
	s.store = s.broker.HasStore() // a broker given WithBroker may have one too
	s.presence = s.newPresence()
	s.durables = newDurables(cfg.QoS.MaxDurablePerUser, cfg.QoS.DurableExpiry, s.forgetDurable)
	s.durables.touch = s.touchDurable
	conns := transport.Options{
		MaxConnections:  cfg.Server.MaxConnections,
		MaxPendingBytes: cfg.Server.MaxPendingBytes,
		WriteTimeout:    cfg.Server.WriteTimeout,
		MaxStall:        stall(cfg.Server.MaxStall),
		PingInterval:    cfg.Server.PingInterval,
		Logger:          s.log,
	}
	s.ws = ws.NewHandler(s.accept, ws.Options{Options: conns, MaxMessageBytes: cfg.Server.MaxMessageBytes,
		CheckOrigin: ws.AllowOrigins(cfg.Server.AllowedOrigins)})
	s.tcp = tcp.NewServer(s.acceptTCP, tcp.Options{Options: conns, MaxFrameBytes: cfg.Server.MaxMessageBytes})
	s.mux = http.NewServeMux()
	s.mux.Handle("GET /{$}", s.ws)
	s.mux.Handle("GET /ws", s.ws)
	s.http = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: readHeaderTimeout,
		IdleTimeout:       cfg.Server.HTTPIdleTimeout,
		ConnState:         s.httpConnState,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	err = s.restoreDurables()
	if err == nil {
		err = s.setUpOperations()
	}
	if err == nil {
		err = s.setUpApps()
	}
	if err != nil {
		if s.ownBroker {
			s.broker.Close()
		}
		return nil, err
	}
	if s.node != nil {
		s.startNode()
	}
	return s, nil
}

// Handler returns the server's HTTP handler: WebSocket upgrades at "/" and
// "/ws" and, unless admin.listen is set, the admin API, /healthz, /readyz
// and /metrics (see AdminHandler). Mount it on a mux of your own to add
// endpoints on the same port, or use Listen and Serve.
func (s *Server) Handler() http.Handler { return s.mux }

// Broker returns the broker the server serves.
func (s *Server) Broker() *whispeer.Broker { return s.broker }

// Listen opens the listener that the configuration names, server.host and
// server.port, with TLS when tls.cert_file and tls.key_file are set.
func (s *Server) Listen() (net.Listener, error) {
	addr := net.JoinHostPort(s.cfg.Server.Host, strconv.Itoa(s.cfg.Server.Port))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return s.withTLS(ln, "http/1.1")
}

// withTLS wraps ln in TLS when tls.cert_file and tls.key_file are set,
// offering the ALPN protocols protos.
func (s *Server) withTLS(ln net.Listener, protos ...string) (net.Listener, error) {
	if !s.cfg.TLS.Enabled() {
		return ln, nil
	}
	cert, err := tls.LoadX509KeyPair(s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tls.NewListener(ln, &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   protos,
	}), nil
}

// URL returns the WebSocket URL of a listener made by Listen, such as
// "ws://127.0.0.1:8080": the configured host with the listener's port.
func (s *Server) URL(ln net.Listener) string {
	scheme := "ws"
	if s.cfg.TLS.Enabled() {
		scheme = "wss"
	}
	return s.url(scheme, ln, s.cfg.Server.Port)
}

// url returns scheme://host:port for a listener: the configured host with
// the listener's port, or port when the listener has none.
func (s *Server) url(scheme string, ln net.Listener, port int) string {
	host := s.cfg.Server.Host
	if host == "" {
		host = "0.0.0.0"
	}
	if ta, ok := ln.Addr().(*net.TCPAddr); ok {
		port = ta.Port
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// Serve serves connections accepted from ln until Shutdown, and returns nil
// once Shutdown has begun, or the error that stopped it accepting.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	err := s.http.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve: %w", err)
}

// ListenAndServe listens as Listen and ListenTCP do (the latter unless
// server.tcp_port is 0) and serves until ctx is done, then shuts down
// gracefully within DefaultShutdownTimeout and returns the shutdown's
// error. It returns early with any error from listening or serving.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := s.Listen()
	if err != nil {
		return err
	}
	served := make(chan error, 3)
	go func() { served <- s.Serve(ln) }()
	s.log.Info("whispeer: listening", "url", s.URL(ln))
	serving := 1
	if aln, err := s.ListenAdmin(); err != nil || aln != nil {
		if err != nil {
			return errors.Join(err, s.Shutdown(context.Background()), <-served)
		}
		go func() { served <- s.ServeAdmin(aln) }()
		s.log.Info("whispeer: admin API listening", "addr", aln.Addr().String())
		serving++
	}
	if s.cfg.Server.TCPPort != 0 {
		tln, err := s.ListenTCP()
		if err != nil {
			return errors.Join(err, s.Shutdown(context.Background()), <-served)
		}
		go func() { served <- s.ServeTCP(tln) }()
		s.log.Info("whispeer: listening", "url", s.TCPURL(tln))
		serving++
	}
	select {
	case err = <-served:
		serving--
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), DefaultShutdownTimeout)
	defer cancel()
	err = errors.Join(err, s.Shutdown(sctx))
	for range serving {
		err = errors.Join(err, <-served)
	}
	return err
}

// Addr returns the address Serve is serving on, or nil before Serve.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Shutdown stops accepting connections, closes every connection with close
// code 1001 after writing what is queued for it, waits for the connections
// to end, and closes the broker if the server created it. When ctx is done
// first, the remaining connections are dropped and ctx's error is returned.
// Calling Shutdown again returns the first call's result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.stopNode()
	s.apps.Close()
	s.durables.close()
	errOps := s.stopOperations(ctx)
	errHTTP := s.http.Shutdown(ctx)
	var errWS, errTCP error
	var wg sync.WaitGroup
	wg.Go(func() { errWS = s.ws.Shutdown(ctx) })
	wg.Go(func() { errTCP = s.tcp.Shutdown(ctx) })
	wg.Wait()
	var errBroker error
	if s.ownBroker {
		errBroker = s.broker.Shutdown(ctx)
	}
	if err := errors.Join(errOps, errHTTP, errWS, errTCP, errBroker); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// accept starts the session of a new WebSocket connection, which its
// first message tells the protocol of.
func (s *Server) accept(c *transport.Conn) ws.Session {
	sess := s.newSession(c, "ws:"+strconv.FormatUint(c.ID(), 10))
	s.connected(sess)
	return sess
}

// acceptTCP starts the session of a new native TCP connection.
func (s *Server) acceptTCP(c *transport.Conn) tcp.Session {
	sess := s.newSession(c, "tcp:"+strconv.FormatUint(c.ID(), 10))
	sess.native = newNative(sess, false)
	s.connected(sess)
	return sess
}

// newSession starts a session and counts its connection.
func (s *Server) newSession(c *transport.Conn, id string) *session {
	s.stats.connections.Add(1)
	sess := newSession(s, c, id)
	if s.hooks.session != nil {
		s.hooks.session(sess)
	}
	return sess
}

// hooks let tests observe what the protocol does not show. They are nil
// outside tests.
type hooks struct {
	session func(*session)  // a session starts
	expired func(id string) // a QoS 1 copy is given up
}

// counters are the server's statistics; see Stats.
type counters struct {
	connections   atomic.Uint64
	published     atomic.Uint64
	loginFailures atomic.Uint64
	authFailures  atomic.Uint64
	denied        atomic.Uint64
	rateLimited   atomic.Uint64
	badFrames     atomic.Uint64
	retries       atomic.Uint64
	expired       atomic.Uint64
	qosDropped    atomic.Uint64
	undeliverable atomic.Uint64
	logSuppressed atomic.Uint64
	loginsBusy    atomic.Uint64
	authTimeouts  atomic.Uint64
	httpRefused   atomic.Uint64
	tokensExpired atomic.Uint64
}

// Stats counts a server's traffic, failures and QoS 1 work.
type Stats struct {
	WebSocket     transport.Stats
	TCP           transport.Stats
	Connections   uint64 // connections accepted
	Published     uint64 // publishes routed to the broker
	LoginFailures uint64 // logins refused: bad credentials or throttled
	AuthFailures  uint64 // tokens refused
	Denied        uint64 // publishes and subscribes refused by a user's permissions
	RateLimited   uint64 // publishes refused by max_publish_rate
	BadFrames     uint64 // frames answered with an error for their form or content
	Retries       uint64 // QoS 1 copies resent for want of an ack
	Expired       uint64 // QoS 1 copies given up after max_retries resends
	QoSDropped    uint64 // QoS 1 copies dropped because max_queued was full
	Undeliverable uint64 // native deliveries not sent: over the client's frame limit or not encodable
	LogSuppressed uint64 // log lines caused by clients and not written, over the per-address or total rate
	LoginsBusy    uint64 // logins refused because auth.max_hashes password checks were running and as many more waiting
	AuthTimeouts  uint64 // connections closed for not authenticating within server.auth_timeout
	TokensExpired uint64 // sessions ended because their token expired
	HTTPOpen      int    // HTTP connections open on server.port that are not WebSocket connections
	HTTPRefused   uint64 // HTTP requests answered 503, or connections closed at once, for server.max_connections
}

// Stats returns the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		WebSocket:     s.ws.Stats(),
		TCP:           s.tcp.Stats(),
		Connections:   s.stats.connections.Load(),
		Published:     s.stats.published.Load(),
		LoginFailures: s.stats.loginFailures.Load(),
		AuthFailures:  s.stats.authFailures.Load(),
		Denied:        s.stats.denied.Load(),
		RateLimited:   s.stats.rateLimited.Load(),
		BadFrames:     s.stats.badFrames.Load(),
		Retries:       s.stats.retries.Load(),
		Expired:       s.stats.expired.Load(),
		QoSDropped:    s.stats.qosDropped.Load(),
		Undeliverable: s.stats.undeliverable.Load(),
		LogSuppressed: s.stats.logSuppressed.Load(),
		LoginsBusy:    s.stats.loginsBusy.Load(),
		AuthTimeouts:  s.stats.authTimeouts.Load(),
		TokensExpired: s.stats.tokensExpired.Load(),
		HTTPOpen:      int(s.httpConns.Load()),
		HTTPRefused:   s.stats.httpRefused.Load(),
	}
}

// stall returns the transports' MaxStall for server.max_stall, where 0
// disables flow control.
func stall(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
