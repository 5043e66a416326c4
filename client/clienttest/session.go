package clienttest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/coder/websocket"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/internal/subopt"
	"github.com/whispeer-io/whispeer/protocol/wire"
)

// session is one client connection. Its reader goroutine owns subs and
// authed; deliveries, which run in publishers' goroutines, share only the
// writer (wmu) and the in-flight set (imu).
type session struct {
	srv    *Server
	nc     net.Conn
	ws     *websocket.Conn // nil for TCP
	authed bool
	subs   map[uint32]*sub

	wmu sync.Mutex // serializes writes

	imu      sync.Mutex
	inflight map[ackKey][]byte // unacknowledged QoS 1 deliveries
}

type ackKey struct {
	sid uint32
	id  string
}

// sub is one subscription of a session.
type sub struct {
	ss   *session
	sid  uint32
	qos  wire.QoS
	bs   *whispeer.Subscription
	skip uint64 // during replay, offsets up to skip are not delivered

	mu        sync.Mutex
	replaying bool     // inside Broker.Subscribe: deliveries are replays
	held      [][]byte // replayed frames, written after the SUBACK
	first     uint64   // the first offset replayed
}

func newSession(s *Server, nc net.Conn, ws *websocket.Conn) *session {
	return &session{srv: s, nc: nc, ws: ws, subs: make(map[uint32]*sub), inflight: make(map[ackKey][]byte),
		authed: s.opts.token == "" && s.opts.user == ""}
}

// recorder records what the session reads.
type recorder struct{ ss *session }

func (r recorder) Read(b []byte) (int, error) {
	n, err := r.ss.nc.Read(b)
	r.ss.srv.record(b[:n])
	return n, err
}

// run reads and handles frames until the connection ends.
func (ss *session) run() error {
	var r io.Reader = ss.nc
	if ss.srv.opts.record {
		r = recorder{ss}
	}
	rd := wire.NewReader(r, int(ss.srv.opts.maxFrame))
	f, err := rd.Next()
	if err != nil {
		return err
	}
	if err := ss.hello(f); err != nil {
		return err
	}
	for {
		f, err := rd.Next()
		if err != nil {
			if c := wire.ErrorCode(err); c != wire.CodeInternal {
				ss.fatal(c, 0, err.Error())
			}
			return err
		}
		if insp := ss.srv.opts.inspect; insp != nil {
			insp(f)
		}
		if err := ss.handle(f); err != nil {
			return err
		}
	}
}

func (ss *session) hello(f *wire.Frame) error {
	if insp := ss.srv.opts.inspect; insp != nil {
		insp(f)
	}
	if f.Type != wire.TypeHello {
		return ss.fatal(wire.CodeInvalid, f.Type, "whispeer: expected HELLO")
	}
	v, err := wire.Negotiate(f.Hello.Version)
	if err != nil {
		return ss.fatal(wire.CodeInvalid, wire.TypeHello, err.Error())
	}
	o := &ss.srv.opts
	b, err := wire.AppendWelcome(nil, &wire.Welcome{
		Version: v, Caps: f.Hello.Caps & o.caps, MaxFrame: o.maxFrame,
		PingInterval: uint32(o.ping.Milliseconds()), Session: []byte("fake"), Server: []byte("whispeer-clienttest/1"),
	})
	if err != nil {
		return err
	}
	ss.srv.mu.Lock()
	ss.srv.conns++
	ss.srv.mu.Unlock()
	return ss.write(b)
}

// handle handles one frame after the HELLO.
func (ss *session) handle(f *wire.Frame) error {
	switch f.Type {
	case wire.TypeAuth, wire.TypeLogin:
		return ss.auth(f)
	case wire.TypePing:
		if ss.srv.opts.noPongs {
			return nil
		}
		return ss.write(wire.AppendPong(nil))
	case wire.TypePong:
		return nil
	}
	if !ss.authed {
		return ss.fatal(wire.CodeUnauthorized, f.Type, "whispeer: not authenticated")
	}
	switch f.Type {
	case wire.TypePublish:
		return ss.publish(&f.Publish)
	case wire.TypeSubscribe:
		return ss.subscribe(&f.Subscribe)
	case wire.TypeUnsubscribe:
		return ss.unsubscribe(f.Unsubscribe.SID)
	case wire.TypePubAck:
		ss.imu.Lock()
		delete(ss.inflight, ackKey{f.Ack.SID, string(f.Ack.ID)})
		ss.imu.Unlock()
		return nil
	default:
		return ss.fatal(wire.CodeInvalid, f.Type, fmt.Sprintf("whispeer: unexpected %v frame", f.Type))
	}
}

func (ss *session) auth(f *wire.Frame) error {
	o := &ss.srv.opts
	var ok authResult
	switch f.Type {
	case wire.TypeAuth:
		ok.valid = o.token == "" || string(f.Auth.Token) == o.token
	case wire.TypeLogin:
		ok.valid = o.user == "" || (string(f.Login.User) == o.user && string(f.Login.Password) == o.pass)
		ok.token = []byte(o.token)
	}
	if !ok.valid {
		return ss.fatal(wire.CodeUnauthorized, f.Type, "whispeer: authentication failed")
	}
	ss.authed = true
	b, err := wire.AppendAuthOK(nil, &wire.AuthOK{Token: ok.token})
	if err != nil {
		return err
	}
	return ss.write(b)
}

// authResult is the outcome of an AUTH or LOGIN.
type authResult struct {
	valid bool
	token []byte
}

func (ss *session) publish(p *wire.Publish) error {
	// The message keeps copies: the frame's buffer is reused.
	h, _ := whispeer.DecodeHeaders(bytes.Clone(p.Headers.Encoded())) // checked by the parser
	m := &whispeer.Message{Topic: string(p.Topic), ID: string(p.ID), Payload: append([]byte(nil), p.Payload...),
		Headers: h, QoS: whispeer.QoS(min(p.QoS, wire.AtLeastOnce)), Sealed: p.Envelope}
	err := ss.srv.broker.PublishMessage(context.Background(), m, nil, nil)
	if p.QoS == wire.AtMostOnce {
		if err != nil {
			return ss.refuse(err, wire.TypePublish)
		}
		return nil
	}
	b, aerr := wire.AppendAck(nil, wire.TypePubAck, &wire.Ack{Code: code(err), ID: p.ID})
	if aerr != nil {
		return aerr
	}
	return ss.write(b)
}

func (ss *session) subscribe(m *wire.Subscribe) error {
	if _, dup := ss.subs[m.SID]; dup {
		return ss.subAck(&wire.SubAck{SID: m.SID, Code: wire.CodeConflict, Text: []byte("whispeer: sid in use")})
	}
	pattern := string(m.Topic)
	sb := &sub{ss: ss, sid: m.SID, qos: min(m.QoS, wire.AtLeastOnce), replaying: true}
	var opts []whispeer.SubscribeOption
	ack := wire.SubAck{SID: m.SID}
	concrete := !match.IsPattern(pattern)
	switch m.Resume.Mode {
	case wire.ResumeLast:
		if m.Resume.Last > 0 {
			opts = append(opts, whispeer.WithReplay(int(m.Resume.Last)))
		}
	case wire.ResumeOffset:
		if !concrete {
			return ss.subAck(&wire.SubAck{SID: m.SID, Code: wire.CodeInvalid, Text: []byte("whispeer: resume needs a topic")})
		}
		if m.Resume.Epoch == ss.srv.epoch {
			opts = append(opts, whispeer.WithReplay(ss.srv.opts.history))
			sb.skip = m.Resume.Offset
		}
	}
	opts = append(opts, whispeer.WithInline(), subopt.Raw)
	bs, err := ss.srv.broker.Subscribe(pattern, sb.deliver, opts...)
	if err != nil {
		return ss.subAck(&wire.SubAck{SID: m.SID, Code: code(err), Text: []byte(err.Error())})
	}
	sb.bs = bs
	ss.subs[m.SID] = sb
	if concrete {
		ss.srv.mu.Lock()
		ack.Epoch, ack.Offset = ss.srv.epoch, ss.srv.newest[pattern]
		ss.srv.mu.Unlock()
	}
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if m.Resume.Mode == wire.ResumeOffset {
		ack.Recovered = m.Resume.Epoch == ss.srv.epoch &&
			(sb.first == m.Resume.Offset+1 || (sb.first == 0 && ack.Offset <= m.Resume.Offset))
	}
	if err := ss.subAck(&ack); err != nil {
		return err
	}
	for _, b := range sb.held {
		if err := ss.write(b); err != nil {
			return err
		}
	}
	sb.held, sb.replaying = nil, false
	return nil
}

func (ss *session) subAck(a *wire.SubAck) error {
	b, err := wire.AppendSubAck(nil, a)
	if err != nil {
		return err
	}
	return ss.write(b)
}

func (ss *session) unsubscribe(sid uint32) error {
	sb := ss.subs[sid]
	if sb == nil {
		return ss.refuse(fmt.Errorf("whispeer: no subscription %d", sid), wire.TypeUnsubscribe)
	}
	delete(ss.subs, sid)
	sb.bs.Unsubscribe()
	return nil
}

// deliver writes a message to the subscription's client; it runs in the
// publisher's goroutine (or inside Broker.Subscribe, for a replay).
func (sb *sub) deliver(_ context.Context, m *whispeer.Message) error {
	sb.mu.Lock()
	replay := sb.replaying
	if replay && m.Seq <= sb.skip {
		sb.mu.Unlock()
		return nil
	}
	qos := min(wire.QoS(m.QoS), sb.qos)
	b, err := wire.AppendMessage(nil, &wire.Message{
		QoS: qos, Envelope: m.Sealed, Replay: replay, SID: sb.sid,
		Offset: m.Seq, Time: m.Time.UnixNano(), Topic: []byte(m.Topic), ID: []byte(m.ID),
		Headers: headers(m.Headers), Payload: m.Payload,
	})
	if err != nil {
		sb.mu.Unlock()
		return nil // the broker's message was valid; nothing to tell it
	}
	if qos == wire.AtLeastOnce {
		sb.ss.imu.Lock()
		sb.ss.inflight[ackKey{sb.sid, m.ID}] = b
		sb.ss.imu.Unlock()
	}
	if replay {
		if sb.first == 0 {
			sb.first = m.Seq
		}
		sb.held = append(sb.held, b)
		sb.mu.Unlock()
		return nil
	}
	sb.mu.Unlock()
	sb.ss.write(b) // a failed write ends the session in its reader
	return nil
}

// headers returns h in the wire's form, none for headers it cannot carry.
func headers(h whispeer.Headers) wire.Headers {
	w, _ := wire.DecodeHeaders(h.Encoded())
	return w
}

// redeliver writes every unacknowledged delivery again, flagged dup.
func (ss *session) redeliver() int {
	ss.imu.Lock()
	frames := make([][]byte, 0, len(ss.inflight))
	for _, b := range ss.inflight {
		b[wire.HeaderLen] |= 0x08 // dup
		frames = append(frames, append([]byte(nil), b...))
	}
	ss.imu.Unlock()
	for _, b := range frames {
		if ss.write(b) != nil {
			break
		}
	}
	return len(frames)
}

// refuse answers a frame with a non-fatal ERROR.
func (ss *session) refuse(err error, ref wire.Type) error {
	b, aerr := wire.AppendError(nil, &wire.Error{Code: code(err), Ref: ref, Text: []byte(err.Error())})
	if aerr != nil {
		return aerr
	}
	return ss.write(b)
}

// fatal sends a fatal ERROR and ends the session.
func (ss *session) fatal(c wire.Code, ref wire.Type, text string) error {
	if !ref.Valid() {
		ref = 0
	}
	if b, err := wire.AppendError(nil, &wire.Error{Code: c, Fatal: true, Ref: ref, Text: []byte(text)}); err == nil {
		ss.write(b)
	}
	return fmt.Errorf("%v: %s", c, text)
}

func (ss *session) write(b []byte) error {
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	_, err := ss.nc.Write(b)
	return err
}

// abort closes the connection without a goodbye.
func (ss *session) abort() {
	if ss.ws != nil {
		ss.ws.CloseNow()
		return
	}
	ss.nc.Close()
}

// cleanup ends the session's subscriptions and closes its connection.
func (ss *session) cleanup() {
	for _, sb := range ss.subs {
		sb.bs.Unsubscribe()
	}
	ss.abort()
}

// code maps a broker error to a wire code.
func code(err error) wire.Code {
	if err == nil {
		return wire.CodeOK
	}
	c := whispeer.ErrorCode(err)
	if c == whispeer.CodeInternal {
		return wire.CodeInternal
	}
	return wire.Code(c)
}
