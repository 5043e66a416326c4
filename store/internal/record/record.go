// Package record is the byte format of the records stores write: a frame
// of length and CRC-32C around a body whose first byte is its kind, and
// the bodies of messages, trims, deletions, cursors and checkpoints. It
// holds no state and is safe for concurrent use.
package record

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"time"
	"unsafe"

	"github.com/whispeer-io/whispeer"
	"github.com/whispeer-io/whispeer/envelope"
)

// FrameLen is the length of a frame's header: the body's length and its
// CRC-32C, both little-endian uint32.
const FrameLen = 8

// Kinds of records.
const (
	KindMessage    = 1
	KindTrim       = 2
	KindDelete     = 3
	KindCursor     = 4
	KindCheckpoint = 5
)

// MaxBody bounds a body, so that a damaged length is not taken for a huge
// record.
const MaxBody = 1 << 30

var (
	// ErrShort reports a frame cut short: a torn write at the end of a log.
	ErrShort = errors.New("short record")
	// ErrChecksum reports a frame whose body does not match its CRC.
	ErrChecksum = errors.New("record checksum mismatch")
	// ErrFormat reports a body that does not decode.
	ErrFormat = errors.New("malformed record")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Begin reserves a frame header at the end of dst; pass what it returns to
// End once the body is appended.
func Begin(dst []byte) ([]byte, int) { return append(dst, make([]byte, FrameLen)...), len(dst) }

// End fills in the header of the frame begun at start.
func End(dst []byte, start int) []byte {
	body := dst[start+FrameLen:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(body)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(body, castagnoli))
	return dst
}

// Next returns the body of the frame at the start of b and the frame's
// length. A frame cut short gives ErrShort, an all-zero header (space a
// file system allocated but never wrote) too, and a damaged one
// ErrChecksum.
func Next(b []byte) (body []byte, n int, err error) {
	if len(b) < FrameLen {
		return nil, 0, ErrShort
	}
	size := binary.LittleEndian.Uint32(b)
	sum := binary.LittleEndian.Uint32(b[4:])
	if size == 0 && sum == 0 {
		return nil, 0, ErrShort
	}
	if size > MaxBody {
		return nil, 0, ErrChecksum
	}
	if len(b)-FrameLen < int(size) {
		return nil, 0, ErrShort
	}
	body = b[FrameLen : FrameLen+int(size)]
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, 0, ErrChecksum
	}
	return body, FrameLen + int(size), nil
}

// Find returns the position in b of the first frame that checks out and
// holds a message, trim, deletion or cursor record, or -1 if there is
// none: where reading a log resumes past a damaged stretch. It tries every
// position, checking a frame's CRC only where its length fits in b and
// its kind is one of those.
func Find(b []byte) int {
	for p := 0; p+FrameLen < len(b); p++ {
		size := binary.LittleEndian.Uint32(b[p:])
		if size == 0 || uint64(size) > uint64(len(b)-p-FrameLen) {
			continue
		}
		if k := b[p+FrameLen]; k < KindMessage || k > KindCursor {
			continue
		}
		if _, _, err := Next(b[p:]); err == nil {
			return p
		}
	}
	return -1
}

// Resync returns where reading resumes in b, which starts with a frame
// that does not check out, or -1 if nowhere. Where the frame's length
// leads to a frame that checks out, reading resumes there, the frame's
// payload unsearched: a publisher chose it and may have shaped it as
// records. Only if the length alone was damaged does it resume before:
// where the body so far has the frame's checksum and a frame that checks
// out starts. Otherwise it resumes at the first frame that checks out
// (Find).
func Resync(b []byte) int {
	if len(b) >= FrameLen {
		end := uint64(FrameLen) + uint64(binary.LittleEndian.Uint32(b))
		if end < uint64(len(b)) {
			if _, _, err := Next(b[end:]); err == nil {
				if p := lengthOnly(b[:end]); p > 0 {
					return p
				}
				return int(end)
			}
		}
	}
	if next := Find(b[1:]); next >= 0 {
		return next + 1
	}
	return -1
}

// lengthOnly returns the end of the frame at the start of b, whose length
// was damaged, if the frame is intact but for it and ends before len(b):
// the first position where the body so far has the frame's checksum and a
// frame that checks out starts; else 0. It reads b once.
func lengthOnly(b []byte) int {
	sum := binary.LittleEndian.Uint32(b[4:])
	c := uint32(0)
	for p := FrameLen; p < len(b)-1; p++ {
		c = crc32.Update(c, castagnoli, b[p:p+1])
		if c != sum {
			continue
		}
		if _, _, err := Next(b[p+1:]); err == nil {
			return p + 1
		}
	}
	return 0
}

// AppendMessage appends the body of a message record: m at offset in a
// topic of epoch.
func AppendMessage(dst []byte, epoch, offset uint64, m *whispeer.Message) []byte {
	dst = append(dst, KindMessage)
	dst = binary.LittleEndian.AppendUint64(dst, epoch)
	dst = binary.LittleEndian.AppendUint64(dst, offset)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(m.Time.UnixNano()))
	dst = append(dst, qosFlags(m))
	dst = AppendString(dst, m.Topic)
	dst = AppendString(dst, m.ID)
	if m.PublisherID != "" {
		dst = AppendString(dst, m.PublisherID)
	}
	dst = AppendHeaders(dst, m.Headers)
	return append(dst, m.Payload...)
}

// MinMessageLen is the length of the shortest message record, frame
// included: empty topic, id, headers and payload. A damaged stretch of n
// bytes held at most n/MinMessageLen messages.
const MinMessageLen = FrameLen + 1 + 3*8 + 1 + 1 + 1 + 1

// A message record's QoS byte holds the QoS in its low four bits and
// flags in the others, which records written before there were flags have
// clear. The broker then took a payload for an envelope when it began like
// one, so such a record reads as sealed when its payload does
// (envelope.IsEnvelope): history stored then is delivered as it was.
const (
	qosMask = 0x0f
	// flagSealed marks a payload its publisher declared an envelope
	// (whispeer.Message.Sealed).
	flagSealed = 0x80
	// flagDeclared marks a record that says whether its payload is an
	// envelope (flagSealed): every record written since there were flags.
	flagDeclared = 0x40
	// flagPublisher marks a record whose id is followed by its publisher's
	// id (whispeer.Message.PublisherID), which exactly-once publishes
	// carry; the other records have neither.
	flagPublisher = 0x20
	knownFlags    = flagSealed | flagDeclared | flagPublisher
)

// qosFlags returns the QoS byte of m's record.
func qosFlags(m *whispeer.Message) byte {
	b := byte(m.QoS)&qosMask | flagDeclared
	if m.Sealed {
		b |= flagSealed
	}
	if m.PublisherID != "" {
		b |= flagPublisher
	}
	return b
}

// TimeOffset is where a message record's time starts in its frame; it
// ends 8 bytes later.
const TimeOffset = FrameLen + 1 + 16

// Message is a decoded message record.
type Message struct {
	Epoch uint64
	*whispeer.Message
}

// DecodeMessage decodes a message record's body. The payload aliases
// body; topic, when not empty, is used instead of allocating the topic.
func DecodeMessage(body []byte, topic string) (Message, error) {
	d := Decoder{b: body}
	if d.byte() != KindMessage {
		return Message{}, ErrFormat
	}
	epoch, off, t, qf := d.u64(), d.u64(), d.u64(), d.byte()
	if qf&^(qosMask|knownFlags) != 0 {
		return Message{}, ErrFormat
	}
	name := d.bytes()
	m := &whispeer.Message{Seq: off, QoS: whispeer.QoS(qf & qosMask), Sealed: qf&flagSealed != 0,
		Time: time.Unix(0, int64(t))}
	if topic != "" && string(name) == topic {
		m.Topic = topic
	} else {
		m.Topic = string(name)
	}
	m.ID = string(d.bytes())
	if qf&flagPublisher != 0 {
		m.PublisherID = string(d.bytes())
	}
	m.Headers = d.headers()
	if d.err {
		return Message{}, ErrFormat
	}
	m.Payload = d.b
	if qf&(flagDeclared|flagSealed) == 0 {
		m.Sealed = envelope.IsEnvelope(m.Payload)
	}
	return Message{Epoch: epoch, Message: m}, nil
}

// AppendString appends s with its length as a uvarint.
func AppendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// AppendHeaders appends h: a count, then keys and values as strings.
func AppendHeaders(dst []byte, h whispeer.Headers) []byte {
	dst = binary.AppendUvarint(dst, uint64(h.Len()))
	for k, v := range h.All() {
		dst = AppendString(dst, k)
		dst = AppendString(dst, v)
	}
	return dst
}

// DecodeHeaders decodes what AppendHeaders wrote.
func DecodeHeaders(b []byte) (whispeer.Headers, error) {
	d := Decoder{b: b}
	h := d.headers()
	if d.err || len(d.b) != 0 {
		return whispeer.Headers{}, ErrFormat
	}
	return h, nil
}

// NewDecoder returns a decoder of b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Decoder reads the fields of a body in order. A field past the end makes
// Failed true and reads as zero.
type Decoder struct {
	b   []byte
	err bool
}

// Failed reports whether a read went past the end or a length was bad.
func (d *Decoder) Failed() bool { return d.err }

// Len returns how many bytes are left to read: a field added to a kind of
// record after its first version is read only when some are.
func (d *Decoder) Len() int { return len(d.b) }

// Byte reads one byte.
func (d *Decoder) Byte() byte { return d.byte() }

// U64 reads a little-endian uint64.
func (d *Decoder) U64() uint64 { return d.u64() }

// String reads a string written by AppendString.
func (d *Decoder) String() string { return string(d.bytes()) }

// Uvarint reads a uvarint.
func (d *Decoder) Uvarint() uint64 { return d.uvarint() }

func (d *Decoder) byte() byte {
	if len(d.b) < 1 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *Decoder) u64() uint64 {
	if len(d.b) < 8 {
		d.err = true
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *Decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *Decoder) bytes() []byte {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

func (d *Decoder) headers() whispeer.Headers {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)) {
		d.err = true
		return whispeer.Headers{}
	}
	if n == 0 {
		return whispeer.Headers{}
	}
	kv := make([]string, 2*n)
	for i := range kv {
		b := d.bytes() // viewed, then copied by NewHeaders
		kv[i] = unsafe.String(unsafe.SliceData(b), len(b))
	}
	if d.err {
		return whispeer.Headers{}
	}
	h, err := whispeer.NewHeaders(kv...)
	d.err = err != nil
	return h
}
