package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// ErrInvalidHash reports a password hash that is not an argon2id PHC
// string with parameters within [Params] bounds.
var ErrInvalidHash = errors.New("whispeer: invalid password hash")

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // KiB of memory, at least 8×Threads, at most 1 GiB
	Time    uint32 // passes over the memory, 1–64
	Threads uint8  // lanes, 1–64
	SaltLen uint32 // bytes of random salt, 8–64
	KeyLen  uint32 // bytes of tag, 16–64
}

// DefaultParams are the parameters of [HashPassword]: the second
// recommended option of RFC 9106 section 4 (64 MiB, 3 passes, 4 lanes),
// a 16-byte salt and a 32-byte tag.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// phcPrefix starts every hash this package reads or writes.
const phcPrefix = "$argon2id$v=19$"

// b64 is the PHC string encoding: standard alphabet, no padding.
var b64 = base64.RawStdEncoding

// HashPassword hashes password with argon2id and [DefaultParams] under a
// fresh random salt, and returns the PHC string that a user's password
// setting accepts.
func HashPassword(password string) (string, error) {
	return HashPasswordWith(password, DefaultParams)
}

// HashPasswordWith is HashPassword with chosen parameters, which must be
// within the bounds documented on [Params].
func HashPasswordWith(password string, p Params) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	h := hash{Params: p, salt: salt}
	h.tag = h.compute(password)
	return h.String(), nil
}

// hash is a parsed argon2id PHC string.
type hash struct {
	Params
	salt, tag []byte
}

// parseHash parses s, a PHC string "$argon2id$v=19$m=…,t=…,p=…$salt$tag".
func parseHash(s string) (hash, error) {
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		return hash{}, fmt.Errorf("%w: want a string starting %q", ErrInvalidHash, phcPrefix)
	}
	fields := strings.Split(rest, "$")
	if len(fields) != 3 {
		return hash{}, fmt.Errorf("%w: want parameters, salt and tag separated by '$'", ErrInvalidHash)
	}
	var h hash
	var threads uint32
	if n, err := fmt.Sscanf(fields[0], "m=%d,t=%d,p=%d", &h.Memory, &h.Time, &threads); err != nil || n != 3 ||
		fields[0] != fmt.Sprintf("m=%d,t=%d,p=%d", h.Memory, h.Time, threads) {
		return hash{}, fmt.Errorf("%w: parameters %q are not m=<KiB>,t=<passes>,p=<lanes>", ErrInvalidHash, fields[0])
	}
	if threads > 255 {
		return hash{}, fmt.Errorf("%w: p=%d out of range", ErrInvalidHash, threads)
	}
	h.Threads = uint8(threads)
	var err error
	if h.salt, err = b64.Strict().DecodeString(fields[1]); err != nil {
		return hash{}, fmt.Errorf("%w: salt is not unpadded base64", ErrInvalidHash)
	}
	if h.tag, err = b64.Strict().DecodeString(fields[2]); err != nil {
		return hash{}, fmt.Errorf("%w: tag is not unpadded base64", ErrInvalidHash)
	}
	h.SaltLen, h.KeyLen = uint32(len(h.salt)), uint32(len(h.tag))
	if err := h.check(); err != nil {
		return hash{}, err
	}
	return h, nil
}

// check reports parameters outside the bounds this package accepts: they
// keep a hash in the configuration from costing unbounded memory or time.
func (p Params) check() error {
	switch {
	case p.Threads < 1 || p.Threads > 64:
		return fmt.Errorf("%w: p=%d, want 1–64", ErrInvalidHash, p.Threads)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > 1<<20:
		return fmt.Errorf("%w: m=%d, want %d–%d KiB", ErrInvalidHash, p.Memory, 8*uint32(p.Threads), 1<<20)
	case p.Time < 1 || p.Time > 64:
		return fmt.Errorf("%w: t=%d, want 1–64", ErrInvalidHash, p.Time)
	case p.SaltLen < 8 || p.SaltLen > 64:
		return fmt.Errorf("%w: %d-byte salt, want 8–64", ErrInvalidHash, p.SaltLen)
	case p.KeyLen < 16 || p.KeyLen > 64:
		return fmt.Errorf("%w: %d-byte tag, want 16–64", ErrInvalidHash, p.KeyLen)
	}
	return nil
}

// idKey computes argon2id tags; tests count its calls.
var idKey = argon2.IDKey

// compute returns the argon2id tag of password under h's salt and
// parameters.
func (h *hash) compute(password string) []byte {
	return idKey([]byte(password), h.salt, h.Time, h.Memory, h.Threads, h.KeyLen)
}

// verify reports, in time independent of where they differ, whether
// password hashes to h's tag.
func (h *hash) verify(password string) bool {
	return subtle.ConstantTimeCompare(h.compute(password), h.tag) == 1
}

// String encodes h as a PHC string.
func (h *hash) String() string {
	return fmt.Sprintf("%sm=%d,t=%d,p=%d$%s$%s", phcPrefix, h.Memory, h.Time, h.Threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.tag))
}

// CheckHash reports whether s is an argon2id PHC string that this package
// can verify, with parameters within bounds. It does not compute the hash.
func CheckHash(s string) error {
	_, err := parseHash(s)
	return err
}
