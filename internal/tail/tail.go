// Package tail allocates a value together with the bytes it views, in one
// allocation: what a message that owns a copy of its payload (and id, and
// topic) needs, on the broker's side and on the client's.
package tail

import "unsafe"

// Max is the most bytes New places after the value.
const Max = 1920

// New returns a new T and n bytes after it, in one allocation, when n is at
// most Max, and ok false otherwise. The room is the smallest of a list of
// byte arrays that holds n, spaced as the allocator's size classes
// (runtime/sizeclasses.go) are, so that the pair takes little more memory
// than two separate allocations would.
func New[T any](n int) (v *T, b []byte, ok bool) {
	switch {
	case n <= 16:
		return alloc[T, [16]byte](n)
	case n <= 32:
		return alloc[T, [32]byte](n)
	case n <= 48:
		return alloc[T, [48]byte](n)
	case n <= 64:
		return alloc[T, [64]byte](n)
	case n <= 80:
		return alloc[T, [80]byte](n)
	case n <= 96:
		return alloc[T, [96]byte](n)
	case n <= 112:
		return alloc[T, [112]byte](n)
	case n <= 128:
		return alloc[T, [128]byte](n)
	case n <= 144:
		return alloc[T, [144]byte](n)
	case n <= 160:
		return alloc[T, [160]byte](n)
	case n <= 176:
		return alloc[T, [176]byte](n)
	case n <= 192:
		return alloc[T, [192]byte](n)
	case n <= 208:
		return alloc[T, [208]byte](n)
	case n <= 224:
		return alloc[T, [224]byte](n)
	case n <= 240:
		return alloc[T, [240]byte](n)
	case n <= 256:
		return alloc[T, [256]byte](n)
	case n <= 288:
		return alloc[T, [288]byte](n)
	case n <= 320:
		return alloc[T, [320]byte](n)
	case n <= 352:
		return alloc[T, [352]byte](n)
	case n <= 384:
		return alloc[T, [384]byte](n)
	case n <= 416:
		return alloc[T, [416]byte](n)
	case n <= 448:
		return alloc[T, [448]byte](n)
	case n <= 480:
		return alloc[T, [480]byte](n)
	case n <= 512:
		return alloc[T, [512]byte](n)
	case n <= 576:
		return alloc[T, [576]byte](n)
	case n <= 640:
		return alloc[T, [640]byte](n)
	case n <= 704:
		return alloc[T, [704]byte](n)
	case n <= 768:
		return alloc[T, [768]byte](n)
	case n <= 896:
		return alloc[T, [896]byte](n)
	case n <= 1024:
		return alloc[T, [1024]byte](n)
	case n <= 1152:
		return alloc[T, [1152]byte](n)
	case n <= 1280:
		return alloc[T, [1280]byte](n)
	case n <= 1408:
		return alloc[T, [1408]byte](n)
	case n <= 1536:
		return alloc[T, [1536]byte](n)
	case n <= 1792:
		return alloc[T, [1792]byte](n)
	case n <= 1920:
		return alloc[T, [1920]byte](n)
	}
	return nil, nil, false
}

// boxed is a T with room for its bytes after it; B is a byte array.
type boxed[T, B any] struct {
	v     T
	bytes B
}

// alloc allocates a boxed and returns its value and the first n bytes of
// its room, n at most the size of B.
func alloc[T, B any](n int) (*T, []byte, bool) {
	p := new(boxed[T, B])
	return &p.v, unsafe.Slice((*byte)(unsafe.Pointer(&p.bytes)), n), true
}
