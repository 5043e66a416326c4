package client

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

// reconnectLoop connects again after the connection was lost with cause,
// waiting between attempts with exponential backoff and full jitter,
// until it succeeds or the client stops.
func (c *Client) reconnectLoop(cause error) {
	defer c.wg.Done()
	c.report(fmt.Errorf("connection lost: %w", cause))
	if c.cfg.onDisconnect != nil {
		c.cfg.onDisconnect(cause)
	}
	ceiling := c.cfg.waitMin
	for {
		t := time.NewTimer(rand.N(ceiling + 1))
		select {
		case <-t.C:
		case <-c.ctx.Done():
			t.Stop()
			return
		}
		cn, err := c.connect(c.ctx)
		if err == nil {
			if c.install(cn) {
				c.stats.reconnects.Add(1)
			}
			return
		}
		if c.ctx.Err() != nil {
			return
		}
		c.report(fmt.Errorf("reconnect: %w", err))
		ceiling = min(2*ceiling, c.cfg.waitMax)
	}
}

// appendResubscribe appends a SUB for every live subscription, resuming
// each where it left off when it can. c.mu is held.
func (c *Client) appendResubscribe(b []byte, cn *conn) []byte {
	c.smu.RLock()
	subs := make([]*Subscription, 0, len(c.subs))
	for _, s := range c.subs {
		subs = append(subs, s)
	}
	c.smu.RUnlock()
	slices.SortFunc(subs, func(a, b *Subscription) int { return cmp.Compare(a.sid, b.sid) })
	for _, s := range subs {
		b = s.appendSub(b, cn.caps)
	}
	return b
}

// appendResend appends, oldest first and marked dup, every QoS 1 or 2
// publish that the writer took for a connection and that has no PUBACK or
// PUBREC: it may never have reached the server; and the PUBREL of every
// QoS 2 publish released without a PUBCOMP. Those not yet taken are still queued,
// behind. Every pending publish is numbered anew in that order, so that
// the ones appended count as not taken. c.mu is held.
func (c *Client) appendResend(b []byte) []byte {
	ps := make([]*pending, 0, len(c.inflight))
	for _, p := range c.inflight {
		ps = append(ps, p)
	}
	// The taken ones come first: their numbers are all at most c.taken.
	slices.SortFunc(ps, func(a, b *pending) int { return cmp.Compare(a.qseq, b.qseq) })
	for _, p := range ps {
		if p.qseq <= c.taken {
			if !p.released {
				p.frame[wire.HeaderLen] |= flagDup
			}
			b = append(b, p.frame...)
		}
		c.qseq++
		p.qseq = c.qseq
	}
	return b
}
