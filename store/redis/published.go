package redis

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/whispeer-io/whispeer"
)

// publishedVersion begins what the append script publishes: a run of one
// topic's messages, "v2:<epoch>:<first offset>:" followed by
// "<length>:<record>" for each message, their offsets consecutive from
// the first. A node of an earlier whispeer published one message at a
// time as "<offset>:<epoch>:<record>", which this one refuses as
// damaged: the nodes of a cluster run one version.
const publishedVersion = "v2:"

// maxPublished bounds the messages one published run is decoded into, so
// that a damaged one cannot ask for more; the append script publishes at
// most maxRun.
const maxPublished = 4096

// decodePublished decodes what the append script published: the messages
// of one topic, in offset order, and the topic's epoch.
func decodePublished(p string) ([]*whispeer.Message, uint64, error) {
	rest, ok := strings.CutPrefix(p, publishedVersion)
	if !ok {
		return nil, 0, fmt.Errorf("%w: redis published message: not in the format %q of this version (a node of another version?)", whispeer.ErrCorrupt, publishedVersion)
	}
	es, rest, ok1 := strings.Cut(rest, ":")
	os, rest, ok2 := strings.Cut(rest, ":")
	ep, err1 := strconv.ParseUint(es, 10, 64)
	off, err2 := strconv.ParseUint(os, 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || off == 0 || rest == "" {
		return nil, 0, fmt.Errorf("%w: redis published message: bad epoch, offset or records", whispeer.ErrCorrupt)
	}
	var msgs []*whispeer.Message
	topic := ""
	for ; rest != ""; off++ {
		if len(msgs) == maxPublished {
			return nil, 0, fmt.Errorf("%w: redis published message: more than %d records", whispeer.ErrCorrupt, maxPublished)
		}
		ls, tail, ok := strings.Cut(rest, ":")
		n, err := strconv.Atoi(ls)
		if !ok || err != nil || n < 0 || n > len(tail) {
			return nil, 0, fmt.Errorf("%w: redis published message: bad record length at offset %d", whispeer.ErrCorrupt, off)
		}
		m, err := Decode(topic, off, tail[:n])
		if err != nil {
			return nil, 0, err
		}
		topic, rest = m.Topic, tail[n:]
		msgs = append(msgs, m)
	}
	return msgs, ep, nil
}

// damaged counts a published message that did not decode, and logs it:
// the first, then each time the count doubles, so that a stream of them
// cannot flood the log.
func (b *Backplane) damaged(channel string, err error) {
	if n := b.bad.Add(1); n&(n-1) == 0 {
		b.log.Warn("whispeer: a damaged message on the redis backplane", "channel", truncate(channel), "damaged", n, "error", err)
	}
}

// Damaged returns how many received messages did not decode, and were
// dropped.
func (b *Backplane) Damaged() uint64 { return b.bad.Load() }
