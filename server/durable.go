package server

// Durable QoS 2 subscriptions outlive their connections: their cursors
// stay in the store until their client comes back. The server bounds how
// many a user keeps (qos.max_durable_per_user) and forgets one whose
// client has not come back for qos.durable_expiry, as MQTT expires a
// session (docs/persistence.md, "Exactly once").

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/whispeer-io/whispeer"
)

// durables tracks the server's durable subscriptions by user. Its methods
// are safe for concurrent use; forget runs with mu held, so that a client
// coming back waits for its subscription to be forgotten whole.
type durables struct {
	mu     sync.Mutex
	max    int           // durable subscriptions per user
	expiry time.Duration // how long one is kept without its client
	forget func(name string)
	byUser map[string]map[string]*durableState // user, then durable name
	closed bool                                // set by close: nothing expires any more
}

// durableState is one durable subscription: how many connections hold it
// and, when none does, the timer that expires it.
type durableState struct {
	held  int
	timer *time.Timer
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
		if subs == nil {
			subs = make(map[string]*durableState)
			d.byUser[user] = subs
		}
		st = &durableState{}
		subs[name] = st
	}
	if st.timer != nil {
		st.timer.Stop()
		st.timer = nil
	}
	st.held++
	return nil
}

// detach lets go of a connection's hold on user's durable subscription
// name, which expires once none has held it for d.expiry; with now (the
// client unsubscribed), it is forgotten as soon as none holds it.
func (d *durables) detach(user, name string, now bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.byUser[user][name]
	if !ok {
		return
	}
	if st.held--; st.held > 0 {
		return
	}
	if now {
		d.removeLocked(user, name)
		return
	}
	if d.closed {
		return
	}
	st.timer = time.AfterFunc(d.expiry, func() { d.expire(user, name, st) })
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.broker.ForgetDurable(ctx, name); err != nil {
		s.log.Warn("whispeer: forgetting a durable subscription failed", "error", err)
	}
}
