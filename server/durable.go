package server

// Durable QoS 2 subscriptions outlive their connections: their cursors
// stay in the store until their client comes back. The server bounds how
// many a user keeps (qos.max_durable_per_user) and forgets one whose
// client has not come back for qos.durable_expiry, as MQTT expires a
// session (docs/persistence.md, "Exactly once"). Both hold across
// restarts: the server rebuilds its durables from the cursors in the
// store as it starts.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer"
)

// durables tracks the server's durable subscriptions by user. Its methods
// are safe for concurrent use; forget and touch run with mu held, so that
// a client coming back waits for its subscription to be forgotten whole.
type durables struct {
	mu     sync.Mutex
	max    int           // durable subscriptions per user
	expiry time.Duration // how long one is kept without its client
	forget func(name string)
	// touch marks a subscription's cursor in topic as saved now, as its
	// last connection leaves; nil for none.
	touch  func(name, topic string)
	byUser map[string]map[string]*durableState // user, then durable name
	closed bool                                // set by close: nothing expires any more
}

// durableState is one durable subscription: how many connections hold it
// and, when none does, the timer that expires it. ended is set when a
// client unsubscribed while another connection of it still held the
// subscription: it is forgotten as soon as none holds it.
type durableState struct {
	held  int
	timer *time.Timer
	ended bool
}

func newDurables(max int, expiry time.Duration, forget func(string)) *durables {
	return &durables{max: max, expiry: expiry, forget: forget, byUser: make(map[string]map[string]*durableState)}
}

// attach holds user's durable subscription name for a connection, unless
// it is new and the user already keeps max of them.
func (d *durables) attach(user, name string) *opError {
	d.mu.Lock()
	defer d.mu.Unlock()
	subs := d.byUser[user]
	st, ok := subs[name]
	if !ok {
		if len(subs) >= d.max {
			return &opError{whispeer.CodeLimit, "too many durable subscriptions: the limit is " +
				strconv.Itoa(d.max) + " per user; unsubscribe from some, or wait for those unused to expire"}
		}
		st = d.addLocked(user, name)
	}
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	st.held++
	st.ended = false // subscribed again
	return nil
}

// addLocked adds user's durable subscription name, held by none.
func (d *durables) addLocked(user, name string) *durableState {
	subs := d.byUser[user]
	if subs == nil {
		subs = make(map[string]*durableState)
		d.byUser[user] = subs
	}
	st := &durableState{}
	subs[name] = st
	return st
}

// detach lets go of a connection's hold on the durable subscription r,
// which expires once none has held it for d.expiry; with now (the client
// unsubscribed), it is forgotten as soon as none holds it, even when a
// connection of the client's that holds it still is closes later. The last
// connection to let go touches the cursor it saved last, r.topic, so that
// a server restarted meanwhile counts the expiry from then (restore).
func (d *durables) detach(r durableRef, now bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.byUser[r.user][r.name]
	if !ok {
		return
	}
	st.ended = st.ended || now
	if st.held--; st.held > 0 {
		return
	}
	if st.ended {
		d.removeLocked(r.user, r.name)
		return
	}
	if r.topic != "" && d.touch != nil {
		d.touch(r.name, r.topic)
	}
	if d.closed {
		return
	}
	d.armLocked(r.user, r.name, st, d.expiry)
}

// armLocked expires user's durable subscription name, held by none, after
// after.
func (d *durables) armLocked(user, name string, st *durableState, after time.Duration) {
	st.timer = time.AfterFunc(after, func() { d.expire(user, name, st) })
}

// restore adds, as the server starts, user's durable subscription name,
// whose cursors the store kept, last saved at saved: held by none, it
// expires d.expiry after saved, at once if that is past. A subscription
// beyond the user's max is kept all the same, until it expires.
func (d *durables) restore(user, name string, saved time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byUser[user][name]; ok || d.closed {
		return
	}
	st := d.addLocked(user, name)
	left := d.expiry - time.Since(saved)
	if left <= 0 {
		d.removeLocked(user, name)
		return
	}
	d.armLocked(user, name, st, left)
}

// expire forgets user's durable subscription name if st, detached when
// its timer was armed, is still its state and still unheld.
func (d *durables) expire(user, name string, st *durableState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed && d.byUser[user][name] == st && st.held == 0 {
		d.removeLocked(user, name)
	}
}

// close stops the expiry timers, before the broker's store is closed; the
// cursors stay in the store.
func (d *durables) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, subs := range d.byUser {
		for _, st := range subs {
			if st.timer != nil {
				st.timer.Stop()
			}
		}
	}
}

// removeLocked forgets user's durable subscription name and its cursors.
func (d *durables) removeLocked(user, name string) {
	subs := d.byUser[user]
	if st := subs[name]; st.timer != nil {
		st.timer.Stop()
	}
	delete(subs, name)
	if len(subs) == 0 {
		delete(d.byUser, user)
	}
	d.forget(name) // it logs a failure: the cursors then stay in the store
}

// forgetDurable is the server's forget: the broker's ForgetDurable.
func (s *Server) forgetDurable(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := s.broker.ForgetDurable(ctx, name); err != nil {
		s.log.Warn("whispeer: forgetting a durable subscription failed", "error", err)
	}
}

// touchDurable is the server's touch: the broker's TouchDurable.
func (s *Server) touchDurable(name, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	err := s.broker.TouchDurable(ctx, name, topic)
	if err != nil {
		s.log.Warn("whispeer: marking when a durable subscriber left failed", "error", err)
	}
}

// storeTimeout bounds the store operations of the durables.
const storeTimeout = 10 * time.Second

// restoreDurables rebuilds, as the server starts, the durables from the
// cursors the broker's store kept, so that the per-user bound and the
// expiry of durable subscriptions hold across restarts: each expires
// qos.durable_expiry after its cursors were last saved. Durable
// subscriptions the server did not name (a library's) are left alone.
func (s *Server) restoreDurables() error {
	if !s.store {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	err := s.broker.Durables(ctx, func(name string, saved time.Time) bool {
		if user, ok := durableUser(name); ok {
			s.durables.restore(user, name, saved)
		}
		return true
	})
	if err != nil && !errors.Is(err, whispeer.ErrNoCursors) {
		return fmt.Errorf("durable subscriptions: %w", err)
	}
	return nil
}

// durableUser returns the user of a durable subscription the server named
// (durableID: user, client id and pattern, joined by NUL bytes), and
// whether it is one.
func durableUser(name string) (string, bool) {
	user, rest, ok := strings.Cut(name, "\x00")
	if !ok || user == "" || !strings.Contains(rest, "\x00") {
		return "", false
	}
	return user, true
}
