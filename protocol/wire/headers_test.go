package wire_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/whispeer-io/whispeer/protocol/wire"
)

func TestHeaders_Read(t *testing.T) {
	h := mustHeaders(t, "a", "1", "b", "", "a", "3")
	if h.Len() != 3 {
		t.Errorf("Len = %d, want 3", h.Len())
	}
	var got []string
	h.Each(func(k, v []byte) bool {
		got = append(got, string(k)+"="+string(v))
		return true
	})
	if strings.Join(got, ",") != "a=1,b=,a=3" {
		t.Errorf("Each gave %v", got)
	}
	got = got[:0]
	for k, v := range h.All() {
		got = append(got, string(k)+"="+string(v))
		break
	}
	if strings.Join(got, ",") != "a=1" {
		t.Errorf("All with break gave %v", got)
	}
	for _, tc := range []struct {
		key, want string
		ok        bool
	}{{"a", "1", true}, {"b", "", true}, {"c", "", false}, {"", "", false}} {
		if v, ok := h.Get(tc.key); string(v) != tc.want || ok != tc.ok {
			t.Errorf("Get(%q) = %q, %v; want %q, %v", tc.key, v, ok, tc.want, tc.ok)
		}
	}
	if m := h.Map(); !maps.Equal(m, map[string]string{"a": "3", "b": ""}) {
		t.Errorf("Map = %v", m)
	}
}

func TestHeaders_Empty(t *testing.T) {
	var h wire.Headers
	if h.Len() != 0 || h.Map() != nil || h.Clone().Len() != 0 {
		t.Error("the zero Headers are not empty")
	}
	if _, ok := h.Get("a"); ok {
		t.Error("Get found a key in no headers")
	}
	h.Each(func(k, v []byte) bool {
		t.Error("Each called fn for no headers")
		return true
	})
	for _, m := range []map[string]string{nil, {}} {
		if h, err := wire.HeadersFromMap(m); err != nil || h.Len() != 0 {
			t.Errorf("HeadersFromMap(%v) = %d headers, %v", m, h.Len(), err)
		}
	}
}

func TestHeadersFromMap_Sorted(t *testing.T) {
	m := map[string]string{"z": "1", "a": "2", "m": "3"}
	h, err := wire.HeadersFromMap(m)
	if err != nil {
		t.Fatal(err)
	}
	want := mustHeaders(t, "a", "2", "m", "3", "z", "1")
	p1, _ := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("t"), Headers: h})
	p2, _ := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("t"), Headers: want})
	if string(p1) != string(p2) {
		t.Errorf("HeadersFromMap encodes as %x, want %x", p1, p2)
	}
	if !maps.Equal(h.Map(), m) {
		t.Errorf("Map = %v, want %v", h.Map(), m)
	}
	if _, err := wire.HeadersFromMap(map[string]string{"": "v"}); !errors.Is(err, wire.ErrHeader) {
		t.Errorf("empty key: %v", err)
	}
}

func TestMakeHeaders_Errors(t *testing.T) {
	long := strings.Repeat("x", 1<<16)
	for _, tc := range []struct {
		name string
		kv   []string
		want error
	}{
		{"odd", []string{"k"}, wire.ErrHeader},
		{"empty key", []string{"", "v"}, wire.ErrHeader},
		{"key too long", []string{long, "v"}, wire.ErrTooLong},
		{"value too long", []string{"k", long}, wire.ErrTooLong},
		{"too many", make([]string, 2<<16), wire.ErrTooLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := wire.MakeHeaders(tc.kv...); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestHeaders_Clone checks that a clone survives the reuse of the frame's
// buffer.
func TestHeaders_Clone(t *testing.T) {
	b, err := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("t"), Headers: mustHeaders(t, "k", "v")})
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := wire.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Publish.Headers.Clone()
	clear(b)
	if v, ok := c.Get("k"); !ok || string(v) != "v" {
		t.Errorf("the clone lost its header: %q, %v", v, ok)
	}
}

func TestHeaders_Allocs(t *testing.T) {
	b, err := wire.AppendPublish(nil, &wire.Publish{Topic: []byte("t"),
		Headers: mustHeaders(t, "content-type", "text/plain", "trace", "abc")})
	if err != nil {
		t.Fatal(err)
	}
	f, _, err := wire.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	allocs := testing.AllocsPerRun(100, func() {
		if v, ok := f.Publish.Headers.Get("trace"); !ok || len(v) != 3 {
			t.Fatal("Get failed")
		}
		f.Publish.Headers.Each(func(k, v []byte) bool { n++; return true })
		for range f.Publish.Headers.All() {
			n++
		}
	})
	if allocs != 0 {
		t.Errorf("reading headers allocates %v times", allocs)
	}
}

func TestHeaders_EncodedDecodes(t *testing.T) {
	h := mustHeaders(t, "z", "1", "a", "2", "z", "3")
	enc := h.Encoded()
	if want := "\x00\x03\x00\x01z\x00\x011\x00\x01a\x00\x012\x00\x01z\x00\x013"; string(enc) != want {
		t.Fatalf("Encoded = %q, want %q", enc, want)
	}
	back, err := wire.DecodeHeaders(enc)
	if err != nil || back.Len() != 3 || string(back.Encoded()) != string(enc) {
		t.Fatalf("DecodeHeaders(Encoded()) = %d entries %q, %v", back.Len(), back.Encoded(), err)
	}
	if none, err := wire.DecodeHeaders(nil); err != nil || none.Len() != 0 || none.Encoded() != nil {
		t.Errorf("DecodeHeaders(nil) = %q, %v; want none", none.Encoded(), err)
	}
	for name, b := range map[string][]byte{
		"bytes beyond": append(enc[:len(enc):len(enc)], 0),
		"truncated":    enc[:len(enc)-1],
		"empty key":    {0, 1, 0, 0, 0, 0},
	} {
		if _, err := wire.DecodeHeaders(b); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
}
