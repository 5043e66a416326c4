package whispeer

import (
	"testing"
	"time"
)

func TestClock_FollowsWallClock(t *testing.T) {
	var c clock
	before := time.Now()
	got := c.now()
	again := c.now()
	after := time.Now()
	if got.Before(before) || again.Before(got) || after.Before(again) {
		t.Fatalf("clock times %v, %v outside [%v, %v] or going back", got, again, before, after)
	}
}

func BenchmarkClock(b *testing.B) {
	b.Run("clock", func(b *testing.B) {
		var c clock
		for b.Loop() {
			c.now()
		}
	})
	b.Run("time.Now", func(b *testing.B) {
		for b.Loop() {
			time.Now()
		}
	})
}
