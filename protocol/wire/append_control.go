package wire

import (
	"encoding/binary"
	"fmt"
)

// AppendHello appends a HELLO frame. Ext may be set only when Version is
// above this package's [Version].
func AppendHello(dst []byte, h *Hello) ([]byte, error) {
	if h.Version == 0 {
		return dst, ErrVersion
	}
	if len(h.Ext) > 0 && h.Version <= Version {
		return dst, fmt.Errorf("%w: extension bytes in a version %d HELLO", ErrTrailing, h.Version)
	}
	if err := fits8("session", h.Session, "name", h.Name); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypeHello, 4+1+4+4+1+len(h.Session)+1+len(h.Name)+len(h.Ext))
	if err != nil {
		return dst, err
	}
	b = append(b, Magic...)
	b = append(b, h.Version)
	b = binary.BigEndian.AppendUint32(b, uint32(h.Caps))
	b = binary.BigEndian.AppendUint32(b, h.MaxFrame)
	b = appendStr8(b, h.Session)
	b = appendStr8(b, h.Name)
	return append(b, h.Ext...), nil
}

// AppendWelcome appends a WELCOME frame.
func AppendWelcome(dst []byte, w *Welcome) ([]byte, error) {
	if w.Version == 0 {
		return dst, ErrVersion
	}
	if err := fits8("session", w.Session, "server", w.Server); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypeWelcome, 1+1+4+4+4+1+len(w.Session)+1+len(w.Server))
	if err != nil {
		return dst, err
	}
	b = append(b, w.Version, bit(w.Resumed))
	b = binary.BigEndian.AppendUint32(b, uint32(w.Caps))
	b = binary.BigEndian.AppendUint32(b, w.MaxFrame)
	b = binary.BigEndian.AppendUint32(b, w.PingInterval)
	b = appendStr8(b, w.Session)
	return appendStr8(b, w.Server), nil
}

// AppendAuth appends an AUTH frame.
func AppendAuth(dst []byte, a *Auth) ([]byte, error) {
	if err := fits("token", len(a.Token), maxUint16); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypeAuth, 2+len(a.Token))
	if err != nil {
		return dst, err
	}
	return appendStr16(b, a.Token), nil
}

// AppendLogin appends a LOGIN frame.
func AppendLogin(dst []byte, l *Login) ([]byte, error) {
	if err := fits("user", len(l.User), maxUint8); err != nil {
		return dst, err
	}
	if err := fits("password", len(l.Password), maxUint16); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypeLogin, 1+len(l.User)+2+len(l.Password))
	if err != nil {
		return dst, err
	}
	b = appendStr8(b, l.User)
	return appendStr16(b, l.Password), nil
}

// AppendAuthOK appends an AUTHOK frame.
func AppendAuthOK(dst []byte, a *AuthOK) ([]byte, error) {
	if err := fits("token", len(a.Token), maxUint16); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypeAuthOK, 8+2+len(a.Token))
	if err != nil {
		return dst, err
	}
	b = binary.BigEndian.AppendUint64(b, uint64(a.Expires))
	return appendStr16(b, a.Token), nil
}

// AppendError appends an ERROR frame. A Text too long for the frame is
// cut to fit rather than refused, at a UTF-8 character boundary.
func AppendError(dst []byte, e *Error) ([]byte, error) {
	if err := e.check(); err != nil {
		return dst, err
	}
	text := cut(e.Text, maxUint16)
	b, err := begin(dst, TypeError, 3+2+len(text))
	if err != nil {
		return dst, err
	}
	b = append(b, byte(e.Code), bit(e.Fatal), byte(e.Ref))
	return appendStr16(b, text), nil
}

// AppendSubscribe appends a SUB frame. Of Resume, only the fields that
// its Mode uses are encoded.
func AppendSubscribe(dst []byte, s *Subscribe) ([]byte, error) {
	if err := s.check(); err != nil {
		return dst, err
	}
	if err := fits("topic", len(s.Topic), maxUint16); err != nil {
		return dst, err
	}
	resume := [...]int{ResumeNone: 0, ResumeLast: 4, ResumeOffset: 16, ResumeDurable: 0}[s.Resume.Mode]
	b, err := begin(dst, TypeSubscribe, 4+1+1+resume+2+len(s.Topic))
	if err != nil {
		return dst, err
	}
	b = binary.BigEndian.AppendUint32(b, s.SID)
	qos := byte(s.QoS)
	if s.Presence {
		qos |= subPresence
	}
	b = append(b, qos, byte(s.Resume.Mode))
	switch s.Resume.Mode {
	case ResumeLast:
		b = binary.BigEndian.AppendUint32(b, s.Resume.Last)
	case ResumeOffset:
		b = binary.BigEndian.AppendUint64(b, s.Resume.Epoch)
		b = binary.BigEndian.AppendUint64(b, s.Resume.Offset)
	}
	return appendStr16(b, s.Topic), nil
}

// AppendUnsubscribe appends an UNSUB frame.
func AppendUnsubscribe(dst []byte, u *Unsubscribe) ([]byte, error) {
	if u.SID == 0 {
		return dst, ErrSID
	}
	b, _ := begin(dst, TypeUnsubscribe, 4)
	return binary.BigEndian.AppendUint32(b, u.SID), nil
}

// AppendSubAck appends a SUBACK frame. A Text too long for the frame is
// cut to fit, like ERROR's.
func AppendSubAck(dst []byte, s *SubAck) ([]byte, error) {
	if s.SID == 0 {
		return dst, ErrSID
	}
	text := cut(s.Text, maxUint16)
	b, err := begin(dst, TypeSubAck, 4+1+1+8+8+2+len(text))
	if err != nil {
		return dst, err
	}
	b = binary.BigEndian.AppendUint32(b, s.SID)
	b = append(b, byte(s.Code), bit(s.Recovered))
	b = binary.BigEndian.AppendUint64(b, s.Epoch)
	b = binary.BigEndian.AppendUint64(b, s.Offset)
	return appendStr16(b, text), nil
}

// bit encodes a boolean flag as bit 0.
func bit(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// fits8 checks two fields with uint8 length prefixes.
func fits8(name1 string, v1 []byte, name2 string, v2 []byte) error {
	if err := fits(name1, len(v1), maxUint8); err != nil {
		return err
	}
	return fits(name2, len(v2), maxUint8)
}

// cut shortens text to at most n bytes without splitting a UTF-8
// sequence.
func cut(text []byte, n int) []byte {
	if len(text) <= n {
		return text
	}
	for n > 0 && text[n]&0xC0 == 0x80 { // text[n] continues a sequence
		n--
	}
	return text[:n]
}
