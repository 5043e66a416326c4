package auth

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a manual clock, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// step is one action on a Limiter and, for allow, the wait expected.
type step struct {
	op   string // "fail", "allow", "succeed" or "advance"
	key  string
	d    time.Duration // wait expected by allow; time added by advance
	fail int           // count expected by fail, if non-zero
}

func TestLimiter(t *testing.T) {
	const ms = time.Millisecond
	fails := func(key string, n int) []step {
		s := make([]step, n)
		for i := range s {
			s[i] = step{op: "fail", key: key, fail: i + 1}
		}
		return s
	}
	seq := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"fresh key is allowed", []step{{op: "allow", key: "u"}}},
		{"below threshold is allowed", seq(fails("u", 4), []step{{op: "allow", key: "u"}})},
		{"threshold starts the delay", seq(fails("u", 5), []step{
			{op: "allow", key: "u", d: 100 * ms},
			{op: "advance", d: 40 * ms},
			{op: "allow", key: "u", d: 60 * ms},
			{op: "advance", d: 60 * ms},
			{op: "allow", key: "u"},
		})},
		{"each failure doubles the delay", seq(fails("u", 5), []step{
			{op: "fail", key: "u", fail: 6},
			{op: "allow", key: "u", d: 200 * ms},
			{op: "fail", key: "u", fail: 7},
			{op: "allow", key: "u", d: 400 * ms},
		})},
		{"delay is capped", seq(fails("u", 30), []step{{op: "allow", key: "u", d: 30 * time.Second}})},
		{"success clears", seq(fails("u", 6), []step{
			{op: "succeed", key: "u"},
			{op: "allow", key: "u"},
			{op: "fail", key: "u", fail: 1},
		})},
		{"window forgets", seq(fails("u", 6), []step{
			{op: "advance", d: 15*time.Minute + ms},
			{op: "allow", key: "u"},
			{op: "fail", key: "u", fail: 1},
		})},
		{"window is counted from the last failure", seq(fails("u", 5), []step{
			{op: "advance", d: 10 * time.Minute},
			{op: "fail", key: "u", fail: 6},
			{op: "advance", d: 10 * time.Minute},
			{op: "fail", key: "u", fail: 7},
		})},
		{"keys are independent", seq(fails("user:a", 5), []step{
			{op: "allow", key: "user:b"},
			{op: "allow", key: "ip:a"},
			{op: "allow", key: "user:a", d: 100 * ms},
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{now: epoch}
			l := NewLimiter(LimiterConfig{Clock: c.Now})
			for i, s := range tt.steps {
				switch s.op {
				case "fail":
					if n := l.Fail(s.key); s.fail != 0 && n != s.fail {
						t.Fatalf("step %d: Fail(%q) = %d, want %d", i, s.key, n, s.fail)
					}
				case "allow":
					if got := l.Allow(s.key); got != s.d {
						t.Fatalf("step %d: Allow(%q) = %s, want %s", i, s.key, got, s.d)
					}
				case "succeed":
					l.Succeed(s.key)
				case "advance":
					c.Advance(s.d)
				}
			}
		})
	}
}

func TestLimiter_Config(t *testing.T) {
	c := &clock{now: epoch}
	l := NewLimiter(LimiterConfig{Threshold: 2, BaseDelay: time.Second, MaxDelay: 3 * time.Second, Window: time.Millisecond, Clock: c.Now})
	l.Fail("k")
	l.Fail("k")
	l.Fail("k")
	l.Fail("k")
	if got := l.Allow("k"); got != 3*time.Second {
		t.Errorf("Allow = %s, want the 3s cap", got)
	}
	// Window is raised to MaxDelay, so the key is still remembered here.
	c.Advance(2 * time.Second)
	if got := l.Allow("k"); got != time.Second {
		t.Errorf("Allow after 2s = %s, want 1s", got)
	}
}

func TestLimiter_Eviction(t *testing.T) {
	c := &clock{now: epoch}
	l := NewLimiter(LimiterConfig{Threshold: 1, MaxKeys: 3, Clock: c.Now})
	for _, k := range []string{"a", "b", "c"} {
		l.Fail(k)
		c.Advance(time.Second)
	}
	l.Fail("a") // a is now the most recent; b the oldest
	l.Fail("d")
	if l.Len() != 3 {
		t.Errorf("Len() = %d, want 3", l.Len())
	}
	if l.keys["b"] != nil {
		t.Error("b, the oldest, was not evicted")
	}
	for _, k := range []string{"a", "c", "d"} {
		if l.keys[k] == nil {
			t.Errorf("%s was evicted", k)
		}
	}
}

func TestLimiter_Concurrent(t *testing.T) {
	c := &clock{now: epoch}
	l := NewLimiter(LimiterConfig{MaxKeys: 50, Clock: c.Now})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				k := fmt.Sprintf("k%d", (g*31+i)%80)
				switch i % 4 {
				case 0, 1:
					l.Fail(k)
				case 2:
					l.Allow(k)
				case 3:
					l.Succeed(k)
				}
				if i%100 == 0 {
					c.Advance(time.Second)
				}
			}
		})
	}
	wg.Wait()
	if n := l.Len(); n > 50 {
		t.Errorf("Len() = %d, want at most MaxKeys 50", n)
	}
}

func TestLimiter_MemoryBounded(t *testing.T) {
	const maxKeys = 50
	c := &clock{now: epoch} // the throttle must not lapse while the test runs
	l := NewLimiter(LimiterConfig{MaxKeys: maxKeys, Threshold: 1, Clock: c.Now})
	huge := strings.Repeat("x", 1<<20)
	for i := range 300 {
		l.Fail(fmt.Sprintf("user:%d%s", i, huge))
	}
	if n := l.Len(); n > maxKeys {
		t.Fatalf("Len = %d, want at most %d", n, maxKeys)
	}
	l.mu.Lock()
	bytes := 0
	for k := range l.keys {
		bytes += len(k)
	}
	l.mu.Unlock()
	if bytes > maxKeys*MaxKeyBytes {
		t.Fatalf("the keys take %d bytes, want at most %d", bytes, maxKeys*MaxKeyBytes)
	}
	// A long key is still throttled as itself.
	last := fmt.Sprintf("user:%d%s", 299, huge)
	if l.Allow(last) == 0 {
		t.Fatal("a long key that failed is not throttled")
	}
	if l.Allow("user:0"+huge[:len(huge)-1]+"y") != 0 {
		t.Fatal("a long key that never failed is throttled")
	}
}
