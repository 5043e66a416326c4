package whispeer

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// loadSlack is how much earlier than the window a topic's stored messages
// are read from, for times a little out of offset order (see firstSince).
const loadSlack = time.Second

// stamp is what the window keeps of a stored message.
type stamp struct {
	publisher, id string
	at            int64
}

// ExactlyOnceStore is the optional capability of a [Store] that finds its
// recent [ExactlyOnce] messages across topics at once, as an index lets
// SQLite: a broker opening a store rebuilds its de-duplication window
// ([Dedup]) with it, and otherwise searches each topic's log by time.
type ExactlyOnceStore interface {
	// ReadExactlyOnce calls fn with the publisher id, id and time of every
	// ExactlyOnce message stored whose Time is not before since, in no
	// particular order, until fn returns an error, which it returns. A
	// store that wraps another returns errors.ErrUnsupported, having
	// called fn for none, when the one it wraps lacks the capability. A
	// store that de-duplicates ExactlyOnce appends itself (its Append
	// fails with [ErrDuplicate], as that of store/redis does for every
	// broker sharing it) leaves the broker no window to rebuild: it
	// returns nil having called fn for none.
	ReadExactlyOnce(ctx context.Context, since time.Time, fn func(publisherID, id string, at time.Time) error) error
}

// load fills the window from the ExactlyOnce messages s holds that are
// younger than the window: after a restart, a retry of a message the
// broker stored before is recognised. Every id it loads is released, and
// of each publisher's only the newest MaxPerPublisher.
func (t *dedupTable) load(ctx context.Context, s Store, now time.Time) error {
	cutoff := now.Add(-t.cfg.Window)
	found, err := readExactlyOnce(ctx, s, cutoff)
	if err != nil {
		return err
	}
	slices.SortFunc(found, func(a, b stamp) int { return cmp.Compare(a.at, b.at) })
	for _, f := range found {
		t.loadOne(f)
	}
	return nil
}

// readExactlyOnce returns the ExactlyOnce messages s holds from cutoff on.
func readExactlyOnce(ctx context.Context, s Store, cutoff time.Time) ([]stamp, error) {
	var found []stamp
	if es, ok := s.(ExactlyOnceStore); ok {
		err := es.ReadExactlyOnce(ctx, cutoff, func(pub, id string, at time.Time) error {
			found = append(found, stamp{pub, id, at.UnixNano()})
			return nil
		})
		if !errors.Is(err, errors.ErrUnsupported) {
			return found, err
		}
	}
	var topics []string
	if err := s.Topics(ctx, func(name string) bool { topics = append(topics, name); return true }); err != nil {
		return nil, err
	}
	for _, topic := range topics {
		from, err := firstSince(ctx, s, topic, cutoff.Add(-loadSlack))
		if err != nil {
			return nil, err
		}
		err = s.Read(ctx, topic, from, 0, func(m *Message) error {
			if m.QoS == ExactlyOnce && !m.Time.Before(cutoff) {
				found = append(found, stamp{m.PublisherID, m.ID, m.Time.UnixNano()})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// loadOne adds f to the window as a released entry, making room by
// evicting older ones; it leaves f out when there is no room.
func (t *dedupTable) loadOne(f stamp) {
	sh := t.shard(f.publisher)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, _ := sh.publisher(f.publisher)
	if p.ids[f.id] != nil || t.room(p, f.at) != nil {
		return
	}
	t.add(p, &dedupEntry{p: p, id: f.id, at: f.at, state: entryReleased})
}

// firstSince returns the offset of topic's first stored message whose Time
// is not before cutoff, or the offset after its last: a binary search over
// offsets, which holds as far as times grow with offsets.
func firstSince(ctx context.Context, s Store, topic string, cutoff time.Time) (uint64, error) {
	info, err := s.Topic(ctx, topic)
	if err != nil {
		return 0, err
	}
	lo, hi := info.First, info.Last+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		var at time.Time
		var off uint64
		err := s.Read(ctx, topic, mid, 1, func(m *Message) error {
			at, off = m.Time, m.Seq
			return nil
		})
		switch {
		case err != nil:
			return 0, err
		case off == 0 || off >= hi || !at.Before(cutoff):
			hi = mid
		default:
			lo = off + 1
		}
	}
	return lo, nil
}
