package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestKeyring_Precedence(t *testing.T) {
	kr := newTestKeyring(t)
	set := map[string]uint32{"#": 10, "chat/#": 11, "chat/+/admin": 12, "chat/room1": 13, "chat/+": 14}
	for p, id := range set {
		if err := kr.SetTopicKey(p, id, testKey(byte(id))); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		topic string
		want  uint32
	}{
		{"chat/room1", 13},       // exact topic
		{"chat/room2/admin", 12}, // two literal levels
		{"chat/room2", 14},       // one literal level, two levels
		{"chat", 11},             // "chat/#" matches its parent
		{"chat/a/b/c", 11},
		{"news", 10}, // the global key
	}
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			got, err := kr.KeyIDFor(tt.topic)
			if err != nil || got != tt.want {
				t.Fatalf("KeyIDFor = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if err := kr.Remove(10); err != nil {
		t.Fatal(err)
	}
	if got, _ := kr.KeyIDFor("news"); got != 1 {
		t.Fatalf("after removing the global key, news uses key %d, want master 1", got)
	}
}

func TestKeyring_TopicKeyRotation(t *testing.T) {
	kr := NewKeyring()
	e := newTestEngine(t, WithKeyring(kr))
	first, err := kr.GenerateTopicKey("chat/#")
	if err != nil {
		t.Fatal(err)
	}
	old := mustSeal(t, e, "chat/a", "1", []byte("old"))
	second, err := kr.GenerateTopicKey("chat/#")
	if err != nil {
		t.Fatal(err)
	}
	fresh := mustSeal(t, e, "chat/a", "2", []byte("new"))
	if h := mustParse(t, fresh); h.KeyID != second || second == first {
		t.Fatalf("sealed under %d, want the new key %d (old %d)", h.KeyID, second, first)
	}
	for id, env := range map[string][]byte{"1": old, "2": fresh} {
		if _, err := e.Open(nil, "chat/a", id, env); err != nil {
			t.Fatalf("Open %s: %v", id, err)
		}
	}
	if err := kr.Remove(second); err == nil {
		t.Fatal("removed the current key of a pattern with older keys")
	}
	if err := kr.Remove(first); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Open(nil, "chat/a", "1", old); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("Open under a removed key = %v", err)
	}
	// A pattern key does not open a topic outside its pattern.
	if err := kr.Add(50, testKey(50)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Open(nil, "news", "2", fresh); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("Open outside the pattern = %v, want ErrUnknownKeyID", err)
	}
}

func TestKeyring_Errors(t *testing.T) {
	kr := newTestKeyring(t)
	if err := kr.SetTopicKey("chat/#", 5, testKey(5)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"id 0", kr.Add(0, testKey(0)), ErrInvalidKey},
		{"short key", kr.Add(2, make([]byte, 16)), ErrInvalidKey},
		{"duplicate master", kr.Add(1, testKey(9)), ErrDuplicateKeyID},
		{"master id used by a topic key", kr.Add(5, testKey(5)), ErrDuplicateKeyID},
		{"topic id used by a master", kr.SetTopicKey("x", 1, testKey(0)), ErrDuplicateKeyID},
		{"bad pattern", kr.SetTopicKey("a/#/b", 6, testKey(6)), ErrInvalidKey},
		{"current of unknown", kr.SetCurrent(99), ErrUnknownKeyID},
		{"current of a topic key", kr.SetCurrent(5), ErrUnknownKeyID},
		{"remove current master", kr.Remove(1), ErrInvalidKey},
		{"remove unknown", kr.Remove(99), ErrUnknownKeyID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
	if err := kr.Add(1, testKey(0)); err != nil {
		t.Fatalf("re-adding the same key: %v", err)
	}
	if got := kr.IDs(); !slices.Equal(got, []uint32{1, 5}) {
		t.Fatalf("IDs = %v", got)
	}
}

func TestKeyring_GenerateAndCurrent(t *testing.T) {
	kr := NewKeyring()
	if kr.Current() != 0 {
		t.Fatal("new keyring has a current key")
	}
	a, _ := kr.Generate()
	b, _ := kr.Generate()
	if a != 1 || b != 2 || kr.Current() != 1 {
		t.Fatalf("Generate = %d, %d, current %d; want 1, 2, current 1", a, b, kr.Current())
	}
	if err := kr.SetCurrent(2); err != nil || kr.Current() != 2 {
		t.Fatalf("SetCurrent: %v, current %d", err, kr.Current())
	}
}

// TestKeyring_NeverPrintsKeys formats keyrings and engines with every verb
// and checks that no form of any key appears.
func TestKeyring_NeverPrintsKeys(t *testing.T) {
	kr := newTestKeyring(t)
	if err := kr.SetTopicKey("chat/#", 2, testKey(64)); err != nil {
		t.Fatal(err)
	}
	if _, err := kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, WithKeyring(kr))
	mustSeal(t, e, "chat/a", "1", []byte("x")) // fill the caches
	mustSeal(t, e, "news", "1", []byte("x"))

	var forms []string
	s := kr.load()
	for _, ref := range s.byID {
		k := ref.key[:]
		forms = append(forms, string(k), hex.EncodeToString(k), strings.ToUpper(hex.EncodeToString(k)),
			base64.StdEncoding.EncodeToString(k), base64.RawURLEncoding.EncodeToString(k), fmt.Sprint(k),
			fmt.Sprintf("%d", k[:4]), fmt.Sprintf("%#v", k[:4])[7:])
	}
	values := map[string]any{"keyring": kr, "engine": e, "secret": *s.byID[1].key, "secret pointer": s.byID[1].key}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
			out := fmt.Sprintf(verb, v)
			for _, f := range forms {
				if strings.Contains(out, f) {
					t.Fatalf("%s formatted with %s shows a key: %s", name, verb, out)
				}
			}
		}
	}
	want := "Keyring{current: 3, masters: [1 3], topics: [chat/#: 2]}"
	if got := kr.String(); got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	if got := fmt.Sprintf("%#v", e); !strings.Contains(got, want) {
		t.Fatalf("engine %%#v = %q", got)
	}
	if !bytes.Equal(s.byID[1].key[:], testKey(0)) { // the test looked at the right bytes
		t.Fatal("unexpected key")
	}
}
