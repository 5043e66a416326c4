package clienttest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/pipetest"
	"github.com/whispeer-io/whispeer/internal/subopt"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// DefaultHistory is how many messages per topic the broker of a Server
// made without WithBroker keeps for replay and resumption.
const DefaultHistory = 1000

// Option configures a Server.
type Option func(*options)

type options struct {
	broker   *whispeer.Broker
	history  int
	tls      bool
	token    string
	user     string
	pass     string
	ping     time.Duration
	noPongs  bool
	caps     wire.Caps
	maxFrame uint32
	inspect  func(*wire.Frame)
	record   bool
	inMemory bool
}

// WithBroker routes messages through b instead of a broker of the
// Server's own; b is not closed by Close, and replay needs its history.
func WithBroker(b *whispeer.Broker) Option { return func(o *options) { o.broker = b } }

// WithHistory sets how many messages per topic the Server's own broker
// keeps (default DefaultHistory).
func WithHistory(n int) Option { return func(o *options) { o.history = n } }

// WithTLS serves TLS on both listeners, with a self-signed certificate
// that Server.ClientTLS trusts; the URLs become tls:// and wss://.
func WithTLS() Option { return func(o *options) { o.tls = true } }

// WithToken requires authentication: AUTH with token is accepted.
func WithToken(token string) Option { return func(o *options) { o.token = token } }

// WithUser requires authentication: LOGIN with user and password is
// answered with token, and AUTH with token is accepted.
func WithUser(user, password, token string) Option {
	return func(o *options) { o.user, o.pass, o.token = user, password, token }
}

// WithPingInterval sets the ping interval announced in WELCOME (default 0:
// no keep-alive).
func WithPingInterval(d time.Duration) Option { return func(o *options) { o.ping = d } }

// WithoutPongs makes the Server ignore PINGs, as a dead server would.
func WithoutPongs() Option { return func(o *options) { o.noPongs = true } }

// WithCaps sets the capabilities the Server grants, of those a client asks
// for (default: e2e, compression and resume; never qos2).
func WithCaps(c wire.Caps) Option { return func(o *options) { o.caps = c } }

// WithMaxFrame sets the largest frame the Server accepts (default 1 MiB).
func WithMaxFrame(n uint32) Option { return func(o *options) { o.maxFrame = n } }

// WithRecording makes the Server keep every byte it receives, for
// Received.
func WithRecording() Option { return func(o *options) { o.record = true } }

// WithInMemory makes the Server listen on in-memory connections
// (net.Pipe) instead of loopback ports, for tests that run in a
// testing/synctest bubble, whose clock moves only while every goroutine
// in it waits on something the bubble can see, never a socket. Clients
// connect with client.WithDialer(s.DialContext); the URLs name the
// addresses "pipe:1" (TCP) and "pipe:2" (WebSocket).
func WithInMemory() Option { return func(o *options) { o.inMemory = true } }

// WithInspect calls f with every frame the Server receives, before
// handling it, in the goroutine reading the connection. The frame views
// the read buffer: it is valid only during the call.
func WithInspect(f func(*wire.Frame)) Option { return func(o *options) { o.inspect = f } }

// Server is a fake whispeer server. Create one with NewServer and stop it
// with Close.
type Server struct {
	opts   options
	broker *whispeer.Broker
	track  *whispeer.Subscription
	epoch  uint64
	cert   tls.Certificate
	client *tls.Config

	mu       sync.Mutex
	tcpAddr  string
	wsAddr   string
	pipes    map[string]*pipetest.Listener // by address, with WithInMemory
	tcpLn    net.Listener
	http     *http.Server
	sessions map[*session]struct{}
	recv     []byte
	newest   map[string]uint64
	conns    int
	running  bool
	wg       sync.WaitGroup
}

// NewServer starts a Server on loopback addresses.
func NewServer(opts ...Option) (*Server, error) {
	o := options{history: DefaultHistory, caps: wire.CapE2E | wire.CapCompression | wire.CapResume, maxFrame: wire.DefaultMaxFrame}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Server{opts: o, broker: o.broker, sessions: make(map[*session]struct{}), newest: make(map[string]uint64)}
	if o.inMemory {
		s.tcpAddr, s.wsAddr, s.pipes = pipeTCP, pipeWS, make(map[string]*pipetest.Listener)
	}
	var eb [8]byte
	rand.Read(eb[:])
	s.epoch = binary.BigEndian.Uint64(eb[:]) | 1
	if o.tls {
		cert, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		s.cert, s.client = cert, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	if s.broker == nil {
		b, err := whispeer.New(whispeer.WithHistory(o.history))
		if err != nil {
			return nil, err
		}
		s.broker = b
	}
	track, err := s.broker.Subscribe("#", s.trackNewest, whispeer.WithInline(), subopt.Raw)
	if err != nil {
		s.closeBroker()
		return nil, err
	}
	s.track = track
	if err := s.Start(); err != nil {
		s.closeBroker()
		return nil, err
	}
	return s, nil
}

// trackNewest remembers each topic's newest offset, for SUBACK.
func (s *Server) trackNewest(_ context.Context, m *whispeer.Message) error {
	s.mu.Lock()
	if m.Seq > s.newest[m.Topic] {
		s.newest[m.Topic] = m.Seq
	}
	s.mu.Unlock()
	return nil
}

// Broker returns the broker the Server routes messages through.
func (s *Server) Broker() *whispeer.Broker { return s.broker }

// Epoch returns the epoch the Server reports for every topic.
func (s *Server) Epoch() uint64 { return s.epoch }

// URL returns the Server's URL for scheme: "tcp" or "ws", or with WithTLS
// "tls" or "wss".
func (s *Server) URL(scheme string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch scheme {
	case "tcp", "tls":
		return scheme + "://" + s.tcpAddr
	default:
		return scheme + "://" + s.wsAddr + "/ws"
	}
}

// ClientTLS returns a TLS configuration that trusts the Server's
// certificate, for client.WithTLSConfig; nil without WithTLS. The
// certificate names localhost, 127.0.0.1 and ::1; with WithInMemory the
// configuration expects localhost, whatever the URL's host.
func (s *Server) ClientTLS() *tls.Config {
	if s.client == nil {
		return nil
	}
	cfg := s.client.Clone()
	if s.opts.inMemory {
		cfg.ServerName = "localhost"
	}
	return cfg
}

// Start listens again, on the addresses of the first start, after Stop.
// NewServer starts the Server; Start on a running Server does nothing.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return nil
	}
	tcp, err := s.listen(s.tcpAddr)
	if err != nil {
		return err
	}
	ws, err := s.listen(s.wsAddr)
	if err != nil {
		tcp.Close()
		return err
	}
	if !s.opts.inMemory {
		s.tcpAddr, s.wsAddr = tcp.Addr().String(), ws.Addr().String()
	}
	s.tcpLn, s.running = tcp, true
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", s.serveWS)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go s.acceptTCP(tcp)
	go func() {
		defer s.wg.Done()
		s.http.Serve(ws)
	}()
	return nil
}

// The addresses of the listeners of a Server made WithInMemory.
const (
	pipeTCP = "pipe:1"
	pipeWS  = "pipe:2"
)

// listen listens on addr; s.mu is held.
func (s *Server) listen(addr string) (net.Listener, error) {
	var ln net.Listener
	if s.opts.inMemory {
		pl := pipetest.NewListener()
		s.pipes[addr], ln = pl, pl
	} else {
		if addr == "" {
			addr = "127.0.0.1:0"
		}
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("listen: %w", err)
		}
	}
	if s.opts.tls {
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{s.cert}, NextProtos: []string{"http/1.1"}})
	}
	return ln, nil
}

// DialContext connects to a Server made WithInMemory, at the address of
// its TCP or its WebSocket listener; network is ignored. It fails while
// the Server is stopped, as a dial to a closed port would.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	s.mu.Lock()
	ln := s.pipes[addr]
	s.mu.Unlock()
	if ln == nil {
		return nil, fmt.Errorf("dial %s: no in-memory listener at this address", addr)
	}
	nc, err := ln.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return nc, nil
}

// Stop closes the listeners and every connection, as a server that goes
// down, and waits for the connections' goroutines. Start brings the
// Server back on the same addresses, with the same broker and history.
func (s *Server) Stop() {
	s.mu.Lock()
	if s.running {
		s.running = false
		s.tcpLn.Close()
		s.http.Close()
	}
	s.mu.Unlock()
	s.Cut()
	s.wg.Wait()
}

// Cut closes every connection at once, without a goodbye, and keeps
// listening.
func (s *Server) Cut() {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, ss := range sessions {
		ss.abort()
	}
}

// Close stops the Server and closes its broker, unless WithBroker gave it.
func (s *Server) Close() {
	s.Stop()
	s.closeBroker()
}

func (s *Server) closeBroker() {
	if s.track != nil {
		s.track.Unsubscribe()
	}
	if s.opts.broker == nil {
		s.broker.Close()
	}
}

// Received returns a copy of every byte the Server has received, on every
// connection, in the order read; nothing without WithRecording.
func (s *Server) Received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.recv...)
}

// Connections returns how many connections have completed the handshake
// since the Server was made.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Redeliver sends again, flagged dup, every QoS 1 delivery not yet
// acknowledged, on every connection, and returns how many it sent.
func (s *Server) Redeliver() int {
	s.mu.Lock()
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	n := 0
	for _, ss := range sessions {
		n += ss.redeliver()
	}
	return n
}

func (s *Server) acceptTCP(ln net.Listener) {
	defer s.wg.Done()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(nc, nil)
		}()
	}
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	// Join the wait group only while running, so that Stop, which clears
	// running before it waits, never sees an Add after its Wait.
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		http.Error(w, "stopping", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	s.serve(websocket.NetConn(context.Background(), ws, websocket.MessageBinary), ws)
}

// serve runs one connection's session until it ends.
func (s *Server) serve(nc net.Conn, ws *websocket.Conn) {
	ss := newSession(s, nc, ws)
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		ss.abort()
		return
	}
	s.sessions[ss] = struct{}{}
	s.mu.Unlock()
	ss.run()
	ss.cleanup()
	s.mu.Lock()
	delete(s.sessions, ss)
	s.mu.Unlock()
}

// record appends bytes the Server received.
func (s *Server) record(b []byte) {
	s.mu.Lock()
	s.recv = append(s.recv, b...)
	s.mu.Unlock()
}
