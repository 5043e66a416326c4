package server

import (
	"context"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/transport/tcp"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// scratchLimit is the largest MSG frame, head and body, that a delivery
// encodes into its publisher's scratch: both transports copy a frame that
// small when it is queued, so the buffer is free again once the send
// returns.
const scratchLimit = min(tcp.CopyLimit, ws.CopyLimit)

// scratch is where a session's reader goroutine encodes the MSG body of
// the first QoS 0 delivery that each of its publishes makes: the
// subscriber's connection copies it, and the next message reuses the
// buffer, so a small message delivered once costs no allocation for its
// encoding, where Message.Memo would allocate one per message. A message
// delivered again, fanned out, is memoized as before: its later copies are
// queued by reference, one encoding written by every connection, which
// costs less than copying it into each. Only the reader goroutine touches
// the scratch: it travels in the context of the session's publishes
// (publishContext), which the broker hands to the synchronous handlers of
// the subscriptions it reaches.
type scratch struct {
	m    *whispeer.Message // the message last encoded; kept alive with it
	body []byte
}

// scratchKey is the context key of a session's scratch.
type scratchKey struct{}

// withScratch returns parent carrying sc.
func withScratch(parent context.Context, sc *scratch) context.Context {
	return context.WithValue(parent, scratchKey{}, sc)
}

// scratchBody returns the MSG body of m encoded in the scratch that ctx
// carries, and true; or false when ctx carries none, when the scratch
// served m already (a fan-out: Memo serves the rest), or when the frame,
// with a head of headLen bytes at most, would be too large for a transport
// to copy. The body is valid until the next call in the same goroutine.
func scratchBody(ctx context.Context, m *whispeer.Message, headLen int) ([]byte, bool) {
	if len(m.Payload)+len(m.Topic)+len(m.ID)+headLen > scratchLimit {
		return nil, false
	}
	sc, _ := ctx.Value(scratchKey{}).(*scratch)
	if sc == nil {
		return nil, false
	}
	if sc.m == m {
		return nil, false
	}
	body := appendBody(sc.body[:0], m)
	if body == nil || len(body)+headLen > scratchLimit {
		return nil, false
	}
	sc.m, sc.body = m, body
	return body, true
}
