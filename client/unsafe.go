package client

import (
	"unsafe"
)

// bytesOf views s as bytes without copying. The bytes must not be modified;
// the wire encoders and the envelope engine only read them.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// stringOf views b as a string without copying; b must not change while
// the string is in use.
func stringOf(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
