package redistest

import (
	"bytes"
	"fmt"
)

// Entry is one key of a server and what it holds.
type Entry struct {
	Key  string
	Type string // as TYPE names it: string, list, set, zset, hash, stream
	// Values are the key's contents: a string's value; the elements of a
	// list or set; a sorted set's members and scores; a hash's fields and
	// values; a stream's entry IDs, fields and values.
	Values []string
}

// readCommand is how Contents reads a key of each type.
var readCommand = map[string][]string{
	"string": {"GET"},
	"list":   {"LRANGE", "", "0", "-1"},
	"set":    {"SMEMBERS"},
	"zset":   {"ZRANGE", "", "0", "-1", "WITHSCORES"},
	"hash":   {"HGETALL"},
	"stream": {"XRANGE", "", "-", "+"},
}

// Contents returns every key of the server and everything it holds, for
// tests that look for bytes that must not be there, such as a plaintext.
// A key of a type it cannot read, such as a module's, is an error.
func (s *Server) Contents() ([]Entry, error) {
	var out []Entry
	cursor := "0"
	for {
		r, err := do(s.Addr, "SCAN", cursor, "COUNT", "1000")
		if err != nil {
			return nil, err
		}
		page, ok := r.([]any)
		if !ok || len(page) != 2 {
			return nil, fmt.Errorf("SCAN: unexpected reply %v", r)
		}
		cursor, _ = page[0].(string)
		keys, _ := page[1].([]any)
		for _, k := range keys {
			e, err := s.entry(k.(string))
			if err != nil {
				return nil, err
			}
			if e.Type != "none" { // expired or deleted since SCAN
				out = append(out, e)
			}
		}
		if cursor == "0" {
			return out, nil
		}
	}
}

// entry reads one key.
func (s *Server) entry(key string) (Entry, error) {
	typ, err := doString(s.Addr, "TYPE", key)
	if err != nil {
		return Entry{}, fmt.Errorf("TYPE %q: %w", key, err)
	}
	e := Entry{Key: key, Type: typ}
	if typ == "none" {
		return e, nil
	}
	tmpl, ok := readCommand[typ]
	if !ok {
		return Entry{}, fmt.Errorf("key %q: cannot read type %s", key, typ)
	}
	args := append([]string{tmpl[0], key}, tmpl[min(2, len(tmpl)):]...)
	r, err := do(s.Addr, args...)
	if err != nil {
		return Entry{}, fmt.Errorf("%s %q: %w", tmpl[0], key, err)
	}
	flatten(r, &e.Values)
	return e, nil
}

// flatten appends every string in a reply to out.
func flatten(r any, out *[]string) {
	switch v := r.(type) {
	case string:
		*out = append(*out, v)
	case []any:
		for _, x := range v {
			flatten(x, out)
		}
	}
}

// KeysContaining returns the keys whose name or contents contain needle.
func (s *Server) KeysContaining(needle []byte) ([]string, error) {
	entries, err := s.Contents()
	if err != nil {
		return nil, err
	}
	return keysContaining(entries, needle), nil
}

// keysContaining returns the keys of entries whose name or values contain
// needle.
func keysContaining(entries []Entry, needle []byte) []string {
	var keys []string
	for _, e := range entries {
		if bytes.Contains([]byte(e.Key), needle) {
			keys = append(keys, e.Key)
			continue
		}
		for _, v := range e.Values {
			if bytes.Contains([]byte(v), needle) {
				keys = append(keys, e.Key)
				break
			}
		}
	}
	return keys
}
