package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// readBuffer is the size of a connection's frame reader's buffer: one read
// takes up to this much of what the server sent, some 200 deliveries of
// 128 bytes, where the reader's default (wire.ReaderSize) would take 4 KiB.
const readBuffer = 32 << 10

// connect dials the server and performs the handshake: HELLO with AUTH or
// LOGIN pipelined behind it, then WELCOME and AUTHOK. The connection it
// returns is authenticated and not yet installed.
func (c *Client) connect(ctx context.Context) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.timeout)
	defer cancel()
	if err := c.sourceToken(ctx); err != nil {
		return nil, err
	}
	l, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	// The handshake's reads and writes end when ctx does.
	stop := context.AfterFunc(ctx, func() { l.SetDeadline(time.Unix(1, 0)) })
	cn, err := c.handshake(l)
	if !stop() && err == nil {
		err = ctx.Err()
	}
	if err != nil {
		l.abort()
		if ctx.Err() != nil && !errors.Is(err, ErrAuth) {
			err = fmt.Errorf("%w: handshake with %s: %w", ErrTimeout, c.ep.shown, err)
		}
		return nil, err
	}
	if err := l.SetDeadline(time.Time{}); err != nil {
		l.abort()
		return nil, err
	}
	return cn, nil
}

// handshake sends HELLO (and the credentials) on l and reads the answers.
func (c *Client) handshake(l *link) (*conn, error) {
	buf, err := wire.AppendHello(nil, &wire.Hello{
		Version:  wire.Version,
		Caps:     c.caps,
		MaxFrame: uint32(c.cfg.maxFrame),
		Session:  bytesOf(c.cfg.clientID),
		Name:     bytesOf(c.cfg.name),
	})
	if err != nil {
		return nil, err
	}
	buf, login, auth := c.appendAuth(buf)
	if err := l.write(buf); err != nil {
		return nil, fmt.Errorf("write HELLO: %w", err)
	}
	rd := wire.NewReaderSize(l, c.cfg.maxFrame, readBuffer)
	cn, err := c.welcome(rd, l)
	if err != nil {
		return nil, err
	}
	cn.link, cn.rd = l, rd
	if auth {
		if cn.expires, err = c.authenticated(rd, login); err != nil {
			return nil, err
		}
	}
	return cn, nil
}

// appendAuth appends the AUTH or LOGIN frame the client authenticates
// with, if any: AUTH with the token of WithToken or of an earlier LOGIN,
// else LOGIN with the credentials.
func (c *Client) appendAuth(buf []byte) (_ []byte, login, auth bool) {
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	var err error
	switch {
	case token != "":
		buf, err = wire.AppendAuth(buf, &wire.Auth{Token: bytesOf(token)})
	case c.cfg.user != "":
		buf, err = wire.AppendLogin(buf, &wire.Login{User: bytesOf(c.cfg.user), Password: bytesOf(c.cfg.pass)})
		login = true
	default:
		return buf, false, false
	}
	// The lengths were checked by Dial and the token by the LOGIN's AUTHOK.
	return buf, login, err == nil
}

// welcome reads the server's WELCOME.
func (c *Client) welcome(rd *wire.Reader, l *link) (*conn, error) {
	f, err := rd.Next()
	if err != nil {
		return nil, readError("WELCOME", err)
	}
	switch f.Type {
	case wire.TypeWelcome:
	case wire.TypeError:
		return nil, serverError(f.Error.Code, f.Error.Fatal, f.Error.Ref, f.Error.Text)
	default:
		return nil, protocolError(fmt.Errorf("got %v, want WELCOME", f.Type))
	}
	w := &f.Welcome
	if w.Version < wire.MinVersion || w.Version > wire.Version {
		return nil, protocolError(fmt.Errorf("%w: server chose version %d", wire.ErrVersion, w.Version))
	}
	cn := &conn{
		caps:     w.Caps & c.caps,
		maxFrame: int(w.MaxFrame),
		ping:     time.Duration(w.PingInterval) * time.Millisecond,
		server:   string(w.Server),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
		reauth:   make(chan int64, 1),
	}
	if cn.maxFrame == 0 {
		cn.maxFrame = wire.DefaultMaxFrame
	}
	if l.ws != nil {
		// The server's WebSocket limit bounds whole messages, length
		// prefixes included: a frame must fit in one with its prefix.
		l.maxMsg = cn.maxFrame
		cn.maxFrame -= 4
	}
	if c.cfg.ping > 0 {
		cn.ping = c.cfg.ping
	}
	return cn, nil
}

// authenticated reads the answer to AUTH or LOGIN, keeps the token a
// LOGIN earned and returns when the credentials expire (AuthOK.Expires). A refused token from an earlier LOGIN is forgotten, so
// that the next attempt logs in again.
func (c *Client) authenticated(rd *wire.Reader, login bool) (expires int64, _ error) {
	f, err := rd.Next()
	if err != nil {
		return 0, readError("AUTHOK", err)
	}
	switch f.Type {
	case wire.TypeAuthOK:
		if login {
			c.mu.Lock()
			c.token = string(f.AuthOK.Token)
			c.mu.Unlock()
		}
		return f.AuthOK.Expires, nil
	case wire.TypeError:
		err := serverError(f.Error.Code, f.Error.Fatal, f.Error.Ref, f.Error.Text)
		if !login && c.cfg.user != "" {
			c.mu.Lock()
			c.token = ""
			c.mu.Unlock()
		}
		if errors.Is(err, ErrAuth) {
			return 0, err
		}
		return 0, fmt.Errorf("%w: %w", ErrAuth, err)
	default:
		return 0, protocolError(fmt.Errorf("got %v, want AUTHOK", f.Type))
	}
}
