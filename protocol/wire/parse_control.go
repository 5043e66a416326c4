package wire

import (
	"encoding/binary"
	"fmt"
)

// This file parses the frames off the message path: the session's
// handshake and authentication, errors and subscriptions.

// decode parses a HELLO body: magic, version, caps, max frame, session,
// name and, from a later version, extension bytes.
func (h *Hello) decode(b []byte) error {
	if len(b) < 4+1+4+4 {
		return ErrTruncated
	}
	if string(b[:4]) != Magic {
		return ErrMagic
	}
	v := b[4]
	session, i, ok := str8(b, 13)
	if !ok {
		return ErrTruncated
	}
	name, i, ok := str8(b, i)
	if !ok {
		return ErrTruncated
	}
	*h = Hello{Version: v, Caps: Caps(binary.BigEndian.Uint32(b[5:])),
		MaxFrame: binary.BigEndian.Uint32(b[9:]), Session: session, Name: name}
	if v == 0 {
		return ErrVersion
	}
	if v > Version {
		h.Ext = rest(b, i)
		return nil
	}
	return checkEnd(b, i)
}

// decode parses a WELCOME body: version, flags, caps, max frame, ping
// interval, session, server.
func (w *Welcome) decode(b []byte) error {
	if len(b) < 1+1+4+4+4 {
		return ErrTruncated
	}
	session, i, ok := str8(b, 14)
	if !ok {
		return ErrTruncated
	}
	server, i, ok := str8(b, i)
	if !ok {
		return ErrTruncated
	}
	*w = Welcome{Version: b[0], Resumed: b[1]&1 != 0, Caps: Caps(binary.BigEndian.Uint32(b[2:])),
		MaxFrame: binary.BigEndian.Uint32(b[6:]), PingInterval: binary.BigEndian.Uint32(b[10:]),
		Session: session, Server: server}
	switch {
	case b[1]&^1 != 0:
		return ErrFlags
	case w.Version == 0:
		return ErrVersion
	}
	return checkEnd(b, i)
}

// decode parses an AUTH body: the token.
func (a *Auth) decode(b []byte) error {
	token, i, ok := str16(b, 0)
	if !ok {
		return ErrTruncated
	}
	*a = Auth{Token: token}
	return checkEnd(b, i)
}

// decode parses a LOGIN body: user, password.
func (l *Login) decode(b []byte) error {
	user, i, ok := str8(b, 0)
	if !ok {
		return ErrTruncated
	}
	password, i, ok := str16(b, i)
	if !ok {
		return ErrTruncated
	}
	*l = Login{User: user, Password: password}
	return checkEnd(b, i)
}

// decode parses an AUTHOK body: expiry, token.
func (a *AuthOK) decode(b []byte) error {
	if len(b) < 8 {
		return ErrTruncated
	}
	token, i, ok := str16(b, 8)
	if !ok {
		return ErrTruncated
	}
	*a = AuthOK{Expires: int64(binary.BigEndian.Uint64(b)), Token: token}
	return checkEnd(b, i)
}

// decode parses an ERROR body: code, flags, ref, text.
func (e *Error) decode(b []byte) error {
	if len(b) < 3 {
		return ErrTruncated
	}
	text, i, ok := str16(b, 3)
	if !ok {
		return ErrTruncated
	}
	*e = Error{Code: Code(b[0]), Fatal: b[1]&1 != 0, Ref: Type(b[2]), Text: text}
	if b[1]&^1 != 0 {
		return ErrFlags
	}
	if err := e.check(); err != nil {
		return err
	}
	return checkEnd(b, i)
}

// check applies ERROR's rules: a failure code and a known or no Ref.
func (e *Error) check() error {
	if e.Code == CodeOK {
		return fmt.Errorf("%w: 0", ErrCode)
	}
	if e.Ref != 0 && !e.Ref.Valid() {
		return fmt.Errorf("%w: ref 0x%02x", ErrCode, byte(e.Ref))
	}
	return nil
}

// subPresence is the bit of a SUB's qos byte that asks for join and leave
// events (Subscribe.Presence).
const subPresence = 0x04

// decode parses a SUB body: sid, qos, resume mode and its fields, topic.
func (s *Subscribe) decode(b []byte) error {
	if len(b) < 4+1+1 {
		return ErrTruncated
	}
	r := Resume{Mode: ResumeMode(b[5])}
	i := 6
	switch r.Mode {
	case ResumeNone, ResumeDurable:
	case ResumeLast:
		if len(b) < i+4 {
			return ErrTruncated
		}
		r.Last = binary.BigEndian.Uint32(b[i:])
		i += 4
	case ResumeOffset:
		if len(b) < i+16 {
			return ErrTruncated
		}
		r.Epoch, r.Offset = binary.BigEndian.Uint64(b[i:]), binary.BigEndian.Uint64(b[i+8:])
		i += 16
	default:
		return ErrResume
	}
	topic, i, ok := str16(b, i)
	if !ok {
		return ErrTruncated
	}
	*s = Subscribe{SID: binary.BigEndian.Uint32(b), QoS: QoS(b[4] &^ subPresence), Presence: b[4]&subPresence != 0,
		Resume: r, Topic: topic}
	if err := s.check(); err != nil {
		return err
	}
	return checkEnd(b, i)
}

// check applies SUB's rules.
func (s *Subscribe) check() error {
	switch {
	case s.SID == 0:
		return ErrSID
	case !s.QoS.Valid():
		return ErrQoS
	case s.Resume.Mode > ResumeDurable:
		return ErrResume
	case len(s.Topic) == 0:
		return ErrEmptyTopic
	}
	return nil
}

// decode parses an UNSUB body: sid.
func (u *Unsubscribe) decode(b []byte) error {
	if len(b) < 4 {
		return ErrTruncated
	}
	*u = Unsubscribe{SID: binary.BigEndian.Uint32(b)}
	if u.SID == 0 {
		return ErrSID
	}
	return checkEnd(b, 4)
}

// decode parses a SUBACK body: sid, code, flags, epoch, offset, text.
func (s *SubAck) decode(b []byte) error {
	if len(b) < 4+1+1+8+8 {
		return ErrTruncated
	}
	text, i, ok := str16(b, 22)
	if !ok {
		return ErrTruncated
	}
	*s = SubAck{SID: binary.BigEndian.Uint32(b), Code: Code(b[4]), Recovered: b[5]&1 != 0,
		Epoch: binary.BigEndian.Uint64(b[6:]), Offset: binary.BigEndian.Uint64(b[14:]), Text: text}
	switch {
	case b[5]&^1 != 0:
		return ErrFlags
	case s.SID == 0:
		return ErrSID
	}
	return checkEnd(b, i)
}
