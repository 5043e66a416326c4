package whispeer

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [Dedup].
const (
	DefaultDedupWindow   = 2 * time.Minute
	DefaultDedupMax      = 10000
	DefaultDedupMaxTotal = 1000000
)

// Dedup bounds the broker's memory of [ExactlyOnce] message ids, the
// de-duplication window: per publisher, the ids of its last
// MaxPerPublisher QoS 2 messages that are younger than Window, and at most
// MaxTotal ids in all. A publish repeating an id in the window is answered
// as the first was and not delivered again; one outside it is a new
// message.
//
// An id is held from its publish until it is released ([Broker.Release],
// or a [Broker.Publish] that returned nil) or leaves the window by age. A
// released id gives way to newer ones when the count is full; a held one
// never does: a publish that would need its room fails with
// [ErrDedupLimit]. docs/persistence.md, "Exactly once", has the whole
// contract.
type Dedup struct {
	Window          time.Duration // how long an id is remembered (default 2 minutes)
	MaxPerPublisher int           // ids remembered per publisher (default 10,000)
	MaxTotal        int           // ids remembered in all (default 1,000,000)
}

func (d Dedup) validate() error {
	if d.Window <= 0 || d.MaxPerPublisher < 1 || d.MaxTotal < d.MaxPerPublisher {
		return fmt.Errorf("%w: dedup window %v, %d per publisher, %d in all: want a positive window and 1 ≤ per publisher ≤ in all",
			ErrInvalidOption, d.Window, d.MaxPerPublisher, d.MaxTotal)
	}
	return nil
}

// Release tells the broker that the publisher named publisher (the
// messages' [Message.PublisherID]) has its acknowledgement of the
// ExactlyOnce message id and will not publish it again (a PUBREL): the id
// is no longer held, though still recognised while it is in the window.
// It reports whether the broker remembers the id.
func (b *Broker) Release(publisher, id string) bool {
	return b.dedup.release(publisher, id, b.clock.now())
}

// publishOnce routes m, an ExactlyOnce message, unless its id is in its
// publisher's window: then it answers as the first publish of the id was
// answered, without routing m. Given done, the id stays held until
// released (a server releases it on PUBREL), unless the broker generated
// it; without, it is released once the publish succeeded.
func (b *Broker) publishOnce(ctx context.Context, ts *topicState, m *Message, done func(error), generated bool, r *Receipt) error {
	m = m.keep() // the window keeps its id
	e, dup, err := b.dedup.reserve(m.PublisherID, m.ID, b.clock.now())
	if err != nil {
		return err
	}
	if dup {
		return b.dedup.await(ctx, e, done)
	}
	hold := done != nil && !generated
	var ch chan error
	if done == nil {
		ch = make(chan error, 1)
	}
	finish := func(err error) {
		b.dedup.complete(e, err, hold)
		if ch != nil {
			ch <- err
		} else {
			done(err)
		}
	}
	if err := b.route(ctx, ts, m, finish, r); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return b.storedBefore(e, done, hold)
		}
		b.dedup.complete(e, err, false)
		return err
	}
	if ch == nil {
		return nil
	}
	select {
	case err := <-ch:
		if g := ts.gate; g != nil {
			// Publish returns once its subscribers have it, or when ctx
			// ends first: the message is durable, and still delivered.
			if werr := g.await(ctx, m.Seq); err == nil {
				err = werr
			}
		}
		return err
	case <-ctx.Done():
		return ctx.Err() // the id stays held until the store answers
	}
}

// storedBefore answers a publish that the store found it holds already
// (it returned [ErrDuplicate]), as one published through another broker
// sharing the store: its id, e, joins the window as published, and the
// publish is answered as a retry is.
func (b *Broker) storedBefore(e *dedupEntry, done func(error), hold bool) error {
	b.dedup.dups.Add(1)
	b.dedup.complete(e, nil, hold)
	if done != nil {
		done(nil)
	}
	return nil
}

// dedupTable is the de-duplication window, split by publisher over
// dedupShards shards, each with its lock, so that parallel publishers
// rarely wait for one another. A shard's lock is the innermost of the
// broker's: complete runs from a store's done, under a topic's lock; one
// shard's lock is taken while another's is held only with TryLock.
type dedupTable struct {
	cfg    Dedup
	dups   atomic.Uint64
	total  atomic.Int64 // entries in all shards, and places claimed for them: at most MaxTotal
	seed   maphash.Seed
	shards [dedupShards]dedupShard
}

// dedupShards is how many shards a window has.
const dedupShards = 16

// dedupShard is the window of the publishers whose names hash to it.
type dedupShard struct {
	mu   sync.Mutex
	pubs map[string]*dedupPublisher
}

// dedupPublisher is one publisher's window: its entries by id, and in the
// order they were made, oldest first from head; gone entries are skipped.
type dedupPublisher struct {
	sh    *dedupShard
	name  string
	ids   map[string]*dedupEntry
	order []*dedupEntry
	head  int
}

// dedupEntry is one id in a window.
type dedupEntry struct {
	p       *dedupPublisher
	id      string
	at      int64 // when it was published, in Unix nanoseconds
	state   entryState
	release bool          // released while pending
	waiters []func(error) // retries waiting for a pending entry's outcome
}

// The states of an entry.
type entryState uint8

const (
	entryPending  entryState = iota // being published: held
	entryHeld                       // published, not released
	entryReleased                   // published and released
	entryGone                       // removed: failed, expired or evicted
)

func newDedupTable(cfg Dedup) *dedupTable {
	t := &dedupTable{cfg: cfg, seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].pubs = make(map[string]*dedupPublisher)
	}
	return t
}

// shard returns the shard of publisher's window.
func (t *dedupTable) shard(publisher string) *dedupShard {
	return &t.shards[maphash.String(t.seed, publisher)%dedupShards]
}

// publisher returns the window of publisher in sh, made if it has none,
// and whether it was made; sh.mu is held.
func (sh *dedupShard) publisher(name string) (*dedupPublisher, bool) {
	if p := sh.pubs[name]; p != nil {
		return p, false
	}
	p := &dedupPublisher{sh: sh, name: name, ids: make(map[string]*dedupEntry)}
	sh.pubs[name] = p
	return p, true
}

// reserve finds id in publisher's window (dup) or makes it a pending
// entry there.
func (t *dedupTable) reserve(publisher, id string, now time.Time) (e *dedupEntry, dup bool, err error) {
	at := now.UnixNano()
	sh := t.shard(publisher)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p, made := sh.publisher(publisher)
	if !made {
		t.expire(p, at-int64(t.cfg.Window))
	}
	if e := p.ids[id]; e != nil {
		t.dups.Add(1)
		return e, true, nil
	}
	if err := t.room(p, at); err != nil {
		return nil, false, err
	}
	e = &dedupEntry{p: p, id: id, at: at}
	t.add(p, e)
	return e, false, nil
}

// room makes room for one more entry of p, evicting its oldest released
// entry when p is full, and p's or else another publisher's when the
// table is; p's shard's lock is held.
func (t *dedupTable) room(p *dedupPublisher, at int64) error {
	if len(p.ids) >= t.cfg.MaxPerPublisher && !t.evict(p) {
		return fmt.Errorf("%w: publisher %q holds %d, the limit is %d", ErrDedupLimit, truncate(p.name), len(p.ids), t.cfg.MaxPerPublisher)
	}
	if t.claim() {
		return nil
	}
	t.sweep(p, at-int64(t.cfg.Window))
	for {
		if t.claim() {
			return nil
		}
		if !t.evict(p) && !t.evictAny(p.sh) {
			return fmt.Errorf("%w: %d in all, the limit is %d", ErrDedupLimit, t.total.Load(), t.cfg.MaxTotal)
		}
	}
}

// claim takes one of the table's MaxTotal places for an entry that add
// will add, and reports whether one was free.
func (t *dedupTable) claim() bool {
	for n := t.total.Load(); n < int64(t.cfg.MaxTotal); n = t.total.Load() {
		if t.total.CompareAndSwap(n, n+1) {
			return true
		}
	}
	return false
}

// others calls fn with each shard other than sh whose lock is free, under
// it, until fn returns true, and reports whether it did: sh's lock is
// held, and waiting for another could deadlock with its holder.
func (t *dedupTable) others(sh *dedupShard, fn func(*dedupShard) bool) bool {
	for i := range t.shards {
		o := &t.shards[i]
		if o == sh || !o.mu.TryLock() {
			continue
		}
		done := fn(o)
		o.mu.Unlock()
		if done {
			return true
		}
	}
	return false
}

// add appends e to p's window, in the place room claimed for it.
func (t *dedupTable) add(p *dedupPublisher, e *dedupEntry) {
	p.ids[e.id] = e
	p.order = append(p.order, e)
	p.compact()
}

// drop removes e from its publisher's window.
func (t *dedupTable) drop(e *dedupEntry) {
	if e.state == entryGone {
		return
	}
	e.state = entryGone
	delete(e.p.ids, e.id)
	t.total.Add(-1)
}

// expire drops p's entries published before cutoff, held or not.
func (t *dedupTable) expire(p *dedupPublisher, cutoff int64) {
	for p.head < len(p.order) {
		e := p.order[p.head]
		if e.state != entryGone && e.at >= cutoff {
			return
		}
		if e.state == entryPending {
			return // its publish has not returned yet
		}
		t.drop(e)
		p.order[p.head] = nil
		p.head++
	}
	p.order, p.head = p.order[:0], 0
}

// evict drops p's oldest released entry and reports whether there was one.
func (t *dedupTable) evict(p *dedupPublisher) bool {
	for i := p.head; i < len(p.order); i++ {
		if e := p.order[i]; e.state == entryReleased {
			t.drop(e)
			return true
		}
	}
	return false
}

// evictAny drops the oldest released entry of some publisher, of sh
// first, and reports whether there was one; sh's lock is held.
func (t *dedupTable) evictAny(sh *dedupShard) bool {
	evictIn := func(o *dedupShard) bool {
		for _, q := range o.pubs {
			if t.evict(q) {
				return true
			}
		}
		return false
	}
	return evictIn(sh) || t.others(sh, evictIn)
}

// sweep expires every publisher's old entries and forgets the publishers
// left with none, but keep; keep's shard's lock is held.
func (t *dedupTable) sweep(keep *dedupPublisher, cutoff int64) {
	sweepIn := func(o *dedupShard) bool {
		for name, p := range o.pubs {
			t.expire(p, cutoff)
			if len(p.ids) == 0 && p != keep {
				delete(o.pubs, name)
			}
		}
		return false
	}
	sweepIn(keep.sh)
	t.others(keep.sh, sweepIn)
}

// compact moves p.head past the gone entries at the front of p.order, and
// removes the others once they outnumber the live ones, or the front once
// it is most of the slice: amortized, each entry is moved a constant
// number of times.
func (p *dedupPublisher) compact() {
	for p.head < len(p.order) && p.order[p.head].state == entryGone {
		p.order[p.head] = nil
		p.head++
	}
	switch n := len(p.order) - p.head; {
	case n > 2*len(p.ids)+16:
		live := p.order[:0]
		for _, e := range p.order[p.head:] {
			if e.state != entryGone {
				live = append(live, e)
			}
		}
		clear(p.order[len(live):])
		p.order, p.head = live, 0
	case p.head > 64 && p.head > n:
		copy(p.order, p.order[p.head:])
		clear(p.order[n:])
		p.order, p.head = p.order[:n], 0
	}
}

// complete records the outcome of e's publish and hands it to the retries
// that waited for it. A failed publish leaves nothing behind: its retry is
// a new message.
func (t *dedupTable) complete(e *dedupEntry, err error, hold bool) {
	sh := e.p.sh
	sh.mu.Lock()
	switch {
	case err != nil:
		t.drop(e)
	case hold && !e.release:
		e.state = entryHeld
	default:
		e.state = entryReleased
	}
	waiters := e.waiters
	e.waiters = nil
	sh.mu.Unlock()
	for _, w := range waiters {
		w(err)
	}
}

// await answers a retry of e as e's publish is answered: at once when it
// has been, else once it is (done, or Publish waiting).
func (t *dedupTable) await(ctx context.Context, e *dedupEntry, done func(error)) error {
	sh := e.p.sh
	sh.mu.Lock()
	if e.state != entryPending {
		sh.mu.Unlock()
		if done != nil {
			done(nil)
		}
		return nil
	}
	if done != nil {
		e.waiters = append(e.waiters, done)
		sh.mu.Unlock()
		return nil
	}
	ch := make(chan error, 1)
	e.waiters = append(e.waiters, func(err error) { ch <- err })
	sh.mu.Unlock()
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// release releases publisher's id and reports whether it is in the window.
func (t *dedupTable) release(publisher, id string, now time.Time) bool {
	sh := t.shard(publisher)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	p := sh.pubs[publisher]
	if p == nil {
		return false
	}
	t.expire(p, now.UnixNano()-int64(t.cfg.Window))
	e := p.ids[id]
	switch {
	case e == nil:
		return false
	case e.state == entryPending:
		e.release = true
	case e.state == entryHeld:
		e.state = entryReleased
	}
	return true
}

// StablePublisher is the optional capability of a [Publisher] whose
// identity outlives it, as that of a server's client that names a stable
// client id (a native HELLO's session, a JSON auth's client_id) does: its
// [ExactlyOnce] publishes are de-duplicated under StableID rather than
// PublisherID, so that a retry on a later connection, or after a restart,
// is recognised.
type StablePublisher interface {
	Publisher
	// StableID names the publisher across its connections, such as the
	// user and the client's id; "" when it has no such name.
	StableID() string
}

// dedupID returns the identity under which p's ExactlyOnce publishes are
// de-duplicated.
func dedupID(p Publisher) string {
	if s, ok := p.(StablePublisher); ok {
		if id := s.StableID(); id != "" {
			return id
		}
	}
	return p.PublisherID()
}

// PublisherName is a [Publisher] that is only a name: what an in-process
// publisher passes to [WithPublisher] so that its [ExactlyOnce] retries are
// recognised under that name.
type PublisherName string

// PublisherID returns n.
func (n PublisherName) PublisherID() string { return string(n) }

var _ Publisher = PublisherName("")
