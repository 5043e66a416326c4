package client

import (
	"context"
	"fmt"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// Refreshing a token: with WithTokenSource, the client asks the
// application for a token before each connection and, on a connection
// whose AUTHOK names an expiry, again before that expiry, sending the new
// token in an AUTH on the live connection (docs/protocol-native.md). The
// server answers AUTHOK with the new expiry, or ERROR: then the client
// tries again later, and reconnects with a fresh token if the connection
// ends at the old one's expiry.

// MaxRefreshLead bounds how long before a token's expiry the client
// refreshes it: a fifth of the token's remaining life, at most this.
const MaxRefreshLead = 5 * time.Minute

// minRefreshRetry is the shortest wait before a failed refresh is tried
// again.
const minRefreshRetry = time.Second

// WithTokenSource makes the client authenticate with tokens that f
// returns: f is called before every connection, first and reconnections
// alike, and before the token of the current connection expires, which
// the client then replaces without reconnecting. f should return a token
// valid for a while, such as one the application's backend mints for its
// user; its ctx ends after the client's timeout (WithTimeout) or when
// the client closes. An error of f fails that connection attempt (the
// client keeps reconnecting) or that refresh (reported to the error
// handler and tried again closer to the expiry). It takes precedence over
// WithToken and WithCredentials.
func WithTokenSource(f func(ctx context.Context) (string, error)) Option {
	return func(c *config) { c.tokenSource = f }
}

// sourceToken asks the token source for the token of the next connection.
func (c *Client) sourceToken(ctx context.Context) error {
	if c.cfg.tokenSource == nil {
		return nil
	}
	tok, err := c.cfg.tokenSource(ctx)
	if err == nil && len(tok) > 65535 {
		err = fmt.Errorf("token longer than 65535 bytes")
	}
	if err != nil {
		return fmt.Errorf("%w: token source: %w", ErrAuth, err)
	}
	c.mu.Lock()
	c.token = tok
	c.mu.Unlock()
	return nil
}

// refreshAt returns when to refresh a token expiring at exp, seen at now.
func refreshAt(now, exp time.Time) time.Time {
	return exp.Add(-min(exp.Sub(now)/5, MaxRefreshLead))
}

// refreshLoop refreshes cn's token before it expires at exp, until cn is
// given up. It runs in a goroutine of its own.
func (c *Client) refreshLoop(cn *conn, exp time.Time) {
	defer c.wg.Done()
	at := refreshAt(time.Now(), exp)
	for {
		t := time.NewTimer(time.Until(at))
		select {
		case <-t.C:
		case <-cn.done:
			t.Stop()
			return
		}
		next, err := c.refresh(cn)
		switch {
		case err == nil && next.IsZero():
			return // the new token does not expire
		case err == nil:
			exp, at = next, refreshAt(time.Now(), next)
		default:
			c.report(fmt.Errorf("token refresh: %w", err))
			at = time.Now().Add(max(time.Until(exp)/2, minRefreshRetry))
		}
	}
}

// refresh gets a token from the source, sends it in an AUTH on cn and
// waits for the answer, returning the new expiry.
func (c *Client) refresh(cn *conn) (time.Time, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.timeout)
	defer cancel()
	tok, err := c.cfg.tokenSource(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("token source: %w", err)
	}
	frame, err := wire.AppendAuth(nil, &wire.Auth{Token: bytesOf(tok)})
	if err != nil {
		return time.Time{}, err
	}
	c.mu.Lock()
	c.token = tok // for the next connection, should this one end
	c.queueLocked(cn, frame)
	c.mu.Unlock()
	select {
	case expires := <-cn.reauth:
		if expires < 0 {
			return time.Time{}, fmt.Errorf("%w: the server refused the new token", ErrAuth)
		}
		if expires == 0 {
			return time.Time{}, nil
		}
		return time.Unix(0, expires), nil
	case <-cn.done:
		return time.Time{}, ErrDisconnected
	case <-ctx.Done():
		return time.Time{}, fmt.Errorf("%w: no answer to AUTH", ErrTimeout)
	}
}

// onReauth passes the answer to a refresh's AUTH, an AUTHOK's expiry or
// -1 for an ERROR, to the refresh waiting for it; an answer nobody waits
// for is dropped.
func (cn *conn) onReauth(expires int64) {
	select {
	case cn.reauth <- expires:
	default:
	}
}
