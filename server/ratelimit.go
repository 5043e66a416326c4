package server

import "time"

// bucket is a token bucket limiting one connection's publishes: rate tokens
// a second, holding at most one second's worth. It belongs to the
// connection's reader goroutine. It reads the clock only when it runs out
// of tokens: refilling then, by the time passed since the last refill and
// at most to one second's worth, never grants more than refilling on every
// publish would.
type bucket struct {
	rate   float64 // tokens per second; 0 means unlimited
	tokens float64
	last   time.Time
}

func (b *bucket) init(perSecond int, now time.Time) {
	b.rate = float64(perSecond)
	b.tokens = b.rate
	b.last = now
}

// allow takes a token if there is one.
func (b *bucket) allow() bool { return b.allowAt(time.Now) }

// allowAt is allow with the clock now.
func (b *bucket) allowAt(now func() time.Time) bool {
	if b.rate == 0 {
		return true
	}
	if b.tokens < 1 {
		t := now()
		b.tokens = min(b.rate, b.tokens+t.Sub(b.last).Seconds()*b.rate)
		b.last = t
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
