package envelope

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"
)

// TestXChaCha_MatchesNewX checks, for random keys, nonces, plaintexts and
// associated data, that the subkey-caching cipher seals exactly what
// chacha20poly1305.NewX seals and opens what it opens, through both its
// cipher.AEAD methods and the scratch path the engine uses. Nonces reuse a
// few prefixes so that lookups hit as well as miss.
func TestXChaCha_MatchesNewX(t *testing.T) {
	r := rand.New(rand.NewChaCha8([32]byte{'x'}))
	read := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	for k := range 16 {
		key := read(KeySize)
		ref, err := chacha20poly1305.NewX(key)
		if err != nil {
			t.Fatal(err)
		}
		x, err := newXChaCha(key)
		if err != nil {
			t.Fatal(err)
		}
		prefixes := make([][]byte, maxSubkeys+3)
		for i := range prefixes {
			prefixes[i] = read(16)
		}
		for i := range 200 {
			nonce := append(bytes.Clone(prefixes[r.IntN(len(prefixes))]), read(8)...)
			if i%10 == 0 {
				nonce = read(24) // a prefix never seen before
			}
			n := r.IntN(300)
			if i%50 == 0 {
				n = 64<<10 + r.IntN(64)
			}
			pt, ad := read(n), read(r.IntN(80))
			want := ref.Seal(nil, nonce, pt, ad)
			scratch := make([]byte, innerNonceSize)
			got, err := x.seal(make([]byte, 3, 3+n+tagSize), nonce, pt, ad, scratch)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got[3:], want) {
				t.Fatalf("key %d, message %d: seal differs from NewX", k, i)
			}
			if got := x.Seal(nil, nonce, pt, ad); !bytes.Equal(got, want) {
				t.Fatalf("key %d, message %d: Seal differs from NewX", k, i)
			}
			opened, err := x.open(nil, nonce, want, ad, scratch)
			if err != nil || !bytes.Equal(opened, pt) {
				t.Fatalf("key %d, message %d: open = %v, plaintext equal %v", k, i, err, bytes.Equal(opened, pt))
			}
			if opened, err = x.Open(nil, nonce, want, ad); err != nil || !bytes.Equal(opened, pt) {
				t.Fatalf("key %d, message %d: Open = %v", k, i, err)
			}
			bad := bytes.Clone(want)
			bad[r.IntN(len(bad))] ^= 1 << r.IntN(8)
			_, errX := x.open(nil, nonce, bad, ad, scratch)
			_, errRef := ref.Open(nil, nonce, bad, ad)
			if errX == nil || errRef == nil {
				t.Fatalf("key %d, message %d: tampered ciphertext opened (x: %v, NewX: %v)", k, i, errX, errRef)
			}
		}
		if l := x.subkeys.Load(); l.n > maxSubkeys {
			t.Fatalf("%d prefixes cached, limit %d", l.n, maxSubkeys)
		}
	}
}

// TestXChaCha_ForgeryNotCached opens an envelope under a new prefix that
// does not authenticate: it fails and leaves the cached prefixes alone.
func TestXChaCha_ForgeryNotCached(t *testing.T) {
	x, err := newXChaCha(testKey(0))
	if err != nil {
		t.Fatal(err)
	}
	nonce := testKey(0x40)[:24]
	ct := x.Seal(nil, nonce, []byte("hello"), nil)
	before := x.subkeys.Load()
	forged := testKey(0x90)[:24]
	if _, err := x.Open(nil, forged, ct, nil); err == nil {
		t.Fatal("forged envelope opened")
	}
	if x.subkeys.Load() != before {
		t.Fatal("a failed open changed the cached prefixes")
	}
}

// TestEngine_XChaChaSenders opens, with one receiving engine, envelopes
// from several sending engines interleaved and from several goroutines:
// fewer senders than the receiver caches, and more. Every sender keeps its
// own 16-byte prefix, no two share one, and every envelope also opens with
// chacha20poly1305.NewX under the topic key.
func TestEngine_XChaChaSenders(t *testing.T) {
	kr := newTestKeyring(t)
	const topic = "chat/room1"
	topicKey, err := deriveTopicKey(testKey(0), XChaCha20Poly1305, topic)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := chacha20poly1305.NewX(topicKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, senders := range []int{3, maxSubkeys + 4} {
		t.Run(fmt.Sprint(senders), func(t *testing.T) {
			engines := make([]*Engine, senders)
			for i := range engines {
				engines[i] = newTestEngine(t, WithKeyring(kr))
			}
			type sealed struct{ id, pt, env []byte }
			var envs []sealed
			prefixes := map[string]int{}
			for round := range 5 {
				for i, e := range engines {
					id := fmt.Sprintf("%d-%d", i, round)
					pt := fmt.Appendf(nil, "message %d from sender %d", round, i)
					env := mustSeal(t, e, topic, id, pt)
					h := mustParse(t, env)
					prefix := string(h.Nonce[:16])
					if s, ok := prefixes[prefix]; ok && s != i {
						t.Fatalf("senders %d and %d share a nonce prefix", s, i)
					}
					prefixes[prefix] = i
					want, err := ref.Open(nil, h.Nonce, env[h.Size:], appendAD(nil, env[:h.Size], topic, id))
					if err != nil || !bytes.Equal(want, pt) {
						t.Fatalf("NewX cannot open sender %d's envelope: %v", i, err)
					}
					envs = append(envs, sealed{[]byte(id), pt, env})
				}
			}
			if len(prefixes) != senders {
				t.Fatalf("%d prefixes for %d senders", len(prefixes), senders)
			}
			receiver := newTestEngine(t, WithKeyring(kr))
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for g := range 4 {
				wg.Go(func() {
					for j := range envs {
						m := envs[(j+g*7)%len(envs)]
						got, err := receiver.Open(nil, topic, string(m.id), m.env)
						if err == nil && !bytes.Equal(got, m.pt) {
							err = fmt.Errorf("opened %q, want %q", got, m.pt)
						}
						if err != nil {
							errs <- fmt.Errorf("envelope %s: %w", m.id, err)
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}
