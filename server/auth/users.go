package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/whispeer-io/whispeer/internal/match"
	"github.com/whispeer-io/whispeer/server/config"
)

// MaxUsernameBytes is the longest user name an account may have. A server
// refuses a login with a longer name before checking anything or keeping
// the name, so that a client cannot make it hash, store or log megabytes.
const MaxUsernameBytes = 256

// ErrBadCredentials is returned by [Users.Authenticate] for an unknown user
// and for a wrong password alike.
var ErrBadCredentials = errors.New("whispeer: authentication failed")

// ErrBusy is returned by [Users.Authenticate] when as many password checks
// as it allows are running and as many more are waiting: the client should
// try again in a moment.
var ErrBusy = errors.New("whispeer: server busy checking passwords: try again in a moment")

// MaxHashesDefault bounds the argon2id computations that run at once when
// neither [WithMaxHashes] nor a memory limit says otherwise.
const MaxHashesDefault = 4

// HashQueueFactor is how many password checks per running one may wait for
// a slot; a check beyond that fails at once with [ErrBusy].
const HashQueueFactor = 16

// UsersOption configures [NewUsers].
type UsersOption func(*Users)

// WithMaxHashes bounds the argon2id computations that run at once to n
// (each holds its memory parameter in RAM, 64 MiB by default); HashQueueFactor×n
// more may wait, and further checks fail with [ErrBusy]. n ≤ 0 keeps the
// default (see [NewUsers]).
func WithMaxHashes(n int) UsersOption {
	return func(us *Users) {
		if n > 0 {
			us.maxHashes = n
		}
	}
}

// Users is the set of accounts that may log in. It is immutable after
// [NewUsers]; to change accounts, build a new Users.
type Users struct {
	byName     map[string]*User
	dummy      hash          // verified in place of a missing or plain-text user's hash
	dummyPlain [32]byte      // compared in place of a missing user's plain password
	maxHashes  int           // argon2id computations at once
	slots      chan struct{} // bounds concurrent argon2id computations
	checks     atomic.Int64  // password checks running or waiting for a slot
}

// User is one account and its topic permissions.
type User struct {
	name      string
	hash      *hash    // nil for a plain-text password
	plain     [32]byte // SHA-256 of a plain-text password
	stamp     [32]byte // see PasswordStamp
	publish   []string
	subscribe [][]string // subscribe patterns split into levels
	// within is the account of the configuration that an application's
	// token names, whose permissions bound the token's; nil for others.
	within *User
}

// NewUsers builds the account set from configuration entries. It fails,
// naming the entry, on an empty, too long or duplicate user name, an
// unusable password hash or an invalid topic pattern.
//
// Unless [WithMaxHashes] says otherwise, the argon2id computations running
// at once are bounded to the least of MaxHashesDefault, GOMAXPROCS and,
// when the Go runtime has a memory limit (GOMEMLIMIT or
// debug.SetMemoryLimit), the number whose memory fits in a quarter of it,
// or else the number whose memory and the garbage it leaves until the
// collector runs (GOGC percent more) fit in a quarter of the machine's
// memory; at least one.
func NewUsers(entries []config.User, opts ...UsersOption) (*Users, error) {
	us := &Users{byName: make(map[string]*User, len(entries))}
	for _, o := range opts {
		o(us)
	}
	var dummyParams *Params
	for i, e := range entries {
		u, err := newUser(e)
		if err != nil {
			return nil, fmt.Errorf("auth.users[%d] (%q): %w", i, e.Username, err)
		}
		if us.byName[u.name] != nil {
			return nil, fmt.Errorf("auth.users[%d] (%q): duplicate username", i, e.Username)
		}
		us.byName[u.name] = u
		if u.hash != nil && dummyParams == nil {
			dummyParams = &u.hash.Params
		}
	}
	// Users without a hash of their own are checked against a dummy with
	// the parameters of the first real hash, so that all logins cost alike.
	p := DefaultParams
	if dummyParams != nil {
		p = *dummyParams
	}
	us.dummy = hash{Params: p, salt: make([]byte, p.SaltLen), tag: make([]byte, p.KeyLen)}
	if us.maxHashes == 0 {
		us.maxHashes = currentBudget().maxHashes(us.maxMemoryKiB())
	}
	us.slots = make(chan struct{}, us.maxHashes)
	for _, b := range [][]byte{us.dummy.salt, us.dummy.tag, us.dummyPlain[:]} {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("dummy hash: %w", err)
		}
	}
	return us, nil
}

// maxMemoryKiB returns the largest memory parameter of the hashes that
// Authenticate may compute.
func (us *Users) maxMemoryKiB() uint32 {
	m := us.dummy.Memory
	for _, u := range us.byName {
		if u.hash != nil {
			m = max(m, u.hash.Memory)
		}
	}
	return m
}

// MaxHashes returns the bound on argon2id computations at once.
func (us *Users) MaxHashes() int { return us.maxHashes }

// newUser checks and converts one configuration entry.
func newUser(e config.User) (*User, error) {
	if e.Username == "" {
		return nil, errors.New("empty username")
	}
	if len(e.Username) > MaxUsernameBytes {
		return nil, fmt.Errorf("username longer than %d bytes", MaxUsernameBytes)
	}
	u := &User{name: e.Username, publish: append([]string(nil), e.Publish...)}
	pw := e.Password.Reveal()
	switch {
	case pw == "":
		return nil, errors.New("empty password")
	case strings.HasPrefix(pw, config.HashPrefix):
		h, err := parseHash(pw)
		if err != nil {
			return nil, err
		}
		u.hash = &h
		u.stamp = sha256.Sum256([]byte("argon2id\x00" + pw))
	default:
		u.plain = sha256.Sum256([]byte(pw))
		u.stamp = sha256.Sum256(append([]byte("plain\x00"), u.plain[:]...))
	}
	for _, p := range e.Publish {
		if err := match.ValidatePattern(p, match.DefaultLimits); err != nil {
			return nil, fmt.Errorf("publish pattern %q: %w", p, err)
		}
	}
	for _, p := range e.Subscribe {
		if err := match.ValidatePattern(p, match.DefaultLimits); err != nil {
			return nil, fmt.Errorf("subscribe pattern %q: %w", p, err)
		}
		u.subscribe = append(u.subscribe, strings.Split(p, "/"))
	}
	return u, nil
}

// Authenticate returns the user named username if password is theirs, and
// ErrBadCredentials otherwise. Every call computes one argon2id hash and
// one constant-time comparison whether or not the user exists, and whether
// their password is hashed or plain text, so that timing does not tell
// which user names exist. It waits while MaxHashes other hashes are being
// computed, and fails at once with ErrBusy when HashQueueFactor×MaxHashes
// checks are waiting already.
func (us *Users) Authenticate(username, password string) (*User, error) {
	if us.checks.Add(1) > int64(us.maxHashes*(1+HashQueueFactor)) {
		us.checks.Add(-1)
		return nil, ErrBusy
	}
	defer us.checks.Add(-1)
	return us.authenticate(username, password)
}

// AuthenticateKnown is Authenticate for a login that the caller trusts to
// be its user's, such as one from an address the user logged in from
// lately (see [Throttle.Known]): it waits its turn however many checks are
// waiting, and never fails with ErrBusy, so that a flood of other logins
// cannot keep it out.
func (us *Users) AuthenticateKnown(username, password string) (*User, error) {
	return us.authenticate(username, password)
}

// authenticate checks a password once a hash may start.
func (us *Users) authenticate(username, password string) (*User, error) {
	u := us.byName[username]
	us.slots <- struct{}{}
	defer func() { <-us.slots }()

	// The same steps run for every kind of account: one argon2id
	// verification and one comparison of SHA-256 sums.
	h, plain := &us.dummy, &us.dummyPlain
	if u != nil {
		plain = &u.plain
		if u.hash != nil {
			h = u.hash
		}
	}
	hashOK := h.verify(password)
	sum := sha256.Sum256([]byte(password))
	plainOK := subtle.ConstantTimeCompare(sum[:], plain[:]) == 1
	ok := u != nil && (u.hash != nil && hashOK || u.hash == nil && plainOK)
	if u == nil || !ok {
		return nil, ErrBadCredentials
	}
	return u, nil
}

// Stamp returns the password stamp of the user named username (see
// [User.PasswordStamp]), and false if there is no such user: a
// [StampFunc] for [WithPasswordStamps].
func (us *Users) Stamp(username string) ([]byte, bool) {
	u, ok := us.byName[username]
	if !ok {
		return nil, false
	}
	return u.PasswordStamp(), true
}

// PasswordStamp returns a digest of the user's password setting: the
// SHA-256 of its argon2id PHC string, or of the SHA-256 of its plain-text
// password. It changes whenever the password does (a new hash has a new
// salt even for the same password) and reveals nothing usable about it.
func (u *User) PasswordStamp() []byte { return u.stamp[:] }

// Lookup returns the user named username, for a client that presents a
// token instead of a password.
func (us *Users) Lookup(username string) (*User, bool) {
	u, ok := us.byName[username]
	return u, ok
}

// Len returns the number of users.
func (us *Users) Len() int { return len(us.byName) }

// Name returns the user's name.
func (u *User) Name() string { return u.name }

// CanPublish reports whether the user may publish to topic: topic has no
// wildcard level and one of the user's publish patterns matches it (for
// the user of an application's token that names an account of the
// configuration, one of the account's too). The
// topic is expected to be valid (see match.ValidateTopic).
func (u *User) CanPublish(topic string) bool {
	if match.IsPattern(topic) || u.within != nil && !u.within.CanPublish(topic) {
		return false
	}
	for _, p := range u.publish {
		if match.Matches(p, topic) {
			return true
		}
	}
	return false
}

// CanSubscribe reports whether the user may subscribe to pattern: every
// topic that pattern can match is matched by one of the user's subscribe
// patterns (see [Covers]). The pattern is expected to be valid (see
// match.ValidatePattern).
func (u *User) CanSubscribe(pattern string) bool {
	if u.within != nil && !u.within.CanSubscribe(pattern) {
		return false
	}
	return covers(u.subscribe, strings.Split(pattern, "/"))
}
