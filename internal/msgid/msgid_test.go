package msgid

import (
	"sync"
	"testing"
)

func TestGen_UniqueAcrossGoroutines(t *testing.T) {
	g := New()
	var mu sync.Mutex
	seen := make(map[[Len]byte]bool)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5000 {
				var b [Len]byte
				g.Fill(&b)
				mu.Lock()
				if seen[b] {
					t.Errorf("duplicate id %s", b[:])
				}
				seen[b] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestGen_Alphabet(t *testing.T) {
	var b [Len]byte
	New().Fill(&b)
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			t.Fatalf("id %q has a character outside base 62", b[:])
		}
	}
	if a, b2 := New(), New(); a.prefix == b2.prefix {
		t.Error("two generators drew the same prefix")
	}
}
