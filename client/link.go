package client

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/coder/websocket"

	"github.com/whispeer-io/whispeer"
)

// link is one transport connection: a stream of frames to read, and a way
// to write whole frames.
type link struct {
	net.Conn
	ws      *websocket.Conn // nil for TCP and TLS
	batch   *batchConn      // under ws
	timeout time.Duration
	maxMsg  int // the largest WebSocket message the server reads
}

// write writes b, whole frames back to back, under the write timeout: in
// one write on a stream; on WebSocket, in as few binary messages as the
// server's message limit allows, each holding whole frames (the protocol
// lets a message carry several, never part of one), gathered into one
// write.
func (l *link) write(b []byte) error {
	if err := l.SetWriteDeadline(time.Now().Add(l.timeout)); err != nil {
		return err
	}
	if l.ws == nil {
		_, err := l.Write(b)
		return err
	}
	l.batch.hold()
	for len(b) > 0 {
		n := 0
		for n < len(b) {
			size := 4 + int(binary.BigEndian.Uint32(b[n:]))
			if n > 0 && n+size > l.maxMsg {
				break
			}
			n += size
		}
		if _, err := l.Write(b[:n]); err != nil {
			l.batch.release()
			return err
		}
		b = b[n:]
	}
	return l.batch.release()
}

// abort closes the connection at once, without a closing handshake.
func (l *link) abort() {
	if l.ws != nil {
		l.ws.CloseNow()
		return
	}
	l.Close()
}

// close ends the connection politely: a WebSocket close handshake, a TLS
// close_notify, bounded by the write timeout.
func (l *link) close() {
	if l.ws != nil {
		l.ws.Close(websocket.StatusNormalClosure, "")
		return
	}
	l.SetWriteDeadline(time.Now().Add(l.timeout))
	l.Close()
}

// endpoint is a parsed server URL.
type endpoint struct {
	scheme string // tcp, tls, ws or wss
	addr   string // host:port, for tcp and tls
	url    string // the WebSocket URL, without user info
	host   string // the host name, for TLS
	shown  string // the URL without a password, for errors
}

func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("%w: url: %w", whispeer.ErrInvalidOption, err)
	}
	e := endpoint{scheme: u.Scheme, host: u.Hostname(), shown: u.Redacted()}
	if e.host == "" {
		return endpoint{}, fmt.Errorf("%w: url %q has no host", whispeer.ErrInvalidOption, e.shown)
	}
	switch u.Scheme {
	case "tcp", "tls":
		port := u.Port()
		if port == "" {
			port = DefaultPort
		}
		e.addr = net.JoinHostPort(e.host, port)
	case "ws", "wss":
		v := *u
		v.User = nil
		if v.Path == "" {
			v.Path = DefaultPath
		}
		e.url = v.String()
	default:
		return endpoint{}, fmt.Errorf("%w: url scheme %q (want tcp, tls, ws or wss)", whispeer.ErrInvalidOption, u.Scheme)
	}
	return e, nil
}

// dial opens a transport connection to e.
func (c *Client) dial(ctx context.Context) (*link, error) {
	e := &c.ep
	l := &link{timeout: c.cfg.timeout}
	var err error
	switch e.scheme {
	case "tcp":
		l.Conn, err = c.netDial()(ctx, "tcp", e.addr)
	case "tls":
		l.Conn, err = c.dialTLS(ctx)
	default:
		hc := batchingClient(c.http, c.netDial(), &l.batch)
		l.ws, _, err = websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPClient: hc})
		hc.CloseIdleConnections()
		if err == nil {
			l.Conn = websocket.NetConn(context.Background(), l.ws, websocket.MessageBinary)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", e.shown, err)
	}
	return l, nil
}

// netDial returns the function that opens connections to the server: the
// one WithDialer gave, or a net.Dialer's.
func (c *Client) netDial() func(ctx context.Context, network, addr string) (net.Conn, error) {
	if c.cfg.dial != nil {
		return c.cfg.dial
	}
	var d net.Dialer
	return d.DialContext
}

// dialTLS opens a TLS connection to the server.
func (c *Client) dialTLS(ctx context.Context) (net.Conn, error) {
	if c.cfg.dial == nil {
		d := tls.Dialer{Config: c.cfg.tls}
		return d.DialContext(ctx, "tcp", c.ep.addr)
	}
	nc, err := c.cfg.dial(ctx, "tcp", c.ep.addr)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{}
	if c.cfg.tls != nil {
		cfg = c.cfg.tls.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = c.ep.host
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	return tc, nil
}

// httpClient returns the HTTP client for WebSocket handshakes: nil (the
// library's default) unless a TLS configuration was given.
func httpClient(e endpoint, cfg *tls.Config) *http.Client {
	if e.scheme != "wss" || cfg == nil {
		return nil
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = cfg
	return &http.Client{Transport: t}
}
