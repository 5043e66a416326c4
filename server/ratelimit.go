package server

import "time"

// bucket is a token bucket limiting one connection's publishes: rate tokens
// a second, holding at most one second's worth. It belongs to the
// connection's reader goroutine.
type bucket struct {
	rate   float64 // tokens per second; 0 means unlimited
	tokens float64
	last   time.Time
}

func (b *bucket) init(perSecond int) {
	b.rate = float64(perSecond)
	b.tokens = b.rate
}

// allow takes a token if there is one.
func (b *bucket) allow(now time.Time) bool {
	if b.rate == 0 {
		return true
	}
	if !b.last.IsZero() {
		b.tokens = min(b.rate, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
