package auth

import (
	"container/list"
	"crypto/sha256"
	"sync"
	"time"
)

// LimiterConfig configures a [Limiter]. Zero fields take the defaults
// given on each.
type LimiterConfig struct {
	// Threshold is the number of consecutive failures allowed without
	// delay; default 5.
	Threshold int
	// Window is how long a key's failures are remembered after its last
	// failure; default 15 minutes. It is raised to MaxDelay if shorter.
	Window time.Duration
	// BaseDelay is the wait after Threshold failures; default 100 ms. Each
	// further failure doubles it.
	BaseDelay time.Duration
	// MaxDelay caps the wait; default 30 s.
	MaxDelay time.Duration
	// MaxKeys bounds the keys tracked; past it the key whose last failure
	// is oldest is forgotten; default 10,000.
	MaxKeys int
	// Clock returns the current time; default time.Now.
	Clock func() time.Time
}

// Limiter throttles login attempts per key. Use one key per user name and
// one per remote address (for example "user:alice" and "ip:192.0.2.7") and
// ask both before checking a password:
//
//	wait := max(l.Allow("user:"+name), l.Allow("ip:"+addr))
//	if wait > 0 { /* refuse: try again after wait */ }
//	if _, err := users.Authenticate(name, password); err != nil {
//		l.Fail("user:" + name)
//		l.Fail("ip:" + addr)
//	} else {
//		l.Succeed("user:" + name)
//	}
//
// After Threshold consecutive failures of a key, its next attempt must wait
// BaseDelay after the last failure, then twice that after one more failure,
// and so on up to MaxDelay. Succeed, or Window passing without a failure,
// clears the key. Memory is bounded by MaxKeys keys of at most
// MaxKeyBytes each: a longer key is kept as its SHA-256 sum. An attacker
// who creates many keys can push older ones out, so keep MaxKeys well
// above the number of keys legitimately failing at once.
type Limiter struct {
	cfg LimiterConfig

	mu    sync.Mutex
	keys  map[string]*list.Element // of *failures
	order *list.List               // least recently failed at the back
}

// MaxKeyBytes is the longest key a Limiter keeps as it is; a longer one is
// kept as its SHA-256 sum, so that a key's size is bounded whatever the
// caller passes.
const MaxKeyBytes = 320

// storedKey returns the form of key that the Limiter keeps.
func storedKey(key string) string {
	if len(key) <= MaxKeyBytes {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + string(sum[:])
}

// failures is the state of one key.
type failures struct {
	key   string
	count int
	last  time.Time
}

// NewLimiter returns a Limiter with cfg, defaults filled in.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Threshold <= 0 {
		cfg.Threshold = 5
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = 100 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 30 * time.Second
	}
	cfg.MaxDelay = max(cfg.MaxDelay, cfg.BaseDelay)
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Minute
	}
	cfg.Window = max(cfg.Window, cfg.MaxDelay)
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 10000
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Limiter{cfg: cfg, keys: make(map[string]*list.Element), order: list.New()}
}

// Allow returns how long an attempt for key must still wait, or 0 if it may
// go ahead now. It does not count as an attempt.
func (l *Limiter) Allow(key string) time.Duration {
	key = storedKey(key)
	now := l.cfg.Clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.current(key, now)
	if f == nil || f.count < l.cfg.Threshold {
		return 0
	}
	return max(f.last.Add(l.delay(f.count)).Sub(now), 0)
}

// Fail records a failed attempt for key and returns its consecutive
// failures within the window, this one included, for logging.
func (l *Limiter) Fail(key string) int {
	key = storedKey(key)
	now := l.cfg.Clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.current(key, now)
	if f == nil {
		if len(l.keys) >= l.cfg.MaxKeys {
			oldest := l.order.Back()
			l.order.Remove(oldest)
			delete(l.keys, oldest.Value.(*failures).key)
		}
		f = &failures{key: key}
		l.keys[key] = l.order.PushFront(f)
	} else {
		l.order.MoveToFront(l.keys[key])
	}
	f.count++
	f.last = now
	return f.count
}

// Failures returns key's consecutive failures within the window.
func (l *Limiter) Failures(key string) int {
	key = storedKey(key)
	now := l.cfg.Clock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.current(key, now); f != nil {
		return f.count
	}
	return 0
}

// Succeed forgets key's failures.
func (l *Limiter) Succeed(key string) {
	key = storedKey(key)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remove(key)
}

// Len returns the number of keys tracked.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// current returns key's state, forgetting it if its window has passed.
// l.mu must be held.
func (l *Limiter) current(key string, now time.Time) *failures {
	e := l.keys[key]
	if e == nil {
		return nil
	}
	f := e.Value.(*failures)
	if now.Sub(f.last) > l.cfg.Window {
		l.remove(key)
		return nil
	}
	return f
}

// remove forgets key. l.mu must be held.
func (l *Limiter) remove(key string) {
	if e := l.keys[key]; e != nil {
		l.order.Remove(e)
		delete(l.keys, key)
	}
}

// delay returns the wait after count failures, count ≥ Threshold:
// BaseDelay doubled once per failure past Threshold, capped at MaxDelay.
func (l *Limiter) delay(count int) time.Duration {
	d := l.cfg.BaseDelay
	for n := count - l.cfg.Threshold; n > 0 && d < l.cfg.MaxDelay; n-- {
		d *= 2
	}
	return min(d, l.cfg.MaxDelay)
}
