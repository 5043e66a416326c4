package envelope

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
)

// TestEngine_NoncesNeverRepeat seals a million empty messages with each
// AEAD from several goroutines and checks that no nonce repeats. Under
// -race, where a seal costs several microseconds, 64Ki of them are full
// seals and the rest come straight from the engine's nonce source, the
// code Seal calls for every nonce.
func TestEngine_NoncesNeverRepeat(t *testing.T) {
	const (
		total   = 1 << 20
		workers = 4
	)
	kr := newTestKeyring(t)
	for _, alg := range aeads {
		t.Run(alg.String(), func(t *testing.T) {
			t.Parallel()
			e := newTestEngine(t, WithKeyring(kr), WithAEAD(alg), WithCompression(CompressNone))
			ns := alg.NonceSize()
			hdr := headerSize(alg)
			nonces := make([]byte, total*ns)
			var wg sync.WaitGroup
			errs := make([]error, workers)
			for w := range workers {
				wg.Go(func() {
					part := nonces[w*total/workers*ns : (w+1)*total/workers*ns]
					seals := len(part)
					if raceEnabled {
						seals = (1 << 16) / workers * ns
					}
					env := make([]byte, 0, e.SealBound(0))
					for i := 0; i < len(part); i += ns {
						var err error
						if i >= seals {
							err = e.nonces.fill(part[i : i+ns])
						} else if env, err = e.Seal(env[:0], "t", "", nil); err == nil {
							copy(part[i:i+ns], env[hdr-ns:hdr])
						}
						if err != nil {
							errs[w] = err
							return
						}
					}
				})
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			seen := make(map[[24]byte]struct{}, total)
			for i := 0; i < len(nonces); i += ns {
				var k [24]byte
				copy(k[:], nonces[i:i+ns])
				if _, dup := seen[k]; dup {
					t.Fatalf("nonce %x repeats", k[:ns])
				}
				seen[k] = struct{}{}
			}
		})
	}
}

func TestNonceSource_Counter(t *testing.T) {
	s, err := newNonceSource()
	if err != nil {
		t.Fatal(err)
	}
	s.start = ^uint64(0) - 1 // the counter wraps inside the 64 bits: still unique
	var a, b, c [12]byte
	for _, n := range [][]byte{a[:], b[:], c[:]} {
		if err := s.fill(n); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprintf("%x", a[4:]) != "ffffffffffffffff" || fmt.Sprintf("%x", b[4:]) != "0000000000000000" || !bytes.Equal(a[:4], c[:4]) {
		t.Fatalf("nonces %x %x %x", a, b, c)
	}
	s.n.Store(counterLimit)
	if err := s.fill(a[:]); err != ErrNonceExhausted {
		t.Fatalf("fill after the limit = %v, want ErrNonceExhausted", err)
	}
}

func TestNonceSource_LongPrefix(t *testing.T) {
	s, err := newNonceSource()
	if err != nil {
		t.Fatal(err)
	}
	other, err := newNonceSource()
	if err != nil {
		t.Fatal(err)
	}
	var a, b, c [24]byte
	for _, n := range [][]byte{a[:], b[:], c[:]} {
		if err := s.fill(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.fill(c[:]); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a[:16], b[:16]) || bytes.Equal(a[:16], c[:16]) {
		t.Fatalf("prefixes %x %x (same engine), %x (another engine)", a[:16], b[:16], c[:16])
	}
	if ca, cb := binary.BigEndian.Uint64(a[16:]), binary.BigEndian.Uint64(b[16:]); cb != ca+1 {
		t.Fatalf("counters %x then %x", ca, cb)
	}

	// A spent prefix is replaced, not wrapped.
	old := s.long.Load()
	old.n.Store(counterLimit)
	if err := s.fill(a[:]); err != nil {
		t.Fatal(err)
	}
	p := s.long.Load()
	if p == old || bytes.Equal(a[:16], old.prefix[:]) || !bytes.Equal(a[:16], p.prefix[:]) {
		t.Fatalf("after the limit: nonce %x, old prefix %x, new prefix %x", a, old.prefix, p.prefix)
	}
	if got := binary.BigEndian.Uint64(a[16:]); got != p.start+1 {
		t.Fatalf("first counter under the new prefix = %x, want %x", got, p.start+1)
	}
}
