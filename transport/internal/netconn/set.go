package netconn

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Activity is what keepalive knows of a connection: whether bytes arrived
// since the last tick, and for how many ticks none have.
type Activity struct {
	active atomic.Bool
	idle   uint8 // the pinger's; guarded by the Set's lock
}

// Touch records that bytes arrived.
func (a *Activity) Touch() { a.active.Store(true) }

// Set is the open connections of one listener. Every interval, it pings
// the connections that sent nothing since the last tick, expires those
// silent for another interval, and trims every connection's buffers. Its
// methods are safe for concurrent use.
type Set[C comparable] struct {
	interval time.Duration
	ping     func(C) // asks a silent connection for an answer
	expire   func(C) // drops a connection silent for two intervals
	trim     func(C) // drops a connection's spare buffers; under mu
	wg       *sync.WaitGroup

	// mu guards the fields below; a connection's locks are taken after it,
	// never before.
	mu      sync.Mutex
	conns   map[C]*Activity
	closing bool
	stop    chan struct{} // nil until the pinger starts
}

// NewSet returns an empty Set. A non-positive interval disables keepalive
// and trimming. The pinger goroutine is counted in wg, like the
// connections' goroutines. trim is called with the Set's lock held, and
// must take no lock but the connection's own.
func NewSet[C comparable](interval time.Duration, wg *sync.WaitGroup, ping, expire, trim func(C)) *Set[C] {
	return &Set[C]{interval: interval, ping: ping, expire: expire, trim: trim, wg: wg, conns: make(map[C]*Activity)}
}

// Add registers c, whose arrivals a records, counts its reader goroutine
// in the WaitGroup (the reader calls Done when it exits), and starts the
// pinger with the first connection. It reports false, counting nothing,
// once Close has been called.
func (s *Set[C]) Add(c C, a *Activity) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	a.Touch() // connecting counts as activity
	s.conns[c] = a
	s.wg.Add(1)
	if s.stop == nil && s.interval > 0 {
		s.stop = make(chan struct{})
		s.wg.Add(1)
		go s.pinger(s.stop)
	}
	return true
}

// Remove forgets c.
func (s *Set[C]) Remove(c C) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// Len returns the number of connections.
func (s *Set[C]) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Close refuses further connections, stops the pinger and returns the open
// connections.
func (s *Set[C]) Close() []C {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closing && s.stop != nil {
		close(s.stop)
	}
	s.closing = true
	conns := make([]C, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	return conns
}

// Shutdown closes the Set, closes every connection with closeFn and waits
// for the goroutines counted in the Set's WaitGroup. When ctx is done first,
// it drops the connections left with kill and returns ctx's error once the
// goroutines have exited.
func (s *Set[C]) Shutdown(ctx context.Context, closeFn, kill func(C)) error {
	conns := s.Close()
	for _, c := range conns {
		closeFn(c)
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	for _, c := range conns {
		kill(c)
	}
	<-done
	return ctx.Err()
}

// pinger runs the ticks until stop is closed.
func (s *Set[C]) pinger(stop <-chan struct{}) {
	defer s.wg.Done()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.tick()
		}
	}
}

// tick trims every connection, pings those silent for one tick and
// expires those silent for two.
func (s *Set[C]) tick() {
	var ping, dead []C
	s.mu.Lock()
	for c, a := range s.conns {
		s.trim(c)
		if a.active.Swap(false) {
			a.idle = 0
			continue
		}
		a.idle++
		if a.idle == 1 {
			ping = append(ping, c)
		} else {
			dead = append(dead, c)
		}
	}
	s.mu.Unlock()
	for _, c := range ping {
		s.ping(c)
	}
	for _, c := range dead {
		s.expire(c)
	}
}
