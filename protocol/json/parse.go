package json

import (
	"math"
	"strings"
)

// Bits naming the known fields of a client frame. The string fields come
// first, so that a bit below 1<<nStrings is a string field.
const (
	fType uint16 = 1 << iota
	fUsername
	fPassword
	fToken
	fTopic
	fMessageID
	fEpoch
	fClientID
	fEncoding
	fPayload
	fQoS
	fLast
	fOffset
	fSealed
	fPresence
)

// nStrings is the number of string fields.
const nStrings = 9

// fieldNames are the wire names of the fields, by bit position.
var fieldNames = [...]string{"type", "username", "password", "token", "topic", "message_id", "epoch", "client_id", "encoding", "payload", "qos", "last", "offset", "sealed", "presence"}

// required lists, by Type, the fields that must be present and, for
// strings other than the password, non-empty.
var required = [...]uint16{
	TypeLogin:         fUsername | fPassword,
	TypeAuth:          fToken,
	TypeSubscribe:     fTopic,
	TypeUnsubscribe:   fTopic,
	TypePublish:       fTopic | fPayload,
	TypeAck:           fMessageID,
	TypePing:          0,
	TypePubRec:        fMessageID,
	TypePubRel:        fMessageID,
	TypePubComp:       fMessageID,
	TypePresence:      fTopic,
	TypePresenceStats: fTopic,
}

// lookupField returns the bit of the field named key, or 0.
func lookupField(key []byte) uint16 {
	switch string(key) {
	case "type":
		return fType
	case "username":
		return fUsername
	case "password":
		return fPassword
	case "token":
		return fToken
	case "topic":
		return fTopic
	case "message_id":
		return fMessageID
	case "epoch":
		return fEpoch
	case "client_id":
		return fClientID
	case "encoding":
		return fEncoding
	case "sealed":
		return fSealed
	case "presence":
		return fPresence
	case "payload":
		return fPayload
	case "qos":
		return fQoS
	case "last":
		return fLast
	case "offset":
		return fOffset
	}
	return 0
}

// bitIndex returns the position of the single set bit of f.
func bitIndex(f uint16) int {
	n := 0
	for f > 1 {
		f >>= 1
		n++
	}
	return n
}

// fieldName returns the wire name of the field bit f.
func fieldName(f uint16) string { return fieldNames[bitIndex(f)] }

// rawString locates a string value's contents, between its quotes, in the
// frame.
type rawString struct {
	start, end int
	escaped    bool // contains a backslash escape
}

// scanned is what the parser found in a frame: offsets into the data and
// numbers, never sub-slices, so that nothing the parser holds points into
// memory the caller did not give it.
type scanned struct {
	strs    [nStrings]rawString // indexed by bitIndex
	payload rawString           // the payload value, not a string's contents
	typ     Type
	seen    uint16 // fields present and not null
	qos     uint8
	enc     Encoding
	sealed  bool
	// presence is a subscribe's "presence".
	presence bool
	last     int
	offset   uint64
}

// Parse parses one client frame: a JSON object with a "type" field (see the
// package documentation for each type's fields). The whole of data must be
// that object, with optional whitespace around it.
//
// Syntax errors win over every other error; then the first problem with a
// field's value; then an unknown or missing type; then missing fields; then
// the QoS rule. Fields the frame's type does not use are still checked for
// their kind of value; unknown fields are checked for syntax and ignored.
//
// An error other than a syntax error carries the frame's topic and
// message_id (Error.Topic, Error.MessageID), so that a server can say
// which frame it refuses.
//
// The returned Payload aliases data; the string fields share one new
// allocation.
func Parse(data []byte) (Frame, error) {
	p := parser{data: data}
	if err := p.object(); err != nil {
		return Frame{}, err
	}
	f, e := p.frame(data)
	if e != nil {
		p.refer(e)
		return Frame{}, e
	}
	return f, nil
}

// refer sets e's Topic and MessageID to the frame's, but for the field at
// fault.
func (p *parser) refer(e *Error) {
	if s := p.out.strs[bitIndex(fTopic)]; e.Field != "topic" && p.out.seen&fTopic != 0 {
		e.Topic = p.decode(s)
	}
	if s := p.out.strs[bitIndex(fMessageID)]; e.Field != "message_id" && p.out.seen&fMessageID != 0 {
		e.MessageID = p.decode(s)
	}
}

// frame checks the fields that object scanned and builds the frame.
func (p *parser) frame(data []byte) (Frame, *Error) {
	if p.first != nil {
		return Frame{}, p.first
	}
	out := &p.out
	if out.seen&fType == 0 {
		return Frame{}, fieldError(ErrMissingField, "type", `missing field "type"`)
	}
	if out.typ == TypeUnknown {
		return Frame{}, unknownType(p.decode(out.strs[0]))
	}
	for bit := uint16(1); bit <= fPresence; bit <<= 1 {
		if required[out.typ]&bit == 0 {
			continue
		}
		missing := out.seen&bit == 0
		if bit < 1<<nStrings && bit != fPassword {
			s := out.strs[bitIndex(bit)]
			missing = missing || s.start == s.end
		}
		if missing {
			name := fieldName(bit)
			return Frame{}, fieldError(ErrMissingField, name, "missing field %q (required by %q)", name, out.typ.String())
		}
	}
	if id := out.strs[bitIndex(fMessageID)]; out.typ == TypePublish && out.qos > 0 && id.start == id.end {
		return Frame{}, fieldError(ErrMessageIDRequired, "message_id", "message_id required for qos %d", out.qos)
	}

	f := Frame{
		Type:      out.typ,
		QoS:       out.qos,
		Last:      out.last,
		HasLast:   out.seen&fLast != 0,
		Offset:    out.offset,
		HasOffset: out.seen&fOffset != 0,
		Encoding:  out.enc,
		Sealed:    out.sealed,
		Presence:  out.presence,
	}
	if out.seen&fPayload != 0 {
		f.Payload = data[out.payload.start:out.payload.end:out.payload.end]
	}
	p.strings(&f)
	return f, nil
}

// strings sets f's string fields, all views of one new string.
func (p *parser) strings(f *Frame) {
	fields := [...]*string{&f.Username, &f.Password, &f.Token, &f.Topic, &f.MessageID, &f.Epoch, &f.ClientID}
	n := 0
	for i := range fields {
		s := p.out.strs[i+1]
		n += s.end - s.start
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n) // the raw length bounds the decoded length
	var ends [len(fields)]int
	for i := range fields {
		s := p.out.strs[i+1]
		if s.escaped {
			var tmp [64]byte
			b.Write(decodeString(tmp[:0], p.data[s.start:s.end]))
		} else {
			b.Write(p.data[s.start:s.end])
		}
		ends[i] = b.Len()
	}
	all, start := b.String(), 0
	for i, dst := range fields {
		*dst = all[start:ends[i]]
		start = ends[i]
	}
}

// decode returns the decoded value of s as a new string.
func (p *parser) decode(s rawString) string {
	if !s.escaped {
		return string(p.data[s.start:s.end])
	}
	return string(decodeString(nil, p.data[s.start:s.end]))
}

// unknownType returns the ErrUnknownType error for name, shortened to keep
// the message small.
func unknownType(name string) *Error {
	if len(name) > 32 {
		name = name[:32] + "…"
	}
	return fieldError(ErrUnknownType, "type", "unknown frame type %q", name)
}

// object scans the frame object into p.out.
func (p *parser) object() error {
	p.ws()
	if p.i == len(p.data) {
		return p.syntax(p.i, "empty frame")
	}
	if p.data[p.i] != '{' {
		return p.notObject()
	}
	p.i++
	p.ws()
	if p.peek() == '}' {
		p.i++
		return p.end()
	}
	for {
		p.ws()
		if p.peek() != '"' {
			return p.unexpected("a string key")
		}
		key, err := p.string()
		if err != nil {
			return err
		}
		var field uint16
		if key.escaped {
			var tmp [16]byte
			field = lookupField(decodeString(tmp[:0], p.data[key.start:key.end]))
		} else {
			field = lookupField(p.data[key.start:key.end])
		}
		p.ws()
		if p.peek() != ':' {
			return p.unexpected("':' after an object key")
		}
		p.i++
		p.ws()
		if field != 0 && p.out.seen&field != 0 {
			p.fail(fieldError(ErrDuplicateField, fieldName(field), "duplicate field %q", fieldName(field)))
		}
		if field != 0 && field != fPayload && p.peek() == 'n' {
			// null stands for an absent field.
			err = p.value(1)
		} else {
			p.out.seen |= field
			err = p.field(field)
		}
		if err != nil {
			return err
		}
		p.ws()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return p.end()
		default:
			return p.unexpected("',' or '}' after an object value")
		}
	}
}

// field scans the value of the field with bit field (0 if unknown) into
// p.out.
func (p *parser) field(field uint16) error {
	switch {
	case field == 0:
		return p.value(1)
	case field < 1<<nStrings:
		if p.peek() != '"' {
			return p.wrongType(field, "a string")
		}
		s, err := p.string()
		if err != nil {
			return err
		}
		p.out.strs[bitIndex(field)] = s
		if s.escaped {
			if r, ok := loneSurrogate(p.data[s.start:s.end]); ok {
				name := fieldName(field)
				p.fail(fieldError(ErrSurrogate, name, `field %q holds a lone UTF-16 surrogate \u%04x, which is no character`, name, r))
			}
		}
		switch field {
		case fType:
			p.out.typ = parseType(p.name(s))
		case fEncoding:
			p.encoding(s)
		}
		return nil
	case field == fSealed || field == fPresence:
		switch p.peek() {
		case 't':
			if field == fSealed {
				p.out.sealed = true
			} else {
				p.out.presence = true
			}
			return p.literal("true")
		case 'f':
			return p.literal("false")
		}
		return p.wrongType(field, "a boolean")
	case field == fPayload:
		start := p.i
		if err := p.value(1); err != nil {
			return err
		}
		p.out.payload = rawString{start: start, end: p.i}
		return nil
	}
	if !p.isNumberStart() {
		return p.wrongType(field, "a non-negative integer")
	}
	start := p.i
	if err := p.number(); err != nil {
		return err
	}
	p.integer(field, p.data[start:p.i])
	return nil
}

// name returns the bytes of a string value naming something, such as a
// type or an encoding, decoded if it has escapes.
func (p *parser) name(s rawString) []byte {
	if !s.escaped {
		return p.data[s.start:s.end]
	}
	var tmp [16]byte
	return decodeString(tmp[:0], p.data[s.start:s.end])
}

// encoding records the value of "encoding".
func (p *parser) encoding(s rawString) {
	e, ok := parseEncoding(p.name(s))
	if !ok {
		p.fail(fieldError(ErrFieldType, "encoding", `field "encoding" must be "json", "text" or "base64"`))
	}
	p.out.enc = e
}

// integer checks and stores the number token num of an integer field.
func (p *parser) integer(field uint16, num []byte) {
	n, ok := parseUint(num)
	switch field {
	case fQoS:
		switch {
		case !ok && !isInteger(num):
			p.fail(fieldError(ErrFieldType, "qos", `field "qos" must be the integer 0, 1 or 2`))
		case !ok || n > 2:
			p.fail(fieldError(ErrQoS, "qos", `field "qos" must be 0, 1 or 2, got %.20s`, num))
		default:
			p.out.qos = uint8(n)
		}
	case fLast:
		if !ok || n > math.MaxInt32 {
			p.fail(fieldError(ErrFieldType, "last", `field "last" must be an integer from 0 to %d`, math.MaxInt32))
		}
		p.out.last = int(min(n, math.MaxInt32))
	case fOffset:
		if !ok {
			p.fail(fieldError(ErrFieldType, "offset", `field "offset" must be an integer from 0 to %d`, uint64(math.MaxUint64)))
		}
		p.out.offset = n
	}
}

// wrongType records that field holds something other than want, then
// scans past the value.
func (p *parser) wrongType(field uint16, want string) error {
	got := p.kind()
	if err := p.value(1); err != nil {
		return err
	}
	name := fieldName(field)
	p.fail(fieldError(ErrFieldType, name, "field %q must be %s, got %s", name, want, got))
	return nil
}

// fail records the first error about a field's value.
func (p *parser) fail(e *Error) {
	if p.first == nil {
		p.first = e
	}
}

// notObject returns ErrNotObject if data is some other JSON value, or the
// syntax error that makes it no JSON at all.
func (p *parser) notObject() error {
	kind := p.kind()
	if err := p.value(0); err != nil {
		return err
	}
	if err := p.end(); err != nil {
		return err
	}
	return &Error{Kind: ErrNotObject, Offset: -1, msg: "frame must be a JSON object, got " + kind}
}

// parseUint parses b as a decimal integer without sign, fraction or
// exponent, reporting false for anything else or an overflow.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// isInteger reports whether the JSON number b has no fraction or exponent.
func isInteger(b []byte) bool {
	for _, c := range b {
		if c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return true
}
