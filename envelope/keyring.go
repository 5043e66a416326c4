package envelope

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// KeySize is the length of every key: master keys, explicit topic keys and
// the derived topic keys.
const KeySize = 32

// The HKDF-SHA256 parameters of a derived topic key; see docs/envelope.md.
const (
	hkdfSalt       = "whispeer/envelope/v1"
	hkdfInfoPrefix = "whispeer topic key\x00"
)

// secret is key material. It never prints its bytes.
type secret [KeySize]byte

// Format prints a placeholder for every verb.
func (secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte("[redacted]")) }

// patternKeys are the explicit keys of one topic or pattern.
type patternKeys struct {
	pattern
	current uint32
	keys    map[uint32]*secret
}

// keyRef locates a key by id: a master key, or an explicit key of a pattern.
type keyRef struct {
	key     *secret
	pattern *patternKeys // nil for a master key
}

// snapshot is an immutable state of a keyring. Writers copy it, change the
// copy and publish it; readers never lock.
type snapshot struct {
	current  uint32            // current master key id, 0 when none
	byID     map[uint32]keyRef // every key, masters and explicit
	patterns []*patternKeys    // explicit keys in precedence order
}

func (s *snapshot) clone() *snapshot {
	c := &snapshot{current: s.current, byID: maps.Clone(s.byID), patterns: slices.Clone(s.patterns)}
	if c.byID == nil {
		c.byID = make(map[uint32]keyRef)
	}
	return c
}

// Keyring holds master keys with uint32 ids and explicit keys for topics or
// topic patterns. The zero value is not usable; call [NewKeyring].
//
// A topic is sealed with the first explicit key whose pattern matches it
// (an exact topic first, then the pattern with more literal levels, then
// one without a trailing "#", then the one with more levels, then the
// lexically smaller); when none matches,
// with a key derived by HKDF-SHA256 from the current master key and the
// topic name. Rotation makes a new id current for sealing; older ids keep
// opening what they sealed. Ids are unique across masters and explicit keys,
// and 0 is reserved.
//
// A Keyring is safe for concurrent use. Reads load an immutable snapshot
// through an atomic pointer; changes serialize on a mutex and take effect
// for every engine using the keyring on its next call. Key bytes never
// appear in its String, GoString or Format output.
type Keyring struct {
	mu   sync.Mutex // serializes writers; readers use snap only
	snap atomic.Pointer[snapshot]
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring {
	k := new(Keyring)
	k.snap.Store(&snapshot{byID: make(map[uint32]keyRef)})
	return k
}

func (k *Keyring) load() *snapshot { return k.snap.Load() }

// update applies fn to a copy of the current snapshot and publishes it
// when fn succeeds.
func (k *Keyring) update(fn func(s *snapshot) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.load().clone()
	if err := fn(s); err != nil {
		return err
	}
	k.snap.Store(s)
	return nil
}

// Add adds the master key with the given id. It becomes current if the
// keyring has no current master key. Adding the same id and key again is
// a no-op.
func (k *Keyring) Add(id uint32, key []byte) error {
	sec, err := newSecret(id, key)
	if err != nil {
		return err
	}
	return k.update(func(s *snapshot) error {
		if ref, ok := s.byID[id]; ok {
			if ref.pattern == nil && *ref.key == *sec {
				return nil
			}
			return fmt.Errorf("%w: %d", ErrDuplicateKeyID, id)
		}
		s.byID[id] = keyRef{key: sec}
		if s.current == 0 {
			s.current = id
		}
		return nil
	})
}

// Generate adds a random master key under the next free id (one above the
// highest id in the keyring) and returns the id. It becomes current if the
// keyring has no current master key; [Keyring.Rotate] always makes it
// current.
func (k *Keyring) Generate() (uint32, error) { return k.generate(false) }

// Rotate adds a random master key under the next free id and makes it
// current: new seals use it, envelopes sealed under older ids still open.
func (k *Keyring) Rotate() (uint32, error) { return k.generate(true) }

func (k *Keyring) generate(makeCurrent bool) (uint32, error) {
	sec, err := randomSecret()
	if err != nil {
		return 0, err
	}
	var id uint32
	err = k.update(func(s *snapshot) error {
		if id, err = s.nextID(); err != nil {
			return err
		}
		s.byID[id] = keyRef{key: sec}
		if makeCurrent || s.current == 0 {
			s.current = id
		}
		return nil
	})
	return id, err
}

// SetCurrent makes the master key id current for sealing.
func (k *Keyring) SetCurrent(id uint32) error {
	return k.update(func(s *snapshot) error {
		if ref, ok := s.byID[id]; !ok || ref.pattern != nil {
			return fmt.Errorf("%w: %d is not a master key", ErrUnknownKeyID, id)
		}
		s.current = id
		return nil
	})
}

// Current returns the id of the current master key, or 0 when there is none.
func (k *Keyring) Current() uint32 { return k.load().current }

// SetTopicKey sets an explicit key for a topic or a pattern ("+" and "*"
// match one level, a trailing "#" matches its parent level and everything
// below, "#" alone matches every topic). Topics it matches are sealed with
// this key as is, instead of a derived one. If the pattern already has keys,
// id becomes its current key and the older ones still open. Setting the
// same pattern, id and key again is a no-op.
func (k *Keyring) SetTopicKey(patternOrTopic string, id uint32, key []byte) error {
	p, err := parsePattern(patternOrTopic)
	if err != nil {
		return err
	}
	sec, err := newSecret(id, key)
	if err != nil {
		return err
	}
	return k.update(func(s *snapshot) error { return s.setTopicKey(p, id, sec) })
}

// GenerateTopicKey sets a random explicit key for a topic or pattern under
// the next free id, makes it the pattern's current key and returns the id.
func (k *Keyring) GenerateTopicKey(patternOrTopic string) (uint32, error) {
	p, err := parsePattern(patternOrTopic)
	if err != nil {
		return 0, err
	}
	sec, err := randomSecret()
	if err != nil {
		return 0, err
	}
	var id uint32
	err = k.update(func(s *snapshot) error {
		if id, err = s.nextID(); err != nil {
			return err
		}
		return s.setTopicKey(p, id, sec)
	})
	return id, err
}

func (s *snapshot) setTopicKey(p pattern, id uint32, sec *secret) error {
	if ref, ok := s.byID[id]; ok {
		if ref.pattern != nil && ref.pattern.text == p.text && *ref.key == *sec {
			return nil
		}
		return fmt.Errorf("%w: %d", ErrDuplicateKeyID, id)
	}
	i := slices.IndexFunc(s.patterns, func(pk *patternKeys) bool { return pk.text == p.text })
	pk := &patternKeys{pattern: p, keys: make(map[uint32]*secret)}
	if i >= 0 {
		old := s.patterns[i]
		pk.keys = maps.Clone(old.keys)
		for oid := range old.keys {
			s.byID[oid] = keyRef{key: old.keys[oid], pattern: pk}
		}
		s.patterns[i] = pk
	} else {
		s.patterns = append(s.patterns, pk)
		slices.SortStableFunc(s.patterns, func(a, b *patternKeys) int {
			if a.before(&b.pattern) {
				return -1
			}
			return 1
		})
	}
	pk.keys[id] = sec
	pk.current = id
	s.byID[id] = keyRef{key: sec, pattern: pk}
	return nil
}

// Remove deletes a key, master or explicit: envelopes sealed under it no
// longer open. The current master key cannot be removed (rotate first),
// nor the current key of a pattern that has other keys; removing the last
// key of a pattern removes the pattern, and its topics return to derived
// keys.
func (k *Keyring) Remove(id uint32) error {
	return k.update(func(s *snapshot) error {
		ref, ok := s.byID[id]
		if !ok {
			return fmt.Errorf("%w: %d", ErrUnknownKeyID, id)
		}
		if ref.pattern == nil {
			if id == s.current {
				return fmt.Errorf("%w: %d is the current master key; rotate first", ErrInvalidKey, id)
			}
			delete(s.byID, id)
			return nil
		}
		old := ref.pattern
		if old.current == id && len(old.keys) > 1 {
			return fmt.Errorf("%w: %d is the current key of %q; set another first", ErrInvalidKey, id, old.text)
		}
		delete(s.byID, id)
		i := slices.Index(s.patterns, old)
		if len(old.keys) == 1 {
			s.patterns = slices.Delete(s.patterns, i, i+1)
			return nil
		}
		pk := &patternKeys{pattern: old.pattern, current: old.current, keys: maps.Clone(old.keys)}
		delete(pk.keys, id)
		for oid, sec := range pk.keys {
			s.byID[oid] = keyRef{key: sec, pattern: pk}
		}
		s.patterns[i] = pk
		return nil
	})
}

// IDs returns the ids of every key in the keyring, ascending.
func (k *Keyring) IDs() []uint32 {
	return slices.Sorted(maps.Keys(k.load().byID))
}

// KeyIDFor returns the id of the key that seals topic.
func (k *Keyring) KeyIDFor(topic string) (uint32, error) {
	s := k.load()
	if pk := s.explicitFor(topic); pk != nil {
		return pk.current, nil
	}
	if s.current == 0 {
		return 0, fmt.Errorf("%w: %q", ErrNoKey, topic)
	}
	return s.current, nil
}

// explicitFor returns the explicit keys that seal topic, or nil.
func (s *snapshot) explicitFor(topic string) *patternKeys {
	for _, pk := range s.patterns {
		if pk.match(topic) {
			return pk
		}
	}
	return nil
}

// sealKey returns the id and key that seal topic with alg.
func (s *snapshot) sealKey(alg AEAD, topic string) (uint32, []byte, error) {
	if pk := s.explicitFor(topic); pk != nil {
		return pk.current, pk.keys[pk.current][:], nil
	}
	if s.current == 0 {
		return 0, nil, fmt.Errorf("%w: %q", ErrNoKey, topic)
	}
	key, err := deriveTopicKey(s.byID[s.current].key[:], alg, topic)
	return s.current, key, err
}

// openKey returns the key that opens an envelope of topic sealed with alg
// under id.
func (s *snapshot) openKey(alg AEAD, id uint32, topic string) ([]byte, error) {
	ref, ok := s.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: %d", ErrUnknownKeyID, id)
	}
	if ref.pattern != nil {
		if !ref.pattern.match(topic) {
			return nil, fmt.Errorf("%w: %d is a key for %q, not for %q", ErrUnknownKeyID, id, ref.pattern.text, topic)
		}
		return ref.key[:], nil
	}
	return deriveTopicKey(ref.key[:], alg, topic)
}

// deriveTopicKey returns HKDF-SHA256(master, salt, info, 32) with the salt
// and info of docs/envelope.md: info is the prefix, the AEAD id and the
// topic, so one topic's key never serves two algorithms.
func deriveTopicKey(master []byte, alg AEAD, topic string) ([]byte, error) {
	info := make([]byte, 0, len(hkdfInfoPrefix)+1+len(topic))
	info = append(append(append(info, hkdfInfoPrefix...), byte(alg)), topic...)
	return hkdf.Key(sha256.New, master, []byte(hkdfSalt), string(info), KeySize)
}

// nextID returns one above the highest id in use.
func (s *snapshot) nextID() (uint32, error) {
	var top uint32
	for id := range s.byID {
		top = max(top, id)
	}
	if top == math.MaxUint32 {
		return 0, fmt.Errorf("%w: key ids exhausted", ErrInvalidKey)
	}
	return top + 1, nil
}

func newSecret(id uint32, key []byte) (*secret, error) {
	if id == 0 {
		return nil, fmt.Errorf("%w: key id 0 is reserved", ErrInvalidKey)
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("%w: key %d is %d bytes, want %d", ErrInvalidKey, id, len(key), KeySize)
	}
	sec := new(secret)
	copy(sec[:], key)
	return sec, nil
}

func randomSecret() (*secret, error) {
	sec := new(secret)
	if _, err := rand.Read(sec[:]); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return sec, nil
}

// String describes the keyring by key ids only, never key bytes:
// "Keyring{current: 2, masters: [1 2], topics: [chat/#: 3]}".
func (k *Keyring) String() string {
	if k == nil {
		return "Keyring(nil)"
	}
	s := k.load()
	var b strings.Builder
	fmt.Fprintf(&b, "Keyring{current: %d, masters: [", s.current)
	first := true
	for _, id := range slices.Sorted(maps.Keys(s.byID)) {
		if s.byID[id].pattern == nil {
			if !first {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d", id)
			first = false
		}
	}
	b.WriteString("], topics: [")
	for i, pk := range s.patterns {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s: %d", pk.text, pk.current)
		if n := len(pk.keys); n > 1 {
			fmt.Fprintf(&b, " (+%d older)", n-1)
		}
	}
	b.WriteString("]}")
	return b.String()
}

// GoString is String: key bytes never print, not even with %#v.
func (k *Keyring) GoString() string { return k.String() }

// Format prints String for every verb, so no verb or flag reveals keys.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }
