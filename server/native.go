package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unsafe"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/protocol/wire"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// The native binary protocol (docs/protocol-native.md), over TCP and in
// WebSocket binary messages.

// serverCaps are the capabilities the server grants when a client asks:
// end-to-end envelopes, which it routes without opening; QoS 2; and
// resume: a SUB may replay the last N messages, or resume after an offset,
// its SUBACK saying whether it recovered. It does not compress deliveries.
const serverCaps = wire.CapE2E | wire.CapQoS2 | wire.CapResume | wire.CapReasons | wire.CapAckOffset

// serverName names the server software in WELCOME.
const serverName = "whispeer"

// native is a session's native protocol state. It belongs to the
// connection's reader goroutine, except ws and maxOut, which deliveries
// read and which do not change once HELLO has been handled.
type native struct {
	s      *session
	ws     bool        // frames travel in WebSocket binary messages
	frame  *wire.Frame // the frame being handled, for WebSocket messages
	hello  bool        // HELLO has been handled
	done   bool        // a fatal ERROR was sent: ignore the rest
	caps   wire.Caps   // the capabilities granted
	maxOut int         // the largest frame the client accepts
	topic  string      // the last topic published, reused while it repeats
}

func newNative(s *session, overWS bool) *native {
	n := &native{s: s, ws: overWS, maxOut: wire.MaxFrameSize}
	if overWS {
		n.frame = new(wire.Frame)
	}
	return n
}

// receiveMessage handles one WebSocket message: one or more whole frames.
func (n *native) receiveMessage(t ws.MessageType, data []byte) {
	if t != ws.Binary {
		n.s.srv.stats.badFrames.Add(1)
		n.fatal(&opError{whispeer.CodeInvalid, "text message on a native connection: the first message chose the native protocol"}, 0)
		return
	}
	limit := n.s.srv.cfg.Server.MaxMessageBytes
	for len(data) > 0 && !n.done {
		size, err := n.frame.Parse(data)
		if len(data) >= 4 && int64(binary.BigEndian.Uint32(data)) > int64(limit) {
			// The frame limit is the configured one, as on TCP, not the
			// protocol's ceiling that Parse applies.
			err = fmt.Errorf("%w: %d bytes, limit %d", wire.ErrTooLarge, binary.BigEndian.Uint32(data), limit)
		}
		if err != nil {
			if errors.Is(err, wire.ErrShort) {
				err = fmt.Errorf("%w: a frame runs past the end of its WebSocket message", wire.ErrTruncated)
			}
			n.s.srv.stats.badFrames.Add(1)
			n.fatal(&opError{fromWire(wire.ErrorCode(err)), errorText(err)}, 0)
			return
		}
		data = data[size:]
		n.handle(n.frame)
	}
}

// fromWire returns the broker's class of a native error code.
func fromWire(c wire.Code) whispeer.Code {
	if c == wire.CodeInternal || c > wire.CodeInternal {
		return whispeer.CodeInternal
	}
	return whispeer.Code(c)
}

// handle handles one frame from the client.
func (n *native) handle(f *wire.Frame) {
	if n.done {
		return
	}
	if !n.hello {
		n.welcome(f)
		return
	}
	switch f.Type {
	case wire.TypeHello:
		n.refuse(&opError{whispeer.CodeInvalid, "HELLO sent twice"}, f.Type, true)
	case wire.TypeAuth:
		n.auth(&f.Auth)
	case wire.TypeLogin:
		n.login(&f.Login)
	case wire.TypePing:
		var a [16]byte
		n.sendSmall(wire.AppendPong(n.onto(a[:])))
	case wire.TypePong:
	case wire.TypeError:
		n.peerError(&f.Error)
	default:
		n.authed(f)
	}
}

// authed handles the frames that need an authenticated connection.
func (n *native) authed(f *wire.Frame) {
	if n.s.user == nil {
		n.refuseUnauthenticated(f)
		return
	}
	switch f.Type {
	case wire.TypeSubscribe:
		n.subscribe(&f.Subscribe)
	case wire.TypeUnsubscribe:
		n.unsubscribe(&f.Unsubscribe)
	case wire.TypePublish:
		n.publish(&f.Publish)
	case wire.TypePubAck:
		n.ack(&f.Ack)
	case wire.TypePubRec, wire.TypePubRel, wire.TypePubComp:
		n.exactlyOnce(f.Type, &f.Ack)
	case wire.TypePresence:
		n.presence(&f.Presence)
	default:
		n.refuse(&opError{whispeer.CodeInvalid, f.Type.String() + " is sent by servers only"}, f.Type, false)
	}
}

// welcome answers the client's first frame, which must be a HELLO.
func (n *native) welcome(f *wire.Frame) {
	if f.Type != wire.TypeHello {
		n.refuse(&opError{whispeer.CodeInvalid, "the first frame must be HELLO, not " + f.Type.String()}, f.Type, true)
		return
	}
	h := &f.Hello
	v, err := wire.Negotiate(h.Version)
	if err != nil {
		text := fmt.Sprintf("unsupported protocol version %d: the server speaks %d to %d", h.Version, wire.MinVersion, wire.Version)
		n.refuse(&opError{whispeer.CodeInvalid, text}, f.Type, true)
		return
	}
	n.hello = true
	n.caps = h.Caps & serverCaps
	if n.s.srv.presence != nil {
		n.caps |= h.Caps & wire.CapPresence
	}
	if h.MaxFrame > 0 {
		n.maxOut = int(h.MaxFrame)
	}
	session := string(h.Session)
	if session == "" {
		session = chosenSession(n.s.id)
	}
	n.s.clientID = session
	cfg := n.s.srv.cfg.Server
	w := wire.Welcome{
		Version:      v,
		Caps:         n.caps,
		MaxFrame:     uint32(cfg.MaxMessageBytes),
		PingInterval: uint32(max(cfg.PingInterval, 0) / time.Millisecond),
		Session:      []byte(session),
		Server:       []byte(serverName),
	}
	b, _ := wire.AppendWelcome(n.newBuf(64+len(session)), &w)
	n.s.send(n.finish(b))
}

// auth authenticates the connection with a JWT.
func (n *native) auth(a *wire.Auth) {
	claims, e := n.s.authenticate(string(a.Token))
	if e != nil {
		n.sendError(e, false, wire.TypeAuth)
		return
	}
	n.authOK(claims.ExpiresAt, "")
	n.s.recheckSubscriptions()
}

// login authenticates the connection with a user name and password, and
// answers with a token for later connections.
func (n *native) login(l *wire.Login) {
	u, token, e := n.s.login(string(l.User), string(l.Password))
	if e != nil {
		n.sendError(e, false, wire.TypeLogin)
		return
	}
	n.s.user = u
	if e := n.s.authenticated(); e != nil {
		n.sendError(e, false, wire.TypeLogin)
		return
	}
	n.s.loggedIn()
	var expires time.Time
	if claims, err := n.s.srv.issuer.Verify(token); err == nil {
		expires = claims.ExpiresAt
	}
	n.s.expireAt(expires)
	n.authOK(expires, token)
	n.s.recheckSubscriptions()
}

// authOK confirms authentication.
func (n *native) authOK(expires time.Time, token string) {
	ok := wire.AuthOK{Token: []byte(token)}
	if !expires.IsZero() {
		ok.Expires = expires.UnixNano()
	}
	b, _ := wire.AppendAuthOK(n.newBuf(16+len(token)), &ok)
	n.s.send(n.finish(b))
}

// refusePublish answers a refused PUB: an ERROR at QoS 0, its
// acknowledgement with the code (and the reason, see sendAck) otherwise.
func (n *native) refusePublish(p *wire.Publish, e *opError) {
	switch p.QoS {
	case wire.AtMostOnce:
		n.sendError(e, false, wire.TypePublish)
	case wire.AtLeastOnce:
		n.sendAck(wire.TypePubAck, 0, e, p.ID)
	default:
		n.sendAck(wire.TypePubRec, 0, e, p.ID)
	}
}

// refuseUnauthenticated answers a frame that needs authentication on a
// connection without it. A PUB or SUB gets the answer it would get for
// any other refusal, its acknowledgement or SUBACK, so that a client
// waiting for one learns why at once; other frames get an ERROR.
func (n *native) refuseUnauthenticated(f *wire.Frame) {
	e := &opError{whispeer.CodeUnauthorized, "not authenticated"}
	n.s.srv.stats.badFrames.Add(1)
	switch {
	case f.Type == wire.TypePublish && f.Publish.QoS != wire.AtMostOnce:
		n.refusePublish(&f.Publish, e)
	case f.Type == wire.TypeSubscribe:
		n.s.send(n.subAck(f.Subscribe.SID, e, nil, false))
	case f.Type == wire.TypePresence:
		n.sendPresenceInfo(&wire.PresenceInfo{ID: f.Presence.ID, Code: e.wireCode(), Text: []byte("whispeer: " + e.text)})
	default:
		n.sendError(e, false, f.Type)
	}
}

// ack clears the in-flight copy that a PUBACK names.
func (n *native) ack(a *wire.Ack) {
	if a.SID == 0 {
		n.refuse(&opError{whispeer.CodeInvalid, "PUBACK with subscription id 0: clients acknowledge deliveries"}, wire.TypePubAck, false)
		return
	}
	// The window looks the key up and keeps nothing of it, so the id may
	// view the read buffer.
	n.s.window.ack(ackKey{sid: a.SID, id: unsafe.String(unsafe.SliceData(a.ID), len(a.ID))}, a.Offset)
	n.s.acked(unsafe.String(unsafe.SliceData(a.ID), len(a.ID)))
}

// peerError logs an ERROR from the client, and closes the connection when
// the client says it does.
func (n *native) peerError(e *wire.Error) {
	text := unsafe.String(unsafe.SliceData(e.Text), len(e.Text)) // logged as an excerpt, a copy
	n.s.peerLog(slog.LevelInfo, "whispeer: error from client", append([]any{"code", e.Code.String(), "fatal", e.Fatal}, excerptAttrs("text", text)...)...)
	if e.Fatal {
		n.done = true
		n.close(errors.New("whispeer: client ended the connection: " + excerpt(text)))
	}
}

// refuse answers a frame with an ERROR and counts it; a fatal one ends the
// connection.
func (n *native) refuse(e *opError, ref wire.Type, fatal bool) {
	n.s.srv.stats.badFrames.Add(1)
	if fatal {
		n.fatal(e, ref)
		return
	}
	n.sendError(e, false, ref)
}

// fatal sends a fatal ERROR and closes the connection after it.
func (n *native) fatal(e *opError, ref wire.Type) {
	n.sendError(e, true, ref)
	n.done = true
	n.close(errors.New("whispeer: " + e.text))
}

// close closes the connection gracefully, after what is queued.
func (n *native) close(err error) {
	if n.ws {
		n.s.link.Close(ws.CloseFrame(ws.ClosePolicyViolation, errorText(err)), err)
		return
	}
	n.s.link.Close(nil, err)
}

// sendError sends an ERROR frame.
func (n *native) sendError(e *opError, fatal bool, ref wire.Type) {
	text := "whispeer: " + e.text
	b, _ := wire.AppendError(n.newBuf(16+len(text)), &wire.Error{Code: e.wireCode(), Fatal: fatal, Ref: ref, Text: []byte(text)})
	n.s.send(n.finish(b))
}

// sendAck sends an acknowledgement frame.
func (n *native) sendAck(t wire.Type, sid uint32, e *opError, id []byte) {
	ack := wire.Ack{SID: sid, ID: id}
	if e == nil {
		var a [64]byte
		b, _ := wire.AppendAck(n.onto(a[:]), t, &ack)
		n.sendSmall(b)
		return
	}
	ack.Code = e.wireCode()
	if n.caps.Has(wire.CapReasons) {
		ack.Text = []byte("whispeer: " + e.text)
	}
	b, _ := wire.AppendAck(n.newBuf(16+len(id)+len(ack.Text)), t, &ack)
	n.s.send(n.finish(b))
}

// newBuf returns a buffer for a frame of about size bytes, with room for
// the WebSocket header in front on a WebSocket connection.
func (n *native) newBuf(size int) []byte {
	if n.ws {
		return make([]byte, ws.HeaderRoom, ws.HeaderRoom+size)
	}
	return make([]byte, 0, size)
}

// onto is newBuf on a buffer of the caller's, usually on its stack.
func (n *native) onto(a []byte) []byte {
	if n.ws {
		return a[:ws.HeaderRoom]
	}
	return a[:0]
}

// finish completes a frame built on newBuf or onto.
func (n *native) finish(b []byte) []byte {
	if n.ws {
		return ws.Frame(ws.Binary, b)
	}
	return b
}

// sendSmall sends a frame built on onto: the connection copies it.
func (n *native) sendSmall(b []byte) { n.s.sendHead(n.finish(b), nil) }

// sidText returns a subscription id for an error text.
func sidText(sid uint32) string { return strconv.FormatUint(uint64(sid), 10) }
