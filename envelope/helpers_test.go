package envelope

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"
)

var (
	aeads        = []AEAD{XChaCha20Poly1305, ChaCha20Poly1305, AES256GCM}
	compressions = []Compression{CompressNone, CompressZstd, CompressLZ4}
)

// testKey returns a fixed 32-byte key whose bytes start at first.
func testKey(first byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = first + byte(i)
	}
	return k
}

// newTestKeyring returns a keyring with master key 1 = testKey(0).
func newTestKeyring(t testing.TB) *Keyring {
	t.Helper()
	kr := NewKeyring()
	if err := kr.Add(1, testKey(0)); err != nil {
		t.Fatal(err)
	}
	return kr
}

func newTestEngine(t testing.TB, opts ...Option) *Engine {
	t.Helper()
	e, err := NewEngine(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// payload returns n bytes of text-like data that compresses, but not to
// nothing: words drawn from a small vocabulary with a fixed seed.
func payload(n int) []byte {
	words := []string{"whispeer", "topic", "sensor", "42", "temperature", "chat", "room", "{", "}", "\"id\":", "true", ",", " ", "\n", "α", "payload"}
	r := rand.New(rand.NewPCG(uint64(n), 7))
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.IntN(len(words))])
	}
	return b.Bytes()[:n]
}

// randomBytes returns n incompressible bytes from a fixed seed.
func randomBytes(n int) []byte {
	r := rand.NewChaCha8([32]byte{1})
	b := make([]byte, n)
	_, _ = r.Read(b)
	return b
}

func mustSeal(t testing.TB, e *Engine, topic, id string, pt []byte) []byte {
	t.Helper()
	env, err := e.Seal(nil, topic, id, pt)
	if err != nil {
		t.Fatalf("Seal(%q, %q, %d bytes): %v", topic, id, len(pt), err)
	}
	return env
}

func mustParse(t testing.TB, env []byte) Header {
	t.Helper()
	h, err := ParseHeader(env)
	if err != nil {
		t.Fatalf("ParseHeader(%s): %v", short(env), err)
	}
	return h
}

func short(b []byte) string {
	if len(b) > 48 {
		return fmt.Sprintf("%s… (%d bytes)", hex.EncodeToString(b[:48]), len(b))
	}
	return hex.EncodeToString(b)
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
