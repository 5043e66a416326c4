package whispeer

import (
	"sync/atomic"
	"time"
)

// clock stamps messages. Reading the wall clock costs twice what reading
// the monotonic one does, so it reads the wall clock once a second and
// derives the times in between from the monotonic clock.
type clock struct {
	base atomic.Pointer[time.Time]
}

// rebaseEvery bounds how long a wall-clock step (an NTP correction) can go
// unnoticed in message times.
const rebaseEvery = time.Second

func (c *clock) now() time.Time {
	if b := c.base.Load(); b != nil {
		if d := time.Since(*b); d >= 0 && d < rebaseEvery {
			return b.Add(d)
		}
	}
	n := time.Now()
	c.base.Store(&n)
	return n
}
