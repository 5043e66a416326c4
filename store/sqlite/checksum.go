package sqlite

import (
	"encoding/binary"
	"hash/crc32"
	"unsafe"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sum returns the CRC-32C a message's row carries in its crc column: over
// its topic's row id, its offset, time, QoS and sealed flag, and its id,
// encoded headers and payload, each length-prefixed but the last, then its
// publisher's id, length-prefixed, when it has one (so that the rows
// stored before there was one keep their sums). SQLite
// checks no page's content, so a damaged page's bytes would otherwise be
// served as they are; a read checks the sum of every row that has one.
func sum(topic, off, ns int64, qos int64, sealed bool, id string, hdr, payload []byte, pub string) uint32 {
	var b [8*3 + 2 + 2*binary.MaxVarintLen64]byte
	n := 0
	for _, v := range [...]int64{topic, off, ns} {
		binary.LittleEndian.PutUint64(b[n:], uint64(v))
		n += 8
	}
	b[n] = byte(qos)
	if sealed {
		b[n+1] = 1
	}
	n += 2
	n += binary.PutUvarint(b[n:], uint64(len(id)))
	c := crc32.Update(0, castagnoli, b[:n])
	c = crc32.Update(c, castagnoli, unsafe.Slice(unsafe.StringData(id), len(id)))
	n = binary.PutUvarint(b[:], uint64(len(hdr)))
	c = crc32.Update(c, castagnoli, b[:n])
	c = crc32.Update(c, castagnoli, hdr)
	c = crc32.Update(c, castagnoli, payload)
	if pub == "" {
		return c
	}
	n = binary.PutUvarint(b[:], uint64(len(pub)))
	c = crc32.Update(c, castagnoli, b[:n])
	return crc32.Update(c, castagnoli, unsafe.Slice(unsafe.StringData(pub), len(pub)))
}
