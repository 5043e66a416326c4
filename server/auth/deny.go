package auth

import (
	"errors"
	"sort"
	"sync"
	"time"
)

// ErrDenyListFull is returned by [DenyList.Deny] when the list holds its
// maximum of unexpired token ids.
var ErrDenyListFull = errors.New("whispeer: token deny list full")

// DefaultMaxDenied bounds a [DenyList] made with a size of 0 or less.
const DefaultMaxDenied = 100_000

// Denial is one revoked token id and when the token expires: past that,
// the token is refused anyway and the denial is forgotten.
type Denial struct {
	ID        string    `json:"jti"`
	ExpiresAt time.Time `json:"exp"`
}

// DenyList holds revoked token ids ("jti") until their tokens expire. It
// is safe for concurrent use.
type DenyList struct {
	mu   sync.Mutex
	byID map[string]time.Time
	max  int
	now  func() time.Time
}

// NewDenyList returns an empty list of at most max ids that reads the
// time from now (time.Now if nil).
func NewDenyList(max int, now func() time.Time) *DenyList {
	if max <= 0 {
		max = DefaultMaxDenied
	}
	if now == nil {
		now = time.Now
	}
	return &DenyList{byID: make(map[string]time.Time), max: max, now: now}
}

// Deny revokes the token id until exp. A later exp for an id already
// denied extends its denial. It fails for an empty id, an exp already
// past, and with ErrDenyListFull when the list holds max unexpired ids.
func (d *DenyList) Deny(id string, exp time.Time) error {
	if id == "" {
		return errors.New("whispeer: empty token id")
	}
	now := d.now()
	if !exp.After(now) {
		return errors.New("whispeer: the token has expired already")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if old, ok := d.byID[id]; ok {
		d.byID[id] = later(old, exp)
		return nil
	}
	if len(d.byID) >= d.max {
		d.prune(now)
		if len(d.byID) >= d.max {
			return ErrDenyListFull
		}
	}
	d.byID[id] = exp
	return nil
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// prune forgets the ids whose tokens have expired.
func (d *DenyList) prune(now time.Time) {
	for id, exp := range d.byID {
		if !exp.After(now) {
			delete(d.byID, id)
		}
	}
}

// Denied reports whether the token id is revoked. The empty id never is.
func (d *DenyList) Denied(id string) bool {
	if id == "" {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	exp, ok := d.byID[id]
	return ok && exp.After(d.now())
}

// List returns the unexpired denials, sorted by id.
func (d *DenyList) List() []Denial {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.prune(d.now())
	out := make([]Denial, 0, len(d.byID))
	for id, exp := range d.byID {
		out = append(out, Denial{ID: id, ExpiresAt: exp})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
