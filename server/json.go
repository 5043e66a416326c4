package server

import (
	"errors"
	"strconv"
	"strings"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/protocol/json"
	"github.com/whispeer-io/whispeer/transport/ws"
)

// The PopSub JSON protocol over WebSocket text messages
// (docs/protocol.md).

// Receive handles one WebSocket data message. The first one decides the
// connection's protocol: text for PopSub JSON, binary for the native
// protocol; a message of the other kind afterwards ends the connection.
func (s *session) Receive(t ws.MessageType, data []byte) {
	switch {
	case s.native != nil:
		s.native.receiveMessage(t, data)
	case s.json && t != ws.Text:
		s.srv.stats.badFrames.Add(1)
		s.sendError("binary message on a JSON connection: the first message chose JSON")
		s.link.Close(ws.CloseFrame(ws.CloseUnsupported, "binary message on a JSON connection"), errMixed)
	case s.json || t == ws.Text:
		s.json = true
		s.receiveJSON(data)
	default:
		s.native = newNative(s, true)
		s.native.receiveMessage(t, data)
	}
}

// errMixed ends a WebSocket connection that mixes the protocols.
var errMixed = errors.New("whispeer: text and binary messages on one connection")

// Reject answers a message the connection refuses before closing it. A
// native TCP connection answers a frame it refuses with a fatal ERROR of
// its own: the session only counts it.
func (s *session) Reject(err error) {
	s.srv.stats.badFrames.Add(1)
	if s.link.Transport() == "tcp" {
		return
	}
	text := strings.TrimPrefix(err.Error(), "whispeer: ")
	if errors.Is(err, ws.ErrMessageTooLarge) {
		text = "message too large: the limit is " + strconv.Itoa(s.srv.cfg.Server.MaxMessageBytes) + " bytes"
	}
	if s.native != nil {
		s.native.sendError(&opError{whispeer.CodeTooLarge, text}, true, 0)
		return
	}
	s.sendError(text)
}

// Closed ends the session.
func (s *session) Closed(err error) { s.closed(err) }

// receiveJSON handles one PopSub JSON frame.
func (s *session) receiveJSON(data []byte) {
	f, err := json.Parse(data)
	if err != nil {
		var r frameRef
		if e, ok := err.(*json.Error); ok {
			r = boundedRef(e.Topic, e.MessageID)
		}
		s.failFor(r, err.Error())
		return
	}
	switch f.Type {
	case json.TypeLogin:
		s.jsonLogin(&f)
		return
	case json.TypeAuth:
		s.jsonAuth(&f)
		return
	}
	if s.user == nil {
		s.failFor(refOf(&f), "not authenticated")
		return
	}
	switch f.Type {
	case json.TypePublish:
		s.jsonPublish(&f)
	case json.TypeSubscribe:
		s.jsonSubscribe(&f)
	case json.TypeUnsubscribe:
		s.jsonUnsubscribe(&f)
	case json.TypeAck:
		s.window.ack(ackKey{id: f.MessageID}, f.Offset)
		s.acked(f.MessageID)
	case json.TypePing:
		s.reply(json.AppendPong(newFrame(16)))
	case json.TypePubRec, json.TypePubRel, json.TypePubComp:
		s.jsonExactlyOnce(&f)
	case json.TypePresence, json.TypePresenceStats:
		s.jsonPresence(&f)
	}
}

// newFrame returns a buffer for a server frame: room for the WebSocket
// header, then capacity for n bytes of JSON.
func newFrame(n int) []byte { return make([]byte, ws.HeaderRoom, ws.HeaderRoom+n) }

// reply sends a frame built on newFrame.
func (s *session) reply(buf []byte) { s.send(ws.Frame(ws.Text, buf)) }

// fail answers a bad frame with an error frame and counts it.
func (s *session) fail(msg string) {
	s.srv.stats.badFrames.Add(1)
	s.sendError(msg)
}

// sendError sends {"type":"error",…} with msg.
func (s *session) sendError(msg string) { s.reply(errorFrame(msg, frameRef{})) }

// frameRef is what an error frame repeats of the frame it answers: its
// topic and its message id, each when the frame had one.
type frameRef struct{ topic, id string }

// refOf returns the topic and message id of f worth repeating in an
// error: those of a publish, the topic of a subscribe or an unsubscribe.
// One too long to be valid is left out, so that an error stays small.
func refOf(f *json.Frame) frameRef {
	switch f.Type {
	case json.TypePublish:
		return boundedRef(f.Topic, f.MessageID)
	case json.TypeSubscribe, json.TypeUnsubscribe, json.TypePresence, json.TypePresenceStats:
		return boundedRef(f.Topic, "")
	}
	return frameRef{}
}

// boundedRef returns a frameRef of topic and id, without either one that
// is too long to be valid.
func boundedRef(topic, id string) frameRef {
	var r frameRef
	if len(topic) <= match.DefaultLimits.MaxBytes {
		r.topic = topic
	}
	if len(id) <= whispeer.MaxIDBytes {
		r.id = id
	}
	return r
}

// failFor is fail for an error about the frame that r names.
func (s *session) failFor(r frameRef, msg string) {
	s.srv.stats.badFrames.Add(1)
	s.sendErrorFor(r, msg)
}

// sendErrorFor is sendError for an error about the frame that r names.
func (s *session) sendErrorFor(r frameRef, msg string) { s.reply(errorFrame(msg, r)) }

// errorFrame returns {"type":"error",…} with msg and what r names, ready
// to send.
func errorFrame(msg string, r frameRef) []byte {
	return json.AppendErrorFor(newFrame(64+2*len(msg)+len(r.topic)+len(r.id)), msg, r.topic, r.id)
}

// jsonLogin answers a login with a token; it does not authenticate the
// connection.
func (s *session) jsonLogin(f *json.Frame) {
	_, token, e := s.login(f.Username, f.Password)
	if e != nil {
		s.sendError(e.text)
		return
	}
	s.reply(json.AppendLoginResponse(newFrame(32+len(token)), token))
}

// jsonAuth authenticates the connection with a token.
func (s *session) jsonAuth(f *json.Frame) {
	if len(f.ClientID) > maxClientID {
		s.failFor(frameRef{}, "field \"client_id\" is longer than "+strconv.Itoa(maxClientID)+" bytes")
		return
	}
	s.clientID, s.stableFor = f.ClientID, nil
	if _, e := s.authenticate(f.Token); e != nil {
		s.sendError(e.text)
		return
	}
	s.reply(json.AppendAuthenticated(newFrame(48)))
	s.recheckSubscriptions()
}

// jsonPublish publishes and, at QoS 1, confirms with a puback once the
// message is durable (see session.publish), at QoS 2 with a pubrec (see
// session.publishOnce): a client may have many publishes awaiting theirs.
func (s *session) jsonPublish(f *json.Frame) {
	p := whispeer.Message{
		Topic:   f.Topic,
		Payload: f.Payload,
		ID:      f.MessageID,
		QoS:     whispeer.QoS(f.QoS),
		Sealed:  f.Sealed,
	}
	if f.Encoding != json.EncodingJSON {
		b, err := f.PayloadBytes(nil)
		if err != nil {
			s.failFor(refOf(f), err.Error())
			return
		}
		p.Payload = b
	}
	var e *opError
	switch p.QoS {
	case whispeer.AtMostOnce:
		e = s.publish(&p, nil)
	case whispeer.AtLeastOnce:
		e = s.publish(&p, s.jsonPubAck(refOf(f)))
	default:
		e = s.publishOnce(&p, s.jsonPubRec(refOf(f)))
	}
	if e != nil {
		s.sendErrorFor(refOf(f), e.text)
	}
}

// jsonPubAck returns the callback that answers a QoS 1 publish, which r
// names, once it is durable: a puback, or an error frame.
func (s *session) jsonPubAck(r frameRef) func(*opError) {
	return func(e *opError) {
		if e != nil {
			s.sendErrorFor(r, e.text)
			return
		}
		s.reply(json.AppendPubAck(newFrame(32+len(r.id)), r.id))
	}
}

// jsonSubscribe subscribes the connection to a topic or pattern: the
// confirmation first, then the replayed history or, with "offset", the
// messages after that offset, then live messages.
func (s *session) jsonSubscribe(f *json.Frame) {
	pattern, ref := f.Topic, refOf(f)
	if e := s.checkSubscribe(pattern); e != nil {
		s.sendErrorFor(ref, e.text)
		return
	}
	key := subKey{pattern: pattern}
	if _, ok := s.subs[key]; ok {
		s.failFor(ref, "already subscribed to "+quote(pattern))
		return
	}
	req := subscription{key: key, pattern: pattern, replay: s.srv.cfg.Replay.Size, handler: s.deliver, replayed: s.replay, subscriber: s.id}
	if f.QoS == 2 {
		req.handler, req.replayed, req.durable = s.deliverOnce, s.replayOnce, s.durableID(pattern)
	}
	req.incomplete = func() { s.sendError("replay of " + quote(pattern) + " incomplete: messages were lost") }
	if f.Presence {
		req.watch = s.jsonWatcher()
	}
	resumed := f.HasOffset || f.Epoch != ""
	switch {
	case resumed && f.HasLast:
		s.failFor(ref, `"last" and "offset" exclude each other`)
		return
	case resumed && match.IsPattern(pattern):
		s.failFor(ref, "resuming from an offset needs a topic, not a pattern")
		return
	case resumed:
		if f.Epoch != "" {
			epoch, err := strconv.ParseUint(f.Epoch, 10, 64)
			if err != nil {
				s.failFor(ref, `invalid "epoch": want the decimal string a subscribed reply gave`)
				return
			}
			req.epoch = epoch
		}
		req.resume, req.offset, req.replay = true, f.Offset, 0
	case f.HasLast:
		req.replay = min(f.Last, s.srv.maxReplay())
	}
	bs, e := s.subscribe(&req)
	if e != nil {
		s.release(ws.Frame(ws.Text, errorFrame(e.text, ref)))
		return
	}
	s.release(ws.Frame(ws.Text, appendSubscribed(newFrame(96+len(pattern)), pattern, bs, resumed)))
}

// appendSubscribed appends {"type":"subscribed","topic":…}, with the
// topic's "epoch" (a decimal string) and newest "offset" when the broker
// keeps a log, and for a resume whether it "recovered": whether the client
// receives every message after its offset.
func appendSubscribed(dst []byte, pattern string, bs *whispeer.Subscription, resumed bool) []byte {
	dst = json.AppendSubscribed(dst, pattern)
	epoch, offset := bs.Position()
	if epoch == 0 && !resumed {
		return dst
	}
	dst = dst[:len(dst)-1] // the closing brace
	if epoch != 0 {
		dst = append(dst, `,"epoch":"`...)
		dst = strconv.AppendUint(dst, epoch, 10)
		dst = append(dst, `","offset":`...)
		dst = strconv.AppendUint(dst, offset, 10)
	}
	if resumed {
		dst = append(dst, `,"recovered":`...)
		dst = strconv.AppendBool(dst, bs.Recovered())
	}
	return append(dst, '}')
}

// jsonUnsubscribe ends a subscription.
func (s *session) jsonUnsubscribe(f *json.Frame) {
	if !s.unsubscribe(subKey{pattern: f.Topic}) {
		s.failFor(refOf(f), "not subscribed to "+quote(f.Topic))
		return
	}
	s.reply(json.AppendUnsubscribed(newFrame(32+len(f.Topic)), f.Topic))
}
