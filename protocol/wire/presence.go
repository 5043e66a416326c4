package wire

import (
	"encoding/binary"
	"fmt"
	"iter"
)

// The presence frames (docs/protocol-native.md, Presence), used once a
// connection is granted CapPresence.

// Presence is the PRESENCE frame: a client asks who is subscribed to a
// topic or pattern.
type Presence struct {
	// ID is the client's id for the request, never 0; the answer, a
	// PRESENCEINFO, repeats it.
	ID uint32
	// Stats asks for the counts alone, without the list of clients.
	Stats bool
	// Topic is the topic or pattern, as subscribed to; not empty.
	Topic []byte
}

// PresenceInfo is the PRESENCEINFO frame, the answer to a PRESENCE.
type PresenceInfo struct {
	// ID is the PRESENCE's id.
	ID uint32
	// Code is CodeOK, or why the request was refused.
	Code Code
	// Truncated reports that Clients lists fewer clients than Count.
	Truncated bool
	// Count is the number of clients present; Users the number of
	// distinct users among them.
	Count, Users uint32
	// Clients lists the clients present, or some of them; none for a
	// PRESENCE that asked for Stats, or a refusal.
	Clients PresenceClients
	// Text explains a refusal; empty on success.
	Text []byte
}

// JoinLeave is the JOINLEAVE frame: a client joined or left the topic of
// a subscription made with Subscribe.Presence.
type JoinLeave struct {
	// SID is the subscription whose topic the client joined or left.
	SID uint32
	// Leave is false for a join, true for a leave.
	Leave bool
	// User and Client are the user the client authenticated as and its
	// client id.
	User, Client []byte
}

// PresenceClients is the list of a PRESENCEINFO in its wire form: a
// uint16 count, then per client a uint16-prefixed user and a
// uint16-prefixed client id. Like [Headers], parsing keeps it as one raw
// block that views the frame; the zero value lists none.
type PresenceClients struct {
	raw []byte
	n   int
}

// MakePresenceClients builds a list from alternating users and client
// ids.
func MakePresenceClients(userClient ...string) (PresenceClients, error) {
	if len(userClient)%2 != 0 {
		return PresenceClients{}, fmt.Errorf("%w: odd number of users and client ids", ErrTooLong)
	}
	if len(userClient)/2 > maxUint16 {
		return PresenceClients{}, fmt.Errorf("%w: %d clients", ErrTooLong, len(userClient)/2)
	}
	size := 0
	for _, s := range userClient {
		if err := fits("presence user or client id", len(s), maxUint16); err != nil {
			return PresenceClients{}, err
		}
		size += 2 + len(s)
	}
	if size == 0 {
		return PresenceClients{}, nil
	}
	c := PresenceClients{raw: make([]byte, 0, size), n: len(userClient) / 2}
	for _, s := range userClient {
		c.raw = appendStr16(c.raw, s)
	}
	return c, nil
}

// Len returns the number of clients listed.
func (c PresenceClients) Len() int { return c.n }

// All iterates over the users and client ids in order. The slices view
// the frame's buffer.
func (c PresenceClients) All() iter.Seq2[[]byte, []byte] {
	return func(yield func(user, client []byte) bool) {
		b := c.raw
		for range c.n {
			user, i, _ := str16(b, 0)
			client, j, _ := str16(b, i)
			b = b[j:]
			if !yield(user, client) {
				return
			}
		}
	}
}

// parsePresenceClients reads a list at the front of b and returns it
// with the number of bytes it took.
func parsePresenceClients(b []byte) (PresenceClients, int, error) {
	if len(b) < 2 {
		return PresenceClients{}, 0, ErrTruncated
	}
	n := int(binary.BigEndian.Uint16(b))
	i := 2
	for range 2 * n {
		var ok bool
		if _, i, ok = str16(b, i); !ok {
			return PresenceClients{}, 0, ErrTruncated
		}
	}
	if n == 0 {
		return PresenceClients{}, i, nil
	}
	return PresenceClients{raw: b[2:i:i], n: n}, i, nil
}

// errRequestID reports a PRESENCE or PRESENCEINFO with id 0.
var errRequestID = fmt.Errorf("%w: presence request id 0", ErrSID)

// decode parses a PRESENCE body: id, flags, topic.
func (p *Presence) decode(b []byte) error {
	if len(b) < 4+1 {
		return ErrTruncated
	}
	topic, i, ok := str16(b, 5)
	if !ok {
		return ErrTruncated
	}
	*p = Presence{ID: binary.BigEndian.Uint32(b), Stats: b[4]&1 != 0, Topic: topic}
	switch {
	case b[4]&^1 != 0:
		return ErrFlags
	case p.ID == 0:
		return errRequestID
	case len(topic) == 0:
		return ErrEmptyTopic
	}
	return checkEnd(b, i)
}

// AppendPresence appends a PRESENCE frame.
func AppendPresence(dst []byte, p *Presence) ([]byte, error) {
	switch {
	case p.ID == 0:
		return dst, errRequestID
	case len(p.Topic) == 0:
		return dst, ErrEmptyTopic
	}
	if err := fits("topic", len(p.Topic), maxUint16); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypePresence, 4+1+2+len(p.Topic))
	if err != nil {
		return dst, err
	}
	b = binary.BigEndian.AppendUint32(b, p.ID)
	b = append(b, bit(p.Stats))
	return appendStr16(b, p.Topic), nil
}

// decode parses a PRESENCEINFO body: id, code, flags, count, users,
// clients, text.
func (p *PresenceInfo) decode(b []byte) error {
	if len(b) < 4+1+1+4+4 {
		return ErrTruncated
	}
	clients, n, err := parsePresenceClients(b[14:])
	if err != nil {
		return err
	}
	text, i, ok := str16(b, 14+n)
	if !ok {
		return ErrTruncated
	}
	*p = PresenceInfo{ID: binary.BigEndian.Uint32(b), Code: Code(b[4]), Truncated: b[5]&1 != 0,
		Count: binary.BigEndian.Uint32(b[6:]), Users: binary.BigEndian.Uint32(b[10:]),
		Clients: clients, Text: text}
	switch {
	case b[5]&^1 != 0:
		return ErrFlags
	case p.ID == 0:
		return errRequestID
	}
	return checkEnd(b, i)
}

// AppendPresenceInfo appends a PRESENCEINFO frame. A Text too long for
// the frame is cut to fit, like ERROR's.
func AppendPresenceInfo(dst []byte, p *PresenceInfo) ([]byte, error) {
	if p.ID == 0 {
		return dst, errRequestID
	}
	text := cut(p.Text, maxUint16)
	b, err := begin(dst, TypePresenceInfo, 4+1+1+4+4+2+len(p.Clients.raw)+2+len(text))
	if err != nil {
		return dst, err
	}
	b = binary.BigEndian.AppendUint32(b, p.ID)
	b = append(b, byte(p.Code), bit(p.Truncated))
	b = binary.BigEndian.AppendUint32(b, p.Count)
	b = binary.BigEndian.AppendUint32(b, p.Users)
	b = binary.BigEndian.AppendUint16(b, uint16(p.Clients.n))
	b = append(b, p.Clients.raw...)
	return appendStr16(b, text), nil
}

// decode parses a JOINLEAVE body: sid, flags, user, client.
func (j *JoinLeave) decode(b []byte) error {
	if len(b) < 4+1 {
		return ErrTruncated
	}
	user, i, ok := str16(b, 5)
	if !ok {
		return ErrTruncated
	}
	client, i, ok := str16(b, i)
	if !ok {
		return ErrTruncated
	}
	*j = JoinLeave{SID: binary.BigEndian.Uint32(b), Leave: b[4]&1 != 0, User: user, Client: client}
	switch {
	case b[4]&^1 != 0:
		return ErrFlags
	case j.SID == 0:
		return ErrSID
	}
	return checkEnd(b, i)
}

// AppendJoinLeave appends a JOINLEAVE frame.
func AppendJoinLeave(dst []byte, j *JoinLeave) ([]byte, error) {
	if j.SID == 0 {
		return dst, ErrSID
	}
	if err := fits("user", len(j.User), maxUint16); err != nil {
		return dst, err
	}
	if err := fits("client id", len(j.Client), maxUint16); err != nil {
		return dst, err
	}
	b, err := begin(dst, TypeJoinLeave, 4+1+2+len(j.User)+2+len(j.Client))
	if err != nil {
		return dst, err
	}
	b = binary.BigEndian.AppendUint32(b, j.SID)
	b = append(b, bit(j.Leave))
	b = appendStr16(b, j.User)
	return appendStr16(b, j.Client), nil
}
