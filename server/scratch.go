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

// scratch is where a session's reader goroutine encodes the MSG bodies of
// the QoS 0 deliveries that its publishes make. The deliveries of one
// message, to every native subscriber it reaches, run one after another
// in that goroutine and share one encoding; the next message reuses the
// buffer. So a small message fanned out costs no allocation for its
// encoding, where Message.Memo would allocate one per message. Only the
// reader goroutine touches it: it travels in the context of the session's
// publishes (publishContext), which the broker hands to the synchronous
// handlers of the subscriptions it reaches.
type scratch struct {
	m    *whispeer.Message // the message body encodes; kept alive with it
	body []byte
}

// scratchKey is the context key of a session's scratch.
type scratchKey struct{}

// withScratch returns parent carrying sc.
func withScratch(parent context.Context, sc *scratch) context.Context {
	return context.WithValue(parent, scratchKey{}, sc)
}

// scratchBody returns the MSG body of m encoded in the scratch that ctx
// carries, and true; or false when ctx carries none or the frame, with a
// head of headLen bytes at most, would be too large for a transport to
// copy. The body is valid until the next call in the same goroutine.
func scratchBody(ctx context.Context, m *whispeer.Message, headLen int) ([]byte, bool) {
	if len(m.Payload)+len(m.Topic)+len(m.ID)+headLen > scratchLimit {
		return nil, false
	}
	sc, _ := ctx.Value(scratchKey{}).(*scratch)
	if sc == nil {
		return nil, false
	}
	if sc.m == m {
		return sc.body, true
	}
	body := appendBody(sc.body[:0], m)
	if body == nil || len(body)+headLen > scratchLimit {
		return nil, false
	}
	sc.m, sc.body = m, body
	return body, true
}
