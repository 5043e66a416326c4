package auth

import (
	"fmt"
	"testing"
	"time"
)

// TestThrottle_NoLockOut replays an attack on one user name: 20 wrong
// passwords a second from 60 rotating addresses, or from a new address
// each time, for 40 seconds, while the user logs in once a second from
// their own address. Every one of the user's logins must go through, with
// or without an earlier login from that address, and the attacker must be
// slowed far below its rate.
func TestThrottle_NoLockOut(t *testing.T) {
	for _, tc := range []struct {
		loggedInBefore bool
		addrs          int
	}{{false, 60}, {true, 60}, {false, 800}} {
		loggedInBefore := tc.loggedInBefore
		t.Run(fmt.Sprintf("logged in before: %v, %d addresses", loggedInBefore, tc.addrs), func(t *testing.T) {
			c := &clock{now: time.Unix(1e9, 0)}
			th := NewThrottle(ThrottleConfig{Clock: c.Now})
			const user, home = "alice", "192.0.2.1"
			if loggedInBefore {
				th.Succeed(user, home)
			}
			legit, guesses, tried := 0, 0, 0
			for sec := range 40 {
				for i := range 20 {
					addr := fmt.Sprintf("198.51.%d.%d", (sec*20+i)%tc.addrs/250, (sec*20+i)%tc.addrs%250)
					tried++
					if th.Allow(user, addr) == 0 {
						guesses++
						th.Fail(user, addr)
					}
					c.Advance(time.Second / 20)
				}
				if th.Allow(user, home) == 0 {
					legit++
					th.Succeed(user, home)
				}
			}
			if legit != 40 {
				t.Errorf("%d of 40 logins from the user's address went through under attack", legit)
			}
			// The ceiling on the user name holds every address back after
			// 100 failures, the waits doubling from 1 s to 30 s.
			if max := 120; guesses > max {
				t.Errorf("the attacker made %d of %d guesses, want at most %d", guesses, tried, max)
			}
			t.Logf("attacker: %d of %d guesses checked; user: %d of 40 logins", guesses, tried, legit)
		})
	}
}

func TestThrottle_Limits(t *testing.T) {
	c := &clock{now: time.Unix(1e9, 0)}
	th := NewThrottle(ThrottleConfig{Clock: c.Now})
	// One user name from one address: five failures, then a wait.
	for range 5 {
		if th.Allow("bob", "a") != 0 {
			t.Fatal("throttled before five failures")
		}
		th.Fail("bob", "a")
	}
	if th.Allow("bob", "a") == 0 {
		t.Fatal("a sixth guess from the same address is not delayed")
	}
	if th.Allow("bob", "b") != 0 {
		t.Fatal("the user is delayed at another address")
	}
	// One address spraying user names: twenty failures, then a wait for
	// every name.
	for i := range 20 {
		th.Fail(fmt.Sprintf("user%d", i), "c")
	}
	if th.Allow("carol", "c") == 0 {
		t.Fatal("an address that failed for twenty names is not delayed")
	}
	if th.Allow("carol", "d") != 0 {
		t.Fatal("another address is delayed")
	}
}

// TestThrottle_GlobalCeiling: spraying many user names from many addresses
// is held back once 1,000 guesses have failed, except for a user at an
// address they logged in from.
func TestThrottle_GlobalCeiling(t *testing.T) {
	c := &clock{now: time.Unix(1e9, 0)}
	th := NewThrottle(ThrottleConfig{Clock: c.Now})
	th.Succeed("alice", "192.0.2.1")
	for i := range 1000 {
		addr, user := fmt.Sprintf("198.51.%d.%d", i/250, i%250), fmt.Sprintf("user%d", i)
		if th.Allow(user, addr) != 0 {
			t.Fatalf("guess %d held back before the global ceiling", i)
		}
		th.Fail(user, addr)
	}
	if th.Allow("bob", "203.0.113.9") == 0 {
		t.Fatal("a guess from a new address at a new name goes ahead past the global ceiling")
	}
	if th.Allow("alice", "192.0.2.1") != 0 {
		t.Fatal("a user at a known address is held back by the global ceiling")
	}
}
