package auth

import (
	"fmt"
	"testing"
	"time"
)

// TestThrottle_NoLockOut replays an attack on one user name: 20 wrong
// passwords a second from 60 rotating addresses for 40 seconds, while
// the user logs in once a second from their own address. Every one of the
// user's logins must go through, with or without an earlier login from
// that address, and the attacker must be slowed far below its rate.
func TestThrottle_NoLockOut(t *testing.T) {
	for _, loggedInBefore := range []bool{false, true} {
		t.Run(fmt.Sprintf("logged in before: %v", loggedInBefore), func(t *testing.T) {
			c := &clock{now: time.Unix(1e9, 0)}
			th := NewThrottle(ThrottleConfig{Clock: c.Now})
			const user, home = "alice", "192.0.2.1"
			if loggedInBefore {
				th.Succeed(user, home)
			}
			legit, guesses, tried := 0, 0, 0
			for sec := range 40 {
				for i := range 20 {
					addr := fmt.Sprintf("198.51.100.%d", (sec*20+i)%60)
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
			// Each address gets its first guess; after that the ceiling
			// on the user name holds them back.
			if max := 2 * 60; guesses > max {
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
