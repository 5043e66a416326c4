package auth

import (
	"sync"
	"time"
)

// ThrottleConfig configures a [Throttle]. Zero fields take the defaults
// given on each; a Limiter's own zero fields take its defaults.
type ThrottleConfig struct {
	// UserAddress limits the failures of one user name from one address;
	// default threshold 5.
	UserAddress LimiterConfig
	// Address limits the failures from one address, whatever the user
	// names; default threshold 20.
	Address LimiterConfig
	// User is the ceiling on the failures of one user name from all
	// addresses together; default threshold 100, base delay 1 s. Past it,
	// only addresses that the user logged in from lately may try without
	// waiting.
	User LimiterConfig
	// Global is the ceiling on the failures of all user names from all
	// addresses together; default threshold 1,000, base delay 1 s. Past
	// it, likewise, only addresses that a user logged in from lately may
	// try that user without waiting.
	Global LimiterConfig
	// KnownAddresses is how many addresses of each user's last
	// successful logins are remembered; default 8.
	KnownAddresses int
	// Clock returns the current time for all four limiters; default
	// time.Now.
	Clock func() time.Time
}

// Throttle slows password guessing without letting an attacker lock a
// user out. It follows the OWASP Authentication Cheat Sheet's advice to
// throttle rather than lock accounts, and to let a known client through a
// lock-out (there with a device cookie, here with the address the user
// last logged in from): failures count per user name and address, so that
// guesses at a user from other addresses do not delay the user at their
// own; per address, so that one address spraying many user names is
// slowed; and, as ceilings on attacks spread over many addresses, per user
// name across all addresses and in total. The ceilings delay only the
// addresses that the user has not logged in from lately, so a user at a
// known address is never held back by them.
//
// A Throttle is safe for concurrent use. Its memory is bounded by the
// MaxKeys of its limiters and by KnownAddresses per account that has
// logged in.
type Throttle struct {
	userAddr, addr, user, all *Limiter
	maxKnown                  int

	mu    sync.Mutex
	known map[string][]string // user name → addresses of its last successful logins, newest last
}

// NewThrottle returns a Throttle with cfg, defaults filled in.
func NewThrottle(cfg ThrottleConfig) *Throttle {
	setDefault := func(l *LimiterConfig, threshold int, base time.Duration) {
		if l.Threshold <= 0 {
			l.Threshold = threshold
		}
		if l.BaseDelay <= 0 {
			l.BaseDelay = base
		}
		if l.Clock == nil {
			l.Clock = cfg.Clock
		}
	}
	setDefault(&cfg.UserAddress, 5, 0)
	setDefault(&cfg.Address, 20, 0)
	setDefault(&cfg.User, 100, time.Second)
	setDefault(&cfg.Global, 1000, time.Second)
	if cfg.KnownAddresses <= 0 {
		cfg.KnownAddresses = 8
	}
	return &Throttle{
		userAddr: NewLimiter(cfg.UserAddress),
		addr:     NewLimiter(cfg.Address),
		user:     NewLimiter(cfg.User),
		all:      NewLimiter(cfg.Global),
		maxKnown: cfg.KnownAddresses,
		known:    make(map[string][]string),
	}
}

// userAddrKey is the key of a user name at an address. A user name holds
// no NUL byte that could make two pairs meet: configuration strings are
// text, and a longer key is hashed by the Limiter anyway.
func userAddrKey(user, addr string) string { return user + "\x00" + addr }

// Allow returns how long a login as user from addr must still wait, or 0
// if it may go ahead now. It does not count as an attempt.
func (t *Throttle) Allow(user, addr string) time.Duration {
	ua := userAddrKey(user, addr)
	wait := max(t.userAddr.Allow(ua), t.addr.Allow(addr))
	if !t.Known(user, addr) {
		wait = max(wait, t.user.Allow(user), t.all.Allow(globalKey))
	}
	return wait
}

// globalKey is the one key of the global ceiling.
const globalKey = "*"

// Fail records a failed login as user from addr and returns the largest of
// its consecutive failure counts per user and address, per address and
// per user, for logging.
func (t *Throttle) Fail(user, addr string) int {
	t.all.Fail(globalKey)
	return max(t.userAddr.Fail(userAddrKey(user, addr)), t.addr.Fail(addr), t.user.Fail(user))
}

// Succeed records a successful login as user from addr: it clears the
// failures of that pair and remembers addr as one the user logs in from.
// The address's and the user's failures stay: a success elsewhere does not
// excuse them.
func (t *Throttle) Succeed(user, addr string) {
	t.userAddr.Succeed(userAddrKey(user, addr))
	t.mu.Lock()
	defer t.mu.Unlock()
	known := t.known[user]
	for i, a := range known {
		if a == addr {
			known = append(known[:i], known[i+1:]...)
			break
		}
	}
	if len(known) >= t.maxKnown {
		known = known[1:]
	}
	t.known[user] = append(known, addr)
}

// Known reports whether user logged in from addr lately: one of the
// KnownAddresses last addresses of the user's successful logins.
func (t *Throttle) Known(user, addr string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.known[user] {
		if a == addr {
			return true
		}
	}
	return false
}

// Len returns the number of keys its limiters track.
func (t *Throttle) Len() int { return t.userAddr.Len() + t.addr.Len() + t.user.Len() + t.all.Len() }
