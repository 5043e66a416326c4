package bench

import (
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"
)

// epoch is the origin of the monotonic timestamps embedded in payloads; the
// publisher and the subscribers share this process, and so this clock.
var epoch = time.Now()

// stampLen is the length of the timestamp at the start of a data payload.
const stampLen = 16

// payload returns a data payload of size bytes (at least stampLen):
// printable ASCII, safe inside a JSON string, stamped with now.
func payload(size int) []byte {
	p := make([]byte, max(size, stampLen))
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	stamp(p)
	return p
}

// stamp writes the time since epoch, in hex nanoseconds, at the start of p.
func stamp(p []byte) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(time.Since(epoch)))
	hex.Encode(p[:stampLen], b[:])
}

// stamped returns the time since epoch that p carries, and whether p is a
// well-formed data payload.
func stamped(p []byte) (time.Duration, bool) {
	if len(p) < stampLen {
		return 0, false
	}
	var b [8]byte
	if _, err := hex.Decode(b[:], p[:stampLen]); err != nil {
		return 0, false
	}
	return time.Duration(binary.BigEndian.Uint64(b[:])), true
}

// probe returns the payload that checks subscription i is active. Probes
// start with 'P', which no data payload does (data starts with hex digits).
func probe(i int) []byte { return []byte("P" + strconv.Itoa(i)) }

// isProbe reports whether p is a probe.
func isProbe(p []byte) bool { return len(p) > 0 && p[0] == 'P' }
