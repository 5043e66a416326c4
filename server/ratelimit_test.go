package server

import (
	"testing"
	"time"
)

// TestBucket checks the publish rate limit against a clock the test moves:
// a second's worth at once, then what the time passed refills, and never
// more than a second's worth however long the connection was quiet.
func TestBucket(t *testing.T) {
	start := time.Unix(1000, 0)
	now := start
	clock := func() time.Time { return now }
	var b bucket
	b.init(10, start)
	take := func() int {
		n := 0
		for b.allowAt(clock) {
			n++
			if n > 100 {
				t.Fatal("the bucket never runs out")
			}
		}
		return n
	}
	if n := take(); n != 10 {
		t.Fatalf("a full bucket allowed %d, want 10", n)
	}
	now = now.Add(500 * time.Millisecond)
	if n := take(); n != 5 {
		t.Fatalf("half a second later it allowed %d, want 5", n)
	}
	now = now.Add(time.Hour)
	if n := take(); n != 10 {
		t.Fatalf("an hour later it allowed %d, want 10: at most a second's worth", n)
	}

	var unlimited bucket
	unlimited.init(0, start)
	for range 1000 {
		if !unlimited.allowAt(func() time.Time { t.Fatal("an unlimited bucket read the clock"); return now }) {
			t.Fatal("an unlimited bucket refused")
		}
	}
}
