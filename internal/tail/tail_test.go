package tail

import (
	"testing"
	"unsafe"
)

type value struct {
	a, b uint64
	s    string
}

// TestNew checks, for every n up to Max, that the bytes are n long with no
// room past them, lie after the value without overlapping it, come in one
// allocation, and that writing them leaves the value alone.
func TestNew(t *testing.T) {
	for n := 0; n <= Max; n++ {
		v, b, ok := New[value](n)
		if !ok || len(b) != n || cap(b) != n {
			t.Fatalf("New(%d): ok %v, %d bytes, capacity %d", n, ok, len(b), cap(b))
		}
		v.a, v.b, v.s = 1, 2, "x"
		for i := range b {
			b[i] = 0xff
		}
		if v.a != 1 || v.b != 2 || v.s != "x" {
			t.Fatalf("New(%d): writing the bytes changed the value: %+v", n, v)
		}
		if n > 0 && uintptr(unsafe.Pointer(&b[0])) < uintptr(unsafe.Pointer(v))+unsafe.Sizeof(*v) {
			t.Fatalf("New(%d): the bytes overlap the value", n)
		}
	}
	for _, n := range []int{1, 200, Max} {
		if a := testing.AllocsPerRun(10, func() { New[value](n) }); a != 1 {
			t.Errorf("New(%d): %v allocations, want 1", n, a)
		}
	}
	if _, _, ok := New[value](Max + 1); ok {
		t.Errorf("New(%d) placed more than Max bytes", Max+1)
	}
}
