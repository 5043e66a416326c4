package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
)

func TestEngine_RoundTrip(t *testing.T) {
	kr := newTestKeyring(t)
	sizes := []int{0, 1, 100, 64 << 10, 1 << 20}
	for _, alg := range aeads {
		for _, comp := range compressions {
			e := newTestEngine(t, WithKeyring(kr), WithAEAD(alg), WithCompression(comp))
			for _, n := range sizes {
				t.Run(fmt.Sprintf("%s/%s/%d", alg, comp, n), func(t *testing.T) {
					pt := payload(n)
					env := mustSeal(t, e, "sensors/kitchen", "msg-1", pt)
					h := mustParse(t, env)
					if h.AEAD != alg || h.KeyID != 1 {
						t.Fatalf("header = %+v, want %s under key 1", h, alg)
					}
					wantComp := CompressNone
					if n >= DefaultCompressThreshold {
						wantComp = comp
					}
					if h.Compression != wantComp {
						t.Fatalf("compression = %s, want %s", h.Compression, wantComp)
					}
					if wantComp != CompressNone && len(env) >= n {
						t.Fatalf("compressed envelope is %d bytes for %d bytes of text", len(env), n)
					}
					got, err := e.Open(nil, "sensors/kitchen", "msg-1", env)
					if err != nil {
						t.Fatalf("Open: %v", err)
					}
					if !bytes.Equal(got, pt) {
						t.Fatalf("Open returned %d bytes that differ from the %d sealed", len(got), n)
					}
				})
			}
		}
	}
}

func TestEngine_AppendsToDst(t *testing.T) {
	e := newTestEngine(t, WithKeyring(newTestKeyring(t)), WithCompressThreshold(0))
	pt := payload(2000)
	prefix := []byte("prefix:")
	env, err := e.Seal(bytes.Clone(prefix), "t", "1", pt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(env, prefix) {
		t.Fatalf("Seal overwrote dst's prefix")
	}
	got, err := e.Open(bytes.Clone(prefix), "t", "1", env[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append(bytes.Clone(prefix), pt...)) {
		t.Fatalf("Open did not append the plaintext to dst")
	}
}

func TestEngine_Unsealed(t *testing.T) {
	plain := newTestEngine(t) // no keyring: compression only
	sealed := newTestEngine(t, WithKeyring(newTestKeyring(t)))
	lenient := newTestEngine(t, WithKeyring(newTestKeyring(t)), WithAcceptUnsealed())
	for _, n := range []int{0, 10, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			pt := payload(n)
			env := mustSeal(t, plain, "a/b", "1", pt)
			if h := mustParse(t, env); h.Sealed() || h.KeyID != 0 || h.Nonce != nil {
				t.Fatalf("header %+v of an unsealed envelope", h)
			}
			if n == 0 && len(env) != fixedHeaderSize {
				t.Fatalf("empty unsealed envelope is %d bytes, want %d", len(env), fixedHeaderSize)
			}
			for _, e := range []*Engine{plain, lenient} {
				got, err := e.Open(nil, "any/topic", "any id", env) // not bound to a topic
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("Open = %d bytes, %v", len(got), err)
				}
			}
			if _, err := sealed.Open(nil, "a/b", "1", env); !errors.Is(err, ErrNotSealed) {
				t.Fatalf("keyed engine opened an unsealed envelope: %v", err)
			}
		})
	}
	env := mustSeal(t, sealed, "a/b", "1", []byte("x"))
	if _, err := plain.Open(nil, "a/b", "1", env); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("engine without keyring opening a sealed envelope: %v, want ErrUnknownKeyID", err)
	}
}

func TestEngine_CompressOnlyWhenShrinks(t *testing.T) {
	for _, comp := range []Compression{CompressZstd, CompressLZ4} {
		t.Run(comp.String(), func(t *testing.T) {
			e := newTestEngine(t, WithKeyring(newTestKeyring(t)), WithCompression(comp))
			tests := []struct {
				name string
				pt   []byte
				want Compression
			}{
				{"below threshold", payload(DefaultCompressThreshold - 1), CompressNone},
				{"at threshold", payload(DefaultCompressThreshold), comp},
				{"incompressible", randomBytes(8 << 10), CompressNone},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					env := mustSeal(t, e, "t", "1", tt.pt)
					if h := mustParse(t, env); h.Compression != tt.want {
						t.Fatalf("compression = %s, want %s", h.Compression, tt.want)
					}
					if got, err := e.Open(nil, "t", "1", env); err != nil || !bytes.Equal(got, tt.pt) {
						t.Fatalf("Open: %v", err)
					}
				})
			}
		})
	}
}

func TestEngine_UncompressedTopics(t *testing.T) {
	e := newTestEngine(t, WithKeyring(newTestKeyring(t)), WithUncompressedTopics("secrets/#", "+/password"))
	tests := []struct {
		topic string
		want  Compression
	}{
		{"secrets", CompressNone},
		{"secrets/api/key", CompressNone},
		{"user/password", CompressNone},
		{"user/profile", CompressZstd},
		{"secretsauce", CompressZstd},
	}
	pt := payload(4096)
	for _, tt := range tests {
		t.Run(tt.topic, func(t *testing.T) {
			env := mustSeal(t, e, tt.topic, "1", pt)
			if h := mustParse(t, env); h.Compression != tt.want {
				t.Fatalf("compression = %s, want %s", h.Compression, tt.want)
			}
		})
	}
}

func TestEngine_BitFlips(t *testing.T) {
	kr := newTestKeyring(t)
	for _, alg := range aeads {
		for _, comp := range []Compression{CompressNone, CompressZstd} {
			t.Run(fmt.Sprintf("%s/%s", alg, comp), func(t *testing.T) {
				e := newTestEngine(t, WithKeyring(kr), WithAEAD(alg), WithCompression(comp), WithCompressThreshold(0))
				env := mustSeal(t, e, "a/b", "id-1", bytes.Repeat([]byte("flip me "), 4))
				for bit := range len(env) * 8 {
					mod := bytes.Clone(env)
					mod[bit/8] ^= 1 << (bit % 8)
					if got, err := e.Open(nil, "a/b", "id-1", mod); err == nil {
						t.Fatalf("bit %d flipped: opened %q", bit, got)
					}
				}
			})
		}
	}
}

func TestEngine_BoundToTopicAndID(t *testing.T) {
	kr := newTestKeyring(t)
	if err := kr.SetTopicKey("global/#", 9, testKey(100)); err != nil { // one key for many topics
		t.Fatal(err)
	}
	for _, alg := range aeads {
		e := newTestEngine(t, WithKeyring(kr), WithAEAD(alg))
		for _, topic := range []string{"a/b", "global/x"} {
			env := mustSeal(t, e, topic, "id", []byte("payload"))
			tests := []struct {
				name, topic, id string
			}{
				{"other topic", topic + "/c", "id"},
				{"other id", topic, "id2"},
				{"empty id", topic, ""},
				{"boundary moved", topic + "i", "d"},
				{"swapped", "id", topic},
			}
			for _, tt := range tests {
				t.Run(fmt.Sprintf("%s/%s/%s", alg, topic, tt.name), func(t *testing.T) {
					_, err := e.Open(nil, tt.topic, tt.id, env)
					if !errors.Is(err, ErrAuthFailed) && !errors.Is(err, ErrUnknownKeyID) {
						t.Fatalf("Open(%q, %q) = %v, want ErrAuthFailed", tt.topic, tt.id, err)
					}
				})
			}
		}
	}
}

func TestEngine_WrongKey(t *testing.T) {
	e1 := newTestEngine(t, WithKeyring(newTestKeyring(t)))
	other := NewKeyring()
	if err := other.Add(1, testKey(1)); err != nil { // same id, other key
		t.Fatal(err)
	}
	e2 := newTestEngine(t, WithKeyring(other))
	for _, pt := range [][]byte{[]byte("short"), payload(5000)} {
		env := mustSeal(t, e1, "t", "1", pt)
		if _, err := e2.Open(nil, "t", "1", env); !errors.Is(err, ErrAuthFailed) {
			t.Fatalf("Open with the wrong key = %v, want ErrAuthFailed", err)
		}
	}
}

func TestEngine_Rotation(t *testing.T) {
	kr := newTestKeyring(t)
	e := newTestEngine(t, WithKeyring(kr))
	old := mustSeal(t, e, "t", "1", []byte("before"))
	id, err := kr.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if id != 2 || kr.Current() != 2 {
		t.Fatalf("Rotate = %d, current %d; want 2, 2", id, kr.Current())
	}
	fresh := mustSeal(t, e, "t", "2", []byte("after"))
	if h := mustParse(t, fresh); h.KeyID != 2 {
		t.Fatalf("seal after rotation used key %d, want 2", h.KeyID)
	}
	if h := mustParse(t, old); h.KeyID != 1 {
		t.Fatalf("old envelope under key %d, want 1", h.KeyID)
	}
	for _, c := range []struct {
		id, want string
		env      []byte
	}{{"1", "before", old}, {"2", "after", fresh}} {
		got, err := e.Open(nil, "t", c.id, c.env)
		if err != nil || string(got) != c.want {
			t.Fatalf("Open = %q, %v; want %q", got, err, c.want)
		}
	}
	if err := kr.Remove(1); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Open(nil, "t", "1", old); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("Open after removing key 1 = %v, want ErrUnknownKeyID", err)
	}
}

func TestEngine_UnknownKeyID(t *testing.T) {
	kr := NewKeyring()
	if err := kr.Add(7, testKey(7)); err != nil {
		t.Fatal(err)
	}
	env := mustSeal(t, newTestEngine(t, WithKeyring(kr)), "t", "1", []byte("x"))
	_, err := newTestEngine(t, WithKeyring(newTestKeyring(t))).Open(nil, "t", "1", env)
	if !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("Open = %v, want ErrUnknownKeyID", err)
	}
}

func TestEngine_NoKey(t *testing.T) {
	kr := NewKeyring()
	if err := kr.SetTopicKey("only/this", 3, testKey(3)); err != nil {
		t.Fatal(err)
	}
	e := newTestEngine(t, WithKeyring(kr))
	if _, err := e.Seal(nil, "other", "1", []byte("x")); !errors.Is(err, ErrNoKey) {
		t.Fatalf("Seal without a key = %v, want ErrNoKey", err)
	}
	env := mustSeal(t, e, "only/this", "1", []byte("x"))
	if h := mustParse(t, env); h.KeyID != 3 {
		t.Fatalf("key id = %d, want 3", h.KeyID)
	}
}

func TestEngine_Truncated(t *testing.T) {
	kr := newTestKeyring(t)
	for _, alg := range aeads {
		for _, comp := range []Compression{CompressNone, CompressLZ4} {
			t.Run(fmt.Sprintf("%s/%s", alg, comp), func(t *testing.T) {
				e := newTestEngine(t, WithKeyring(kr), WithAEAD(alg), WithCompression(comp), WithCompressThreshold(0))
				env := mustSeal(t, e, "t", "1", payload(300))
				minLen := headerSize(alg) + tagSize
				for n := range len(env) {
					_, err := e.Open(nil, "t", "1", env[:n])
					switch {
					case n < minLen && !errors.Is(err, ErrTruncated):
						t.Fatalf("%d of %d bytes: %v, want ErrTruncated", n, len(env), err)
					case n >= minLen && !errors.Is(err, ErrAuthFailed):
						t.Fatalf("%d of %d bytes: %v, want ErrAuthFailed", n, len(env), err)
					}
				}
			})
		}
	}
}

func TestParseHeader_Errors(t *testing.T) {
	valid := mustSeal(t, newTestEngine(t, WithKeyring(newTestKeyring(t))), "t", "1", []byte("x"))
	with := func(i int, v byte) []byte {
		b := bytes.Clone(valid)
		b[i] = v
		return b
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"first magic byte", []byte{magic0}, ErrTruncated},
		{"json", []byte(`{"a":1}`), ErrNotEnvelope},
		{"text", []byte("hello"), ErrNotEnvelope},
		{"one byte", []byte("h"), ErrNotEnvelope},
		{"bad magic", with(1, 'X'), ErrNotEnvelope},
		{"header cut", valid[:4], ErrTruncated},
		{"version 0", with(2, 0), ErrUnsupportedVersion},
		{"version 2", with(2, 2), ErrUnsupportedVersion},
		{"compression 3", with(3, 3), ErrUnsupportedAlgorithm},
		{"aead 4", with(4, 4), ErrUnsupportedAlgorithm},
		{"no room for tag", valid[:headerSize(XChaCha20Poly1305)+tagSize-1], ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseHeader(tt.in); !errors.Is(err, tt.want) {
				t.Fatalf("ParseHeader = %v, want %v", err, tt.want)
			}
			if (tt.want == ErrNotEnvelope || tt.want == ErrUnsupportedVersion) && IsEnvelope(tt.in) {
				t.Fatalf("IsEnvelope = true")
			}
			if err := tt.want.Error(); !strings.HasPrefix(err, "whispeer: ") {
				t.Fatalf("error %q lacks the whispeer prefix", err)
			}
		})
	}
	if !IsEnvelope(valid) {
		t.Fatal("IsEnvelope(valid) = false")
	}
}

func TestEngine_TooLarge(t *testing.T) {
	e := newTestEngine(t, WithKeyring(newTestKeyring(t)), WithMaxDecompressed(1000), WithCompression(CompressNone))
	if _, err := e.Seal(nil, "t", "1", make([]byte, 1001)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Seal above the limit = %v, want ErrTooLarge", err)
	}
	big := newTestEngine(t, WithKeyring(newTestKeyring(t)), WithCompression(CompressNone))
	env := mustSeal(t, big, "t", "1", make([]byte, 1001))
	if _, err := e.Open(nil, "t", "1", env); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Open above the limit = %v, want ErrTooLarge", err)
	}
}

func TestNewEngine_InvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  Option
		want error
	}{
		{"unsealed aead", WithAEAD(Unsealed), ErrUnsupportedAlgorithm},
		{"unknown aead", WithAEAD(9), ErrUnsupportedAlgorithm},
		{"unknown compression", WithCompression(9), ErrUnsupportedAlgorithm},
		{"negative threshold", WithCompressThreshold(-1), ErrInvalidOption},
		{"zero max", WithMaxDecompressed(0), ErrInvalidOption},
		{"zero cache", WithKeyCacheSize(0), ErrInvalidOption},
		{"bad pattern", WithUncompressedTopics("a/#/b"), ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewEngine(tt.opt); !errors.Is(err, tt.want) {
				t.Fatalf("NewEngine = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEngine_NoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	kr := newTestKeyring(t)
	for _, alg := range aeads {
		for _, comp := range compressions {
			e := newTestEngine(t, WithKeyring(kr), WithAEAD(alg), WithCompression(comp))
			for _, n := range []int{128, 4096} {
				t.Run(fmt.Sprintf("%s/%s/%d", alg, comp, n), func(t *testing.T) {
					pt := payload(n)
					env := make([]byte, 0, e.SealBound(n))
					out := make([]byte, 0, n)
					env = mustSeal(t, e, "t", "1", pt) // warm the key caches
					if _, err := e.Open(out, "t", "1", env); err != nil {
						t.Fatal(err)
					}
					buf := make([]byte, 0, e.SealBound(n))
					if a := testing.AllocsPerRun(100, func() { _, _ = e.Seal(buf, "t", "1", pt) }); a != 0 {
						t.Errorf("Seal: %v allocs", a)
					}
					if a := testing.AllocsPerRun(100, func() { _, _ = e.Open(out, "t", "1", env) }); a != 0 {
						t.Errorf("Open: %v allocs", a)
					}
				})
			}
		}
	}
}

func TestEngine_ConcurrentRotation(t *testing.T) {
	kr := newTestKeyring(t)
	e := newTestEngine(t, WithKeyring(kr), WithKeyCacheSize(8))
	var ops atomic.Int64
	done := make(chan struct{})
	errc := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					errc <- nil
					return
				default:
				}
				topic, id := fmt.Sprintf("t/%d", i%20), fmt.Sprint(g, i)
				env, err := e.Seal(nil, topic, id, []byte(id))
				if err == nil {
					var got []byte
					got, err = e.Open(nil, topic, id, env)
					if err == nil && string(got) != id {
						err = fmt.Errorf("opened %q, want %q", got, id)
					}
				}
				if err != nil {
					errc <- err
					return
				}
				ops.Add(1)
			}
		}()
	}
	for range 30 {
		for start := ops.Load(); ops.Load() < start+20 && len(errc) == 0; {
			runtime.Gosched()
		}
		if _, err := kr.Rotate(); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	for range 4 {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
}
