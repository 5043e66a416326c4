package envelope

import (
	"crypto/cipher"
	"fmt"
	"os"
	"runtime"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/whispeer-io/whispeer/internal/cputime"
)

// loop runs fn b.N times on a locked OS thread, reporting throughput for
// n bytes per call and, where the OS tells, "cpu-ns/op": the CPU time the
// thread used per call. On a shared machine wall time (ns/op) also counts
// the time other processes held the CPU; cpu-ns/op does not.
func loop(b *testing.B, n int, fn func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(n))
	b.ReportAllocs()
	cpu := cputime.StartThread()
	for b.Loop() {
		fn()
	}
	cpu.Report(b, b.N)
}

var benchSizes = []struct {
	name string
	n    int
}{{"128B", 128}, {"1KiB", 1 << 10}, {"64KiB", 64 << 10}}

// benchEngine returns an engine that seals with alg and does not compress,
// so the benchmark measures the envelope and the cipher.
func benchEngine(b *testing.B, alg AEAD) *Engine {
	return newTestEngine(b, WithKeyring(newTestKeyring(b)), WithAEAD(alg), WithCompression(CompressNone))
}

// BenchmarkSealOpen seals and opens one message per iteration.
func BenchmarkSealOpen(b *testing.B) {
	for _, alg := range aeads {
		e := benchEngine(b, alg)
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", alg, s.name), func(b *testing.B) {
				pt := randomBytes(s.n)
				env := make([]byte, 0, e.SealBound(s.n))
				out := make([]byte, 0, s.n)
				loop(b, s.n, func() {
					var err error
					if env, err = e.Seal(env[:0], "sensors/kitchen", "msg-1", pt); err != nil {
						b.Fatal(err)
					}
					if out, err = e.Open(out[:0], "sensors/kitchen", "msg-1", env); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkSeal seals one message per iteration.
func BenchmarkSeal(b *testing.B) {
	for _, alg := range aeads {
		e := benchEngine(b, alg)
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", alg, s.name), func(b *testing.B) {
				pt := randomBytes(s.n)
				env := make([]byte, 0, e.SealBound(s.n))
				loop(b, s.n, func() {
					var err error
					if env, err = e.Seal(env[:0], "sensors/kitchen", "msg-1", pt); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// BenchmarkOpen opens one message per iteration.
func BenchmarkOpen(b *testing.B) {
	for _, alg := range aeads {
		e := benchEngine(b, alg)
		for _, s := range benchSizes {
			b.Run(fmt.Sprintf("%s/%s", alg, s.name), func(b *testing.B) {
				env := mustSeal(b, e, "sensors/kitchen", "msg-1", randomBytes(s.n))
				out := make([]byte, 0, s.n)
				loop(b, s.n, func() {
					var err error
					if out, err = e.Open(out[:0], "sensors/kitchen", "msg-1", env); err != nil {
						b.Fatal(err)
					}
				})
			})
		}
	}
}

// bareCiphers are the ciphers of BenchmarkBareAEAD: golang.org/x/crypto's
// and the standard library's as they come, and the envelope's
// XChaCha20-Poly1305 with its subkey cached ("+subkey").
var bareCiphers = []struct {
	name string
	new  func(key []byte) (cipher.AEAD, error)
}{
	{"xchacha20-poly1305", chacha20poly1305.NewX},
	{"xchacha20-poly1305+subkey", func(key []byte) (cipher.AEAD, error) { return newXChaCha(key) }},
	{"chacha20-poly1305", chacha20poly1305.New},
	{"aes-256-gcm", func(key []byte) (cipher.AEAD, error) { return newCipher(AES256GCM, key) }},
}

// BenchmarkBareAEAD is the cipher alone on 128 bytes, with a fixed nonce
// and no associated data: the floor the envelope adds to.
func BenchmarkBareAEAD(b *testing.B) {
	const n = 128
	for _, bc := range bareCiphers {
		a, err := bc.new(testKey(0))
		if err != nil {
			b.Fatal(err)
		}
		nonce := make([]byte, a.NonceSize())
		scratch := make([]byte, innerNonceSize)
		pt := randomBytes(n)
		ct := make([]byte, 0, n+tagSize)
		out := make([]byte, 0, n)
		seal := func() {
			if ct, err = sealWith(a, ct[:0], nonce, pt, nil, scratch); err != nil {
				b.Fatal(err)
			}
		}
		open := func() {
			if out, err = openWith(a, out[:0], nonce, ct, nil, scratch); err != nil {
				b.Fatal(err)
			}
		}
		for _, c := range []struct {
			name string
			fn   func()
		}{{"seal", seal}, {"open", open}, {"seal+open", func() { seal(); open() }}} {
			b.Run(fmt.Sprintf("%s/%s/128B", bc.name, c.name), func(b *testing.B) {
				seal()
				loop(b, n, c.fn)
			})
		}
	}
}

// BenchmarkCompression compresses (Seal) and decompresses (Open) the
// realistic JSON document in testdata/events.json with each compressor,
// unsealed so that only compression is measured, and reports the ratio
// (original size / compressed size).
func BenchmarkCompression(b *testing.B) {
	doc, err := os.ReadFile("testdata/events.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, comp := range compressions {
		e := newTestEngine(b, WithCompression(comp))
		env := mustSeal(b, e, "events", "1", doc)
		ratio := float64(len(doc)) / float64(len(env)-fixedHeaderSize)
		b.Run(comp.String()+"/compress", func(b *testing.B) {
			buf := make([]byte, 0, e.SealBound(len(doc)))
			loop(b, len(doc), func() {
				if buf, err = e.Seal(buf[:0], "events", "1", doc); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(ratio, "ratio")
		})
		b.Run(comp.String()+"/decompress", func(b *testing.B) {
			out := make([]byte, 0, len(doc))
			loop(b, len(doc), func() {
				if out, err = e.Open(out[:0], "events", "1", env); err != nil {
					b.Fatal(err)
				}
			})
			b.ReportMetric(ratio, "ratio")
		})
	}
}
