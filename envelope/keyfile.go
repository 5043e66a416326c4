package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
)

// KeyFileVersion is the key file format version this package writes.
const KeyFileVersion = 1

// maxKeyFileSize bounds what LoadKeyFile reads.
const maxKeyFileSize = 4 << 20

// keyFile is the JSON form of a keyring; see docs/envelope.md.
type keyFile struct {
	Version int            `json:"version"`
	Current uint32         `json:"current"`
	Keys    []keyFileKey   `json:"keys"`
	Topics  []keyFileTopic `json:"topics,omitempty"`
}

type keyFileKey struct {
	ID  uint32 `json:"id"`
	Key string `json:"key"` // standard base64, padded
}

type keyFileTopic struct {
	Pattern string       `json:"pattern"`
	Current uint32       `json:"current"`
	Keys    []keyFileKey `json:"keys"`
}

// MarshalKeyFile encodes kr in the key file format.
func MarshalKeyFile(kr *Keyring) ([]byte, error) {
	if kr == nil {
		return nil, fmt.Errorf("%w: nil keyring", ErrKeyFile)
	}
	s := kr.load()
	kf := keyFile{Version: KeyFileVersion, Current: s.current, Keys: []keyFileKey{}}
	for _, id := range slices.Sorted(maps.Keys(s.byID)) {
		if ref := s.byID[id]; ref.pattern == nil {
			kf.Keys = append(kf.Keys, encodeKey(id, ref.key))
		}
	}
	for _, pk := range s.patterns {
		t := keyFileTopic{Pattern: pk.text, Current: pk.current}
		for _, id := range slices.Sorted(maps.Keys(pk.keys)) {
			t.Keys = append(t.Keys, encodeKey(id, pk.keys[id]))
		}
		kf.Topics = append(kf.Topics, t)
	}
	b, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func encodeKey(id uint32, sec *secret) keyFileKey {
	return keyFileKey{ID: id, Key: base64.StdEncoding.EncodeToString(sec[:])}
}

// ParseKeyFile decodes a keyring from the key file format. Unknown fields
// are errors, so a typo does not silently drop a key.
func ParseKeyFile(data []byte) (*Keyring, error) {
	var kf keyFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&kf); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	if kf.Version != KeyFileVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrKeyFile, kf.Version, KeyFileVersion)
	}
	kr := NewKeyring()
	for _, k := range kf.Keys {
		if err := addFileKey(k, kr.Add); err != nil {
			return nil, err
		}
	}
	if len(kf.Keys) > 0 || kf.Current != 0 {
		if err := kr.SetCurrent(kf.Current); err != nil {
			return nil, fmt.Errorf("%w: current: %w", ErrKeyFile, err)
		}
	}
	for _, t := range kf.Topics {
		set := func(id uint32, key []byte) error { return kr.SetTopicKey(t.Pattern, id, key) }
		var current *keyFileKey
		for i, k := range t.Keys {
			if k.ID == t.Current {
				current = &t.Keys[i]
				continue
			}
			if err := addFileKey(k, set); err != nil {
				return nil, err
			}
		}
		if current == nil {
			return nil, fmt.Errorf("%w: topic %q: current key %d is not among its keys", ErrKeyFile, t.Pattern, t.Current)
		}
		if err := addFileKey(*current, set); err != nil { // set last: it becomes current
			return nil, err
		}
	}
	return kr, nil
}

func addFileKey(k keyFileKey, add func(uint32, []byte) error) error {
	key, err := base64.StdEncoding.DecodeString(k.Key)
	if err != nil {
		return fmt.Errorf("%w: key %d: not base64", ErrKeyFile, k.ID)
	}
	defer clear(key)
	if err := add(k.ID, key); err != nil {
		return fmt.Errorf("%w: %w", ErrKeyFile, err)
	}
	return nil
}

// LoadKeyFile reads a keyring from the key file at path. It refuses a file
// that its group or others may read or write (mode & 0o077 != 0) with
// ErrKeyFilePermissions; on Windows, where modes do not describe access,
// the check is skipped.
func LoadKeyFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open key file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyFile, path)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("%w: %s has mode %04o; allow only its owner (chmod 600 %s)",
			ErrKeyFilePermissions, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	defer clear(data)
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrKeyFile, path, maxKeyFileSize)
	}
	kr, err := ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return kr, nil
}

// WriteOption changes how WriteKeyFile and GenerateKeyFile write.
type WriteOption func(*writeConfig)

type writeConfig struct{ overwrite bool }

// AllowOverwrite lets WriteKeyFile and GenerateKeyFile replace an
// existing file (atomically, by renaming a new file over it).
func AllowOverwrite() WriteOption { return func(c *writeConfig) { c.overwrite = true } }

// WriteKeyFile writes kr to path with mode 0600. It refuses to replace an
// existing file (an error wrapping fs.ErrExist) unless given
// AllowOverwrite.
func WriteKeyFile(path string, kr *Keyring, opts ...WriteOption) error {
	var cfg writeConfig
	for _, opt := range opts {
		opt(&cfg)
	}
	data, err := MarshalKeyFile(kr)
	if err != nil {
		return err
	}
	defer clear(data)
	if cfg.overwrite {
		return replaceFile(path, data)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("write key file: %s exists: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("write key file: %w", err)
	}
	if err := writeAndClose(f, data); err != nil {
		_ = os.Remove(path)
		return err
	}
	return nil
}

// GenerateKeyFile writes a new keyring with one random master key (id 1,
// current) to path with mode 0600 and returns it. Like WriteKeyFile it
// refuses to replace an existing file unless given AllowOverwrite.
func GenerateKeyFile(path string, opts ...WriteOption) (*Keyring, error) {
	kr := NewKeyring()
	if _, err := kr.Generate(); err != nil {
		return nil, err
	}
	if err := WriteKeyFile(path, kr, opts...); err != nil {
		return nil, err
	}
	return kr, nil
}

// replaceFile writes data to a temporary file next to path and renames it
// over path, so readers see the old file or the new one, never a part.
func replaceFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".whispeer-keys-*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	tmp := f.Name()
	if err := writeAndClose(f, data); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}

func writeAndClose(f *os.File, data []byte) error {
	err := f.Chmod(0o600) // whatever the umask or the temp file's mode
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}
