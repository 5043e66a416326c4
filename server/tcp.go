package server

import (
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/whispeer-io/whispeer/transport/tcp"
)

// ListenTCP opens the native protocol's TCP listener that the
// configuration names, server.host and server.tcp_port, with TLS when
// tls.cert_file and tls.key_file are set. It fails when server.tcp_port is
// 0, which disables the TCP listener.
func (s *Server) ListenTCP() (net.Listener, error) {
	if s.cfg.Server.TCPPort == 0 {
		return nil, errors.New("listen tcp: server.tcp_port is 0: the TCP listener is disabled")
	}
	addr := net.JoinHostPort(s.cfg.Server.Host, strconv.Itoa(s.cfg.Server.TCPPort))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen tcp: %w", err)
	}
	return s.withTLS(ln)
}

// ServeTCP serves native protocol clients on ln, a listener made by
// ListenTCP or any other (wrap it in TLS yourself then), until Shutdown. It
// returns nil once Shutdown has begun, or the error that stopped it
// accepting.
func (s *Server) ServeTCP(ln net.Listener) error {
	err := s.tcp.Serve(ln)
	if errors.Is(err, tcp.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve tcp: %w", err)
}

// TCPURL returns the URL of a listener made by ListenTCP, such as
// "tcp://127.0.0.1:4250", or "tls://…" with TLS: the configured host with
// the listener's port.
func (s *Server) TCPURL(ln net.Listener) string {
	scheme := "tcp"
	if s.cfg.TLS.Enabled() {
		scheme = "tls"
	}
	return s.url(scheme, ln, s.cfg.Server.TCPPort)
}
