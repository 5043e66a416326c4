package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/whispeer-io/whispeer"
)

// errConnClosed is why a shard lost a connection that ended without an
// error.
var errConnClosed = errors.New("redis connection closed")

// subBatch bounds the commands of one pipeline that subscribes or
// unsubscribes a connection's channels.
const subBatch = 512

// slotRange is the slots of a Redis Cluster that one master holds.
type slotRange struct {
	from, to uint16
	addr     string
}

// shard is one dedicated connection, to a Redis or to one master of a
// Redis Cluster, that holds the subscriptions of the backplane's channels
// in the slots it serves, and the goroutine that keeps it (keep): it
// connects, subscribes every channel again after a lost connection,
// unsubscribes the channels no watch needs, and hands a channel whose
// slot Redis moved to the backplane's retries (retryLater). A shard whose
// master serves no slot any more retires when it cannot connect. Received
// messages are queued by the connection's own reading goroutine
// (Backplane.onMessage).
type shard struct {
	b    *Backplane
	addr string // "" for a Redis that is no cluster
	// cmd is read-locked to subscribe one channel, locked to unsubscribe
	// channels or subscribe them all again, so that a channel's
	// unsubscribe never overtakes a later subscribe of it.
	cmd   sync.RWMutex
	ready chan struct{} // closed after the first connection attempt
	wake  chan struct{} // capacity 1: unsub or lost has work

	// Guarded by b.mu.
	c     rueidis.DedicatedClient // nil while not connected
	err   error                   // why c is nil
	down  bool                    // counted in b.down
	gone  bool                    // retired: its master serves no slot
	unsub map[channel]struct{}    // to unsubscribe, if no watch needs them by then
	lost  map[channel]struct{}    // unsubscribed by Redis itself, as when a slot moves
}

// kick wakes the shard's goroutine.
func (s *shard) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// subscribe subscribes ch on the shard of its slot, following the slot
// when Redis answers that it moved.
func (b *Backplane) subscribe(ctx context.Context, ch channel) error {
	ctx, cancel := b.st.bound(ctx)
	defer cancel()
	for attempt := 0; ; attempt++ {
		sh, err := b.shardFor(ctx, ch)
		if err != nil {
			return err
		}
		err = sh.subscribe(ctx, ch)
		if !(moved(err) || errors.Is(err, errRetired)) || attempt == 2 {
			return err
		}
		if err := b.refreshSlots(ctx); err != nil {
			return err
		}
	}
}

// moved reports whether err is Redis's MOVED: another master has the slot.
func moved(err error) bool {
	re, ok := rueidis.IsRedisErr(err)
	if !ok {
		return false
	}
	_, ok = re.IsMoved()
	return ok
}

// shardFor returns the shard ch is subscribed on, started at its first
// use, once it made its first connection attempt. In a Redis Cluster, a
// shard that lost its connection has the cluster's slots read again
// first, for its master may have failed over or left.
func (b *Backplane) shardFor(ctx context.Context, ch channel) (*shard, error) {
	cluster := b.st.c.Mode() == rueidis.ClientModeCluster
	for refreshed := false; ; refreshed = true {
		addr := ""
		if cluster {
			var err error
			if addr, err = b.master(ctx, ch); err != nil {
				return nil, err
			}
		}
		sh, down, err := b.shardAt(addr)
		if err != nil {
			return nil, err
		}
		if cluster && down && !refreshed && b.refreshSlots(ctx) == nil {
			continue
		}
		select {
		case <-sh.ready:
			return sh, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// shardAt returns the shard of the Redis at addr, started if it has none,
// and whether it lost its connection.
func (b *Backplane) shardAt(addr string) (*shard, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, false, whispeer.ErrClosed
	}
	sh := b.shards[addr]
	if sh == nil {
		sh = &shard{b: b, addr: addr, ready: make(chan struct{}), wake: make(chan struct{}, 1),
			unsub: make(map[channel]struct{}), lost: make(map[channel]struct{})}
		b.shards[addr] = sh
		b.wg.Add(1)
		go sh.keep()
	}
	return sh, sh.down, nil
}

// master returns the address of the Redis Cluster master that holds ch's
// slot (a sharded channel's own; an unsharded channel or a pattern, which
// any master carries, is spread by its name's slot likewise).
func (b *Backplane) master(ctx context.Context, ch channel) (string, error) {
	cmd := b.st.c.B().Ssubscribe().Channel(ch.name).Build()
	slot := cmd.Slot()
	for refreshed := false; ; refreshed = true {
		b.mu.Lock()
		for _, r := range b.slots {
			if r.from <= slot && slot <= r.to {
				b.mu.Unlock()
				return r.addr, nil
			}
		}
		b.mu.Unlock()
		if refreshed {
			return "", fmt.Errorf("no redis cluster master holds slot %d", slot)
		}
		if err := b.refreshSlots(ctx); err != nil {
			return "", err
		}
	}
}

// refreshSlots reads which master holds which slots (CLUSTER SLOTS).
func (b *Backplane) refreshSlots(ctx context.Context) error {
	ctx, cancel := b.st.bound(ctx)
	defer cancel()
	vs, err := b.st.c.Do(ctx, b.st.c.B().ClusterSlots().Build()).ToArray()
	if err != nil {
		return fmt.Errorf("redis cluster slots: %w", err)
	}
	slots := make([]slotRange, 0, len(vs))
	for _, v := range vs {
		e, err := v.ToArray()
		if err != nil || len(e) < 3 {
			continue
		}
		from, err1 := e[0].AsInt64()
		to, err2 := e[1].AsInt64()
		node, err3 := e[2].ToArray()
		if err1 != nil || err2 != nil || err3 != nil || len(node) < 2 {
			continue
		}
		host, err1 := node[0].ToString()
		port, err2 := node[1].AsInt64()
		if err1 != nil || err2 != nil {
			continue
		}
		slots = append(slots, slotRange{uint16(from), uint16(to), net.JoinHostPort(host, strconv.FormatInt(port, 10))})
	}
	b.mu.Lock()
	b.slots = slots
	b.mu.Unlock()
	return nil
}

// errRetired is why a shard whose master left subscribes nothing.
var errRetired = errors.New("redis cluster master serves no slot any more")

// subscribe subscribes ch on the shard's connection and returns once
// Redis confirmed it. The channel is the shard's before it asks: an
// unsubscribe, should no watch need it by then, goes to the Redis that
// may have subscribed it even when the answer failed, and a connection
// the shard makes again subscribes it.
func (s *shard) subscribe(ctx context.Context, ch channel) error {
	b := s.b
	s.cmd.RLock()
	defer s.cmd.RUnlock()
	b.mu.Lock()
	c, cerr, gone := s.c, s.err, s.gone
	if cs := b.chans[ch]; cs != nil && !gone {
		cs.sh = s
	}
	b.mu.Unlock()
	switch {
	case gone:
		return errRetired
	case c == nil:
		return fmt.Errorf("redis subscriptions being restored: %w", cerr)
	}
	return c.Do(ctx, b.subscribeCmd(ch)).Error()
}

// keep connects the shard, and connects it again after it lost its
// connection, until the backplane closes; in between it does what kick
// asked for (tidy).
func (s *shard) keep() {
	defer s.b.wg.Done()
	defer s.close()
	errs := s.connect()
	close(s.ready)
	backoff := 10 * time.Millisecond
	for {
		if errs == nil {
			if s.retire() {
				return
			}
			select {
			case <-s.b.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
			errs = s.connect()
			continue
		}
		select {
		case <-s.b.ctx.Done():
			return
		case err := <-errs:
			s.lose(err)
			errs, backoff = nil, 10*time.Millisecond
		case <-s.wake:
			s.tidy()
		}
	}
}

// connect opens the shard's connection and subscribes every channel it
// holds; it returns the channel that reports the connection's loss, or
// nil when it failed.
func (s *shard) connect() <-chan error {
	b := s.b
	client, err := b.client(s.addr)
	if err == nil {
		c, _ := client.Dedicate()
		errs := c.SetPubSubHooks(rueidis.PubSubHooks{OnMessage: b.onMessage, OnSubscription: s.onSubscription})
		if err = s.resubscribe(c); err == nil {
			return errs
		}
		c.Close()
	}
	b.mu.Lock()
	s.err = err
	first := b.markDown(s)
	b.mu.Unlock()
	if first {
		b.log.Warn("whispeer: redis subscriptions lost; subscribing again", "redis", s.addr, "error", err)
	}
	return nil
}

// client returns the client of the Redis at addr: the store's own, or
// for a Redis Cluster its master's.
func (b *Backplane) client(addr string) (rueidis.Client, error) {
	if addr == "" {
		return b.st.c, nil
	}
	if c, ok := b.st.c.Nodes()[addr]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("redis cluster master %s unknown", addr)
}

// resubscribe subscribes on c every channel the shard holds and makes c
// the shard's connection. A channel whose slot moved is left to tidy.
func (s *shard) resubscribe(c rueidis.DedicatedClient) error {
	b := s.b
	s.cmd.Lock()
	defer s.cmd.Unlock()
	b.mu.Lock()
	var chans []channel
	for ch, cs := range b.chans {
		if cs.sh == s {
			chans = append(chans, ch)
		}
	}
	clear(s.unsub)
	clear(s.lost)
	b.mu.Unlock()
	ctx, cancel := b.st.bound(b.ctx)
	defer cancel()
	var lost []channel
	for part := range chunks(chans) {
		cmds := make(rueidis.Commands, len(part))
		for i, ch := range part {
			cmds[i] = b.subscribeCmd(ch)
		}
		for i, r := range c.DoMulti(ctx, cmds...) {
			switch err := r.Error(); {
			case moved(err):
				lost = append(lost, part[i])
			case err != nil:
				return fmt.Errorf("redis subscribe: %w", err)
			}
		}
	}
	b.mu.Lock()
	s.c, s.err = c, nil
	for _, ch := range lost {
		s.lost[ch] = struct{}{}
	}
	restored := b.markUp(s)
	b.mu.Unlock()
	if len(lost) > 0 {
		s.kick()
	}
	if restored {
		b.log.Info("whispeer: redis subscriptions restored", "channels", len(chans))
	}
	return nil
}

// chunks yields chans subBatch at a time.
func chunks(chans []channel) func(func([]channel) bool) {
	return func(yield func([]channel) bool) {
		for i := 0; i < len(chans); i += subBatch {
			if !yield(chans[i:min(i+subBatch, len(chans))]) {
				return
			}
		}
	}
}

// onSubscription notes a sharded channel that Redis unsubscribed while a
// watch needs it, as when its slot moved to another master, for tidy to
// subscribe again where it is now. It runs on the connection's reading
// goroutine.
func (s *shard) onSubscription(ps rueidis.PubSubSubscription) {
	if ps.Kind != "sunsubscribe" {
		return
	}
	b := s.b
	ch := channel{ps.Channel, 's'}
	b.mu.Lock()
	if cs := b.chans[ch]; cs != nil && cs.sh == s {
		s.lost[ch] = struct{}{}
		s.kick()
	}
	b.mu.Unlock()
}

// tidy unsubscribes the channels no watch needs any more, and subscribes
// again, where their slot is now, those Redis unsubscribed itself.
func (s *shard) tidy() {
	b := s.b
	s.cmd.Lock()
	b.mu.Lock()
	var unsub, lost []channel
	for ch := range s.unsub {
		if b.chans[ch] == nil {
			unsub = append(unsub, ch)
		}
	}
	for ch := range s.lost {
		if b.chans[ch] != nil {
			lost = append(lost, ch)
		}
	}
	clear(s.unsub)
	clear(s.lost)
	c := s.c
	b.mu.Unlock()
	if c != nil && len(unsub) > 0 {
		ctx, cancel := b.st.bound(b.ctx)
		for part := range chunks(unsub) {
			cmds := make(rueidis.Commands, len(part))
			for i, ch := range part {
				cmds[i] = b.unsubscribeCmd(ch)
			}
			c.DoMulti(ctx, cmds...) // a failure loses the connection, and its subscriptions with it
		}
		cancel()
	}
	s.cmd.Unlock()
	if len(lost) == 0 {
		return
	}
	b.mu.Lock()
	b.retryLater(lost...)
	b.mu.Unlock()
}

// retire ends a Redis Cluster shard that failed to connect when its
// master serves no slot any more, as after a failover to a replica at
// another address or the master's removal: the shard no longer counts
// as lost, and its channels are subscribed again where their slots are
// now (retryLater). It reports whether it did.
func (s *shard) retire() bool {
	b := s.b
	if s.addr == "" || b.refreshSlots(b.ctx) != nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.slots) == 0 {
		return false
	}
	for _, r := range b.slots {
		if r.addr == s.addr {
			return false
		}
	}
	s.gone = true
	if b.shards[s.addr] == s {
		delete(b.shards, s.addr)
	}
	b.markUp(s)
	var chans []channel
	for ch, cs := range b.chans {
		if cs.sh == s {
			cs.sh = nil
			chans = append(chans, ch)
		}
	}
	b.retryLater(chans...)
	b.log.Info("whispeer: redis cluster master serves no slot any more; its channels are subscribed where their slots are now",
		"redis", s.addr, "channels", len(chans))
	return true
}

// retryLater has chans subscribed again, where their slots are now, by
// one goroutine that tries until each succeeds or no watch needs it, its
// attempts spaced by a backoff up to two seconds. b.mu is held.
func (b *Backplane) retryLater(chans ...channel) {
	if b.closed || len(chans) == 0 {
		return
	}
	for _, ch := range chans {
		b.retry[ch] = struct{}{}
	}
	if !b.retrying {
		b.retrying = true
		b.wg.Add(1)
		go b.retryChannels()
	}
}

// retryChannels subscribes the channels of b.retry again until it is
// empty or the backplane closes.
func (b *Backplane) retryChannels() {
	defer b.wg.Done()
	backoff := 10 * time.Millisecond
	for failing := false; ; {
		b.mu.Lock()
		var chans []channel
		for ch := range b.retry {
			if b.chans[ch] != nil {
				chans = append(chans, ch)
			}
		}
		clear(b.retry)
		if len(chans) == 0 || b.closed {
			b.retrying = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		if b.st.c.Mode() == rueidis.ClientModeCluster {
			if err := b.refreshSlots(b.ctx); err != nil && !failing {
				b.log.Warn("whispeer: reading the redis cluster's slots failed", "error", err)
			}
		}
		failed, err := b.subscribeAll(chans)
		if b.ctx.Err() != nil {
			return
		}
		switch {
		case len(failed) > 0 && !failing:
			b.log.Warn("whispeer: redis channels could not be subscribed again; retrying",
				"channels", len(failed), "first", truncate(failed[0].name), "error", err)
		case len(failed) == 0 && failing:
			b.log.Info("whispeer: redis channels subscribed again", "channels", len(chans))
		}
		if failing = len(failed) > 0; !failing {
			backoff = 10 * time.Millisecond
			continue
		}
		b.mu.Lock()
		for _, ch := range failed {
			b.retry[ch] = struct{}{}
		}
		b.mu.Unlock()
		select {
		case <-b.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// subscribeAll subscribes chans one by one; it returns those that failed
// and the last error.
func (b *Backplane) subscribeAll(chans []channel) (failed []channel, err error) {
	for _, ch := range chans {
		if e := b.subscribe(b.ctx, ch); e != nil {
			failed, err = append(failed, ch), e
		}
	}
	return failed, err
}

// lose records that the shard lost its connection, and closes it.
func (s *shard) lose(err error) {
	b := s.b
	if err == nil {
		err = errConnClosed
	}
	b.mu.Lock()
	c := s.c
	s.c, s.err = nil, err
	first := b.markDown(s)
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if first && b.ctx.Err() == nil {
		b.log.Warn("whispeer: redis subscriptions lost; subscribing again", "redis", s.addr, "error", err)
	}
}

// close closes the shard's connection, once the backplane closed.
func (s *shard) close() {
	b := s.b
	b.mu.Lock()
	c := s.c
	s.c, s.err = nil, whispeer.ErrClosed
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// markDown counts s's connection lost; it reports whether the backplane
// was up until then. b.mu is held.
func (b *Backplane) markDown(s *shard) bool {
	if s.down {
		return false
	}
	s.down = true
	b.down++
	return b.up.Swap(false)
}

// markUp counts s's connection back; it reports whether the backplane is
// up again. b.mu is held.
func (b *Backplane) markUp(s *shard) bool {
	if !s.down {
		return false
	}
	s.down = false
	if b.down--; b.down == 0 {
		b.up.Store(true)
		return true
	}
	return false
}
