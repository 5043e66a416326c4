package netconn

import (
	"net"
	"testing"
)

// fakeConn serves reads of a fixed size, as many as asked for.
type fakeConn struct {
	net.Conn
	n int // bytes each read returns, at most what fits
}

func (c *fakeConn) Read(p []byte) (int, error) { return min(c.n, len(p)), nil }

// TestReadBuffer_Adapts checks that a connection whose reads fill the
// buffer gets larger buffers, up to the largest size, and one whose reads
// stay small goes back down.
func TestReadBuffer_Adapts(t *testing.T) {
	c := &fakeConn{n: 1 << 20}
	var b ReadBuffer
	b.Init(c)
	read := func() int {
		t.Helper()
		if _, err := b.Fill(); err != nil {
			t.Fatal(err)
		}
		size := len(b.Buf)
		b.R = b.W
		b.Release()
		return size
	}
	for i, want := range []int{4 << 10, 16 << 10, 64 << 10, 64 << 10} {
		if got := read(); got != want {
			t.Fatalf("full read %d used a %d-byte buffer, want %d", i, got, want)
		}
	}
	c.n = 100
	for range shrinkAfter {
		if got := read(); got != 64<<10 {
			t.Fatalf("shrank after fewer than %d small reads", shrinkAfter)
		}
	}
	if got := read(); got != 16<<10 {
		t.Fatalf("after %d small reads the buffer is %d bytes, want %d", shrinkAfter, got, 16<<10)
	}
}
